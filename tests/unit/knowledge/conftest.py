"""Shared fixture and builders for the knowledge-base tests: the real knowledge base, loaded once.

These tests prove that the knowledge-base files reproduce clinical-reference.md. They need no
database and no Django: only the pure engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from periop.drugs.engine import (
    ConditionInput,
    DrugCaution,
    Evaluation,
    KnowledgeBase,
    Level,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)

KNOWLEDGE_DIRECTORY = Path(__file__).resolve().parents[3] / "fixtures" / "knowledge"

# T0 of the worked examples: the planned time of administration.
AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)

HOURS_IN_THREE_MONTHS = 2160
HOURS_IN_SIX_MONTHS = 4380
HOURS_IN_TWO_YEARS = 17520

# The columns of the clinical-reference.md §5 matrix and the drug codes each stands for.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "SUX": ("succinylcholine",),
    "AMINO": ("rocuronium", "vecuronium", "pancuronium"),
    "BENZ": ("atracurium", "cisatracurium"),
    "MIVA": ("mivacurium",),
    "AG/PMX": (
        "gentamicin",
        "tobramycin",
        "amikacin",
        "neomycin",
        "streptomycin",
        "polymyxin-b",
        "colistin",
    ),
    "Mg": ("magnesium-sulfate",),
    "NEO": ("neostigmine",),
    "SUG": ("sugammadex",),
}

NONE = Level.NONE
MONITOR = Level.MONITOR
ADJUST = Level.ADJUST
AVOID = Level.AVOID
CONTRAINDICATED = Level.CONTRAINDICATED


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base(KNOWLEDGE_DIRECTORY)


def ago(*, hours: float = 0, days: float = 0, years: float = 0) -> dt.datetime:
    """An instant before T0; a year is 365 days, as in the knowledge base's hour windows."""
    return AT - dt.timedelta(hours=hours, days=days + 365 * years)


def condition(
    code: str,
    onset: dt.datetime | dt.date | None = None,
    resolved: dt.datetime | dt.date | None = None,
    **attributes: object,
) -> ConditionInput:
    return ConditionInput(code=code, onset=onset, resolved=resolved, attributes=attributes)


def medication(
    code: str,
    started: dt.datetime | dt.date | None = None,
    stopped: dt.datetime | dt.date | None = None,
) -> MedicationInput:
    return MedicationInput(code=code, started=started, stopped=stopped)


def patient(
    *items: ConditionInput | MedicationInput,
    weight_kg: str | None = None,
    receptor_state: str | None = None,
) -> PatientState:
    return PatientState(
        conditions=tuple(item for item in items if isinstance(item, ConditionInput)),
        medications=tuple(item for item in items if isinstance(item, MedicationInput)),
        weight_kg=Decimal(weight_kg) if weight_kg is not None else None,
        receptor_state_override=receptor_state,
    )


def check(
    kb: KnowledgeBase, state: PatientState, drugs: Iterable[str], at: dt.datetime = AT
) -> Evaluation:
    return evaluate(state, tuple(drugs), at, kb)


def cautions(
    kb: KnowledgeBase, state: PatientState, drugs: Iterable[str], at: dt.datetime = AT
) -> dict[str, DrugCaution]:
    """The cautions of one evaluation of all `drugs` together, by drug code."""
    return {caution.drug: caution for caution in check(kb, state, drugs, at).cautions}


def caution_alone(
    kb: KnowledgeBase, state: PatientState, drug: str, at: dt.datetime = AT
) -> DrugCaution:
    """The caution for `drug` planned on its own, so that no other planned drug interacts."""
    (caution,) = check(kb, state, (drug,), at).cautions
    return caution


def rules_of(caution: DrugCaution) -> set[str]:
    return {finding.rule for finding in caution.findings}


def assert_matrix_cell(
    kb: KnowledgeBase,
    state: PatientState,
    column: str,
    level: Level,
    effects: Iterable[str] = (),
    at: dt.datetime = AT,
) -> None:
    """Every drug of a §5 column, planned alone, gets exactly this level and these effects."""
    for drug in COLUMNS[column]:
        caution = caution_alone(kb, state, drug, at)
        assert (drug, caution.level) == (drug, level), caution.summary
        assert (drug, set(caution.effects)) == (drug, set(effects))
