"""Evaluations per second of the caution engine on one core.

Usage: python bench/engine_bench.py [knowledge_dir] [--seconds N]

Loads the knowledge base (default: fixtures/knowledge), then times `evaluate` for a typical
patient (two conditions, one medication, five planned drugs) and a heavy one (eight conditions,
four medications, twenty planned drugs), each in 64 variants of weight and evaluation time.
Codes are taken from the knowledge base, preferring the clinically usual ones, so any valid
knowledge base can be measured. It reports the best of many short windows (what one
uncontended core does; other processes on the machine only slow windows down) and the median.
Target: at least 10,000 evaluations per second for the typical patient.

    python bench/engine_bench.py --evaluations N [--only typical|heavy]

runs exactly N evaluations of each patient, after one of each variant, and times nothing: under
`valgrind --tool=callgrind` the difference between N and 0 counts the instructions of N
evaluations, a figure that other work on the machine does not move (bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run as a plain script from anywhere

from periop.drugs.engine import (  # noqa: E402
    ConditionInput,
    KnowledgeBase,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)

AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
VARIANTS = 64
Case = tuple[PatientState, dt.datetime]

TYPICAL_CONDITIONS = ("myasthenia-gravis", "stroke")
TYPICAL_MEDICATIONS = ("pyridostigmine",)
TYPICAL_DRUGS = ("succinylcholine", "rocuronium", "cisatracurium", "neostigmine", "sugammadex")
HEAVY_CONDITIONS = (
    "myasthenia-gravis",
    "stroke",
    "burn",
    "renal-impairment",
    "critical-illness",
    "sepsis",
    "hypermagnesemia",
    "butyrylcholinesterase-deficiency",
)
HEAVY_MEDICATIONS = ("pyridostigmine", "gentamicin", "phenytoin", "magnesium-sulfate")


def pick(preferred: tuple[str, ...], available: list[str], count: int) -> list[str]:
    """`count` codes: the preferred ones the knowledge base has, then others in its order."""
    chosen = [code for code in preferred if code in available][:count]
    chosen += [code for code in available if code not in chosen][: count - len(chosen)]
    if len(chosen) < count:
        raise SystemExit(f"The knowledge base has only {len(chosen)} of the {count} codes needed.")
    return chosen


def condition(kb: KnowledgeBase, code: str, position: int) -> ConditionInput:
    # Mixed onset kinds, so the benchmark pays for exact instants, dates and unknown onsets.
    onsets: list[dt.datetime | dt.date | None] = [
        dt.date(2024, 5, 1),
        AT - dt.timedelta(days=10),
        None,
        AT - dt.timedelta(hours=30),
    ]
    attributes = {
        name: attribute.choices[0] if attribute.type == "choice" else attribute.default
        for name, attribute in kb.conditions[code].attributes.items()
        if attribute.type == "choice" or attribute.default is not None
    }
    return ConditionInput(code, onsets[position % len(onsets)], None, attributes)


def patients(kb: KnowledgeBase, conditions: list[str], medications: list[str]) -> list[Case]:
    """Variants of one patient: weights and evaluation times differ, so no dose is reused."""
    cases = []
    for variant in range(VARIANTS):
        at = AT + dt.timedelta(minutes=7 * variant)
        state = PatientState(
            conditions=tuple(condition(kb, code, i) for i, code in enumerate(conditions)),
            medications=tuple(
                MedicationInput(code, started=dt.date(2024, 5, 3) if i % 2 == 0 else None)
                for i, code in enumerate(medications)
            ),
            weight_kg=Decimal("55.0") + Decimal(variant) / 2,
            age_years=54,
        )
        cases.append((state, at))
    return cases


def measure(label: str, kb: KnowledgeBase, cases: list[Case], drugs: list[str], seconds: float):
    """Throughput in many short windows: the best is what one uncontended core does."""
    state, at = cases[0]
    evaluation = evaluate(state, drugs, at, kb)
    findings = sum(len(caution.findings) for caution in evaluation.cautions)
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for state, at in cases:
            evaluate(state, drugs, at, kb)
        rates.append(len(cases) / (time.perf_counter() - start))
    rates.sort()
    best, median = rates[-1], rates[len(rates) // 2]
    print(
        f"{label}: {len(state.conditions)} conditions, {len(state.medications)} medications, "
        f"{len(drugs)} drugs, {findings} findings: {best:,.0f} evaluations/second at best "
        f"({1e6 / best:,.1f} µs each), {median:,.0f} median over {len(rates)} windows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "knowledge_dir", nargs="?", type=Path, default=REPO_ROOT / "fixtures" / "knowledge"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time per patient")
    parser.add_argument(
        "--evaluations",
        type=int,
        metavar="N",
        help="run exactly N evaluations of each patient, untimed (for an instruction count)",
    )
    parser.add_argument("--only", choices=("typical", "heavy"), help="measure one patient")
    arguments = parser.parse_args()

    start = time.perf_counter()
    kb = load_knowledge_base(arguments.knowledge_dir)
    loaded = time.perf_counter() - start
    print(
        f"Knowledge base {kb.version} ({kb.digest[:19]}...) from {arguments.knowledge_dir}: "
        f"{len(kb.rules)} rules, {len(kb.conditions)} conditions, {len(kb.drugs)} drugs; "
        f"loaded and compiled in {loaded * 1000:.0f} ms"
    )
    print(f"Python {sys.version.split()[0]}")
    conditions, drugs = list(kb.conditions), list(kb.drugs)
    typical = patients(
        kb, pick(TYPICAL_CONDITIONS, conditions, 2), pick(TYPICAL_MEDICATIONS, drugs, 1)
    )
    heavy = patients(kb, pick(HEAVY_CONDITIONS, conditions, 8), pick(HEAVY_MEDICATIONS, drugs, 4))
    plans = [
        ("typical", typical, pick(TYPICAL_DRUGS, drugs, 5)),
        ("heavy", heavy, pick((), drugs, 20)),
    ]
    for label, cases, planned in plans:
        if arguments.only not in (None, label):
            continue
        if arguments.evaluations is None:
            measure(label, kb, cases, planned, arguments.seconds)
        else:
            count(label, kb, cases, planned, arguments.evaluations)


def count(label: str, kb: KnowledgeBase, cases: list[Case], drugs: list[str], n: int) -> None:
    """Exactly `n` evaluations, after one of each variant (as a server has seen such patients)."""
    for state, at in cases:
        evaluate(state, drugs, at, kb)
    for position in range(n):
        state, at = cases[position % len(cases)]
        evaluate(state, drugs, at, kb)
    print(f"{label}: {n} evaluations after {len(cases)} warm-up ones")


if __name__ == "__main__":
    main()
