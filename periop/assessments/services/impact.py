"""Impact preview: what a candidate knowledge-base release would have changed in the signed
assessments of the last N days, had it been active when they were evaluated.

Each assessment's inputs as evaluated are evaluated again on the candidate and compared, drug
by drug, with what the assessment showed (`replay.cautions_compare`). The engine is pure, so a
large preview may spread the evaluations over a process pool (`workers`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from periop.assessments.models import Assessment
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.assessments.services.plan import state_from_inputs
from periop.assessments.services.replay import cautions_compare
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine import KnowledgeBase, Level, evaluate
from periop.drugs.engine.loader import load_knowledge_base_texts
from periop.drugs.engine.tuning import Tuning, tune_cautions
from periop.drugs.presenters import evaluation_to_dict

DEFAULT_DAYS = 90
EXAMPLES_PER_GROUP = 3
CHUNK = 500

# (assessment id, department id, inputs snapshot, cautions snapshot)
Row = tuple[int, int, str, str]
# (drug, recorded level, replayed level, rules whose finding differs)
DrugOutcome = tuple[str, str, str, tuple[str, ...]]
# An assessment replayed: (assessment id, department id), its drugs' outcomes, its conditions.
Outcome = tuple[tuple[int, int], list[DrugOutcome], tuple[str, ...]]


@dataclass
class LevelCount:
    """One drug at one recorded level: how many assessments showed it, and how many would
    go up, down, or change otherwise (findings or dose) at the same level."""

    drug: str
    level: str
    assessments: int = 0
    up: int = 0
    down: int = 0
    other: int = 0


@dataclass(frozen=True)
class Example:
    assessment_id: int
    department_id: int
    drug: str
    recorded: str
    replayed: str
    rules: tuple[str, ...]
    conditions: tuple[str, ...]


@dataclass
class Impact:
    version: str
    digest: str
    days: int
    since: dt.datetime
    replayed: int = 0
    changed: int = 0
    counts: dict[tuple[str, str], LevelCount] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)

    @property
    def rows(self) -> list[LevelCount]:
        """Drugs by name, then levels from the most restrictive."""
        return sorted(self.counts.values(), key=lambda row: (row.drug, -Level.from_code(row.level)))

    @property
    def changed_rows(self) -> list[LevelCount]:
        return [row for row in self.rows if row.up or row.down or row.other]


def assessment_outcomes(
    inputs_snapshot: str,
    cautions_snapshot: str,
    kb: KnowledgeBase,
    tunings: Mapping[str, Sequence[Tuning]] | None = None,
) -> tuple[list[DrugOutcome], tuple[str, ...]]:
    """Per drug: the recorded and replayed levels and the rules whose finding differs, with
    the condition codes of the inputs (for a de-identified example)."""
    # orjson reads the same values as json (the snapshots hold no floats but what a user
    # typed into an attribute, parsed to the same double), about twice as fast.
    inputs = orjson.loads(inputs_snapshot)
    recorded = orjson.loads(cautions_snapshot)["cautions"]
    evaluation = evaluate(
        state_from_inputs(inputs),
        tuple(inputs["drugs"]),
        dt.datetime.fromisoformat(inputs["at"]),
        kb,
    )
    replayed = evaluation_to_dict(evaluation)["cautions"]
    if tunings:
        replayed = tune_cautions(replayed, tunings)
    differences = cautions_compare(recorded, replayed)
    changed_drugs = {difference["drug"] for difference in differences}
    after = {card["drug"]: card["level"] for card in replayed}
    outcomes: list[DrugOutcome] = []
    for card in recorded:
        drug = card["drug"]
        rules = tuple(
            sorted(
                difference["rule"]
                for difference in differences
                if difference["drug"] == drug and difference["field"] == "finding"
            )
        )
        outcomes.append(
            (drug, card["level"], after.get(drug, "none"), rules)
            if drug in changed_drugs
            else (drug, card["level"], card["level"], ())
        )
    conditions = tuple(sorted({condition["code"] for condition in inputs.get("conditions", [])}))
    return outcomes, conditions


# A pool worker's compiled candidate (compiled once per worker process).
_worker_kb: KnowledgeBase | None = None
_worker_tunings: Mapping[str, Sequence[Tuning]] | None = None


def _worker_start(
    texts: dict[str, str], label: str, tunings: Mapping[str, Sequence[Tuning]] | None
) -> None:
    global _worker_kb, _worker_tunings
    _worker_kb = load_knowledge_base_texts(texts, label)
    _worker_tunings = tunings


def _worker_chunk(rows: Sequence[Row]) -> list[Outcome]:
    """A chunk's outcomes, without the snapshots (only what the tally needs goes back)."""
    if _worker_kb is None:
        raise RuntimeError("The worker has no knowledge base.")
    return [
        ((row[0], row[1]), *assessment_outcomes(row[2], row[3], _worker_kb, _worker_tunings))
        for row in rows
    ]


def _in_order(
    pool: ProcessPoolExecutor, chunks: Iterable[list[Row]], window: int
) -> Iterator[Outcome]:
    """The chunks' outcomes in the order of the chunks, with at most `window` chunks in the
    pool at a time: the rows are read while the workers evaluate, and never all held."""
    pending: deque[Future[list[Outcome]]] = deque()
    for chunk in chunks:
        pending.append(pool.submit(_worker_chunk, chunk))
        if len(pending) >= window:
            yield from pending.popleft().result()
    while pending:
        yield from pending.popleft().result()


def _chunks(rows: Iterable[Row]) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def signed_rows(*, department_ids: set[int] | None, since: dt.datetime) -> Iterator[Row]:
    """The snapshots of the assessments signed since `since`, newest first, streamed."""
    queryset = Assessment.objects.filter(signed_at__gte=since)
    if department_ids is not None:
        queryset = queryset.filter(department_id__in=department_ids)
    return (
        queryset.order_by("-signed_at", "-id")
        .values_list("id", "department_id", "inputs_snapshot", "cautions_snapshot")
        .iterator(chunk_size=2000)
    )


def impact_preview(
    *,
    kb: KnowledgeBase,
    texts: dict[str, str] | None = None,
    department_ids: set[int] | None,
    now: dt.datetime,
    days: int = DEFAULT_DAYS,
    workers: int = 1,
    examples_per_group: int = EXAMPLES_PER_GROUP,
    tunings: Mapping[str, Sequence[Tuning]] | None = None,
) -> Impact:
    """Replays the signed assessments of the last `days` days (in `department_ids`, or all)
    on `kb`, with the local `tunings` (by rule) applied after evaluation. With `workers` > 1,
    `texts` (the release's files) are compiled in each worker of a process pool."""
    since = now - dt.timedelta(days=days)
    impact = Impact(version=kb.version, digest=kb.digest, days=days, since=since)
    rows = signed_rows(department_ids=department_ids, since=since)
    if workers > 1:
        if texts is None:
            raise ValueError("A process pool needs the release's texts.")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_start,
            initargs=(texts, f"release {kb.version}", tunings),
        ) as pool:
            for ids, outcomes, conditions in _in_order(pool, _chunks(rows), 2 * workers):
                _tally(impact, ids, outcomes, conditions, examples_per_group)
    else:
        for row in rows:
            outcomes, conditions = assessment_outcomes(row[2], row[3], kb, tunings)
            _tally(impact, (row[0], row[1]), outcomes, conditions, examples_per_group)
    return impact


def _tally(
    impact: Impact,
    ids: tuple[int, int],
    outcomes: list[DrugOutcome],
    conditions: tuple[str, ...],
    examples_per_group: int,
) -> None:
    impact.replayed += 1
    changed = False
    for drug, recorded, replayed, rules in outcomes:
        count = impact.counts.setdefault((drug, recorded), LevelCount(drug, recorded))
        count.assessments += 1
        before, after = Level.from_code(recorded), Level.from_code(replayed)
        if after > before:
            count.up += 1
            direction = "up"
        elif after < before:
            count.down += 1
            direction = "down"
        elif rules or recorded != replayed:
            count.other += 1
            direction = "other"
        else:
            continue
        changed = True
        same = [
            example
            for example in impact.examples
            if example.drug == drug
            and example.recorded == recorded
            and _direction(example) == direction
        ]
        if len(same) < examples_per_group:
            impact.examples.append(
                Example(ids[0], ids[1], drug, recorded, replayed, rules, conditions)
            )
    if changed:
        impact.changed += 1


def _direction(example: Example) -> str:
    before, after = Level.from_code(example.recorded), Level.from_code(example.replayed)
    return "up" if after > before else "down" if after < before else "other"


def impact_csv_rows(impact: Impact) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["release", impact.version, "digest", impact.digest],
        ["signed since", impact.since.isoformat(), "days", impact.days],
        ["assessments replayed", impact.replayed, "would change", impact.changed],
        [],
        ["drug", "recorded level", "assessments", "up", "down", "other change"],
    ]
    rows += [
        [row.drug, row.level, row.assessments, row.up, row.down, row.other] for row in impact.rows
    ]
    return rows


def impact_report(
    *,
    actor: Actor,
    kb: KnowledgeBase,
    department_ids: set[int] | None,
    now: dt.datetime,
    days: int = DEFAULT_DAYS,
) -> Impact:
    """The impact preview, recorded in the audit ledger (it reads signed records)."""
    impact = impact_preview(kb=kb, department_ids=department_ids, now=now, days=days)
    audit_event_append(
        actor=actor,
        action=Action.QUERY,
        resource_type="knowledge-base-impact",
        resource_id=kb.version,
        data_category=CATEGORY_ASSESSMENT,
        payload={
            "release": {"version": kb.version, "digest": kb.digest},
            "days": days,
            "departments": None if department_ids is None else sorted(department_ids),
            "replayed": impact.replayed,
            "changed": impact.changed,
        },
    )
    return impact
