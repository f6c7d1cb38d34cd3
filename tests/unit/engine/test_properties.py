"""Properties of evaluation over the real knowledge base in fixtures/knowledge.

Skipped, with the loader's message as the reason, while that knowledge base does not load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import (
    EFFECT_TAGS,
    RECEPTOR_STATES,
    ConditionInput,
    Evaluation,
    KnowledgeBase,
    KnowledgeBaseError,
    Level,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)
from periop.drugs.engine.knowledge import AttributeDefinition, Rule

REAL_KNOWLEDGE_BASE = Path(__file__).resolve().parents[3] / "fixtures" / "knowledge"
AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
THREE_YEARS_IN_MINUTES = 3 * 366 * 24 * 60


def _load() -> tuple[KnowledgeBase | None, str]:
    try:
        return load_knowledge_base(REAL_KNOWLEDGE_BASE), ""
    except (KnowledgeBaseError, OSError) as error:
        return None, str(error)


KB, LOAD_ERROR = _load()
pytestmark = pytest.mark.skipif(
    KB is None, reason=f"The real knowledge base does not load yet: {LOAD_ERROR}"
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def attribute_values(definition: AttributeDefinition) -> st.SearchStrategy[object]:
    if definition.type == "boolean":
        return st.booleans()
    if definition.type == "choice":
        return st.sampled_from(definition.choices)
    low = definition.minimum if definition.minimum is not None else 0
    high = definition.maximum if definition.maximum is not None else low + 1000
    return st.one_of(
        st.integers(math.ceil(low), math.floor(high)),
        st.floats(low, high, allow_nan=False, allow_infinity=False),
    )


@st.composite
def time_points(draw: st.DrawFn, latest: dt.datetime = AT) -> dt.datetime | dt.date | None:
    minutes = draw(st.integers(0, THREE_YEARS_IN_MINUTES))
    instant = latest - dt.timedelta(minutes=minutes)
    return draw(st.sampled_from([None, instant, instant.date()]))


@st.composite
def ends(draw: st.DrawFn, start: dt.datetime | dt.date | None) -> dt.datetime | dt.date | None:
    """A resolution or stop time that is never before `start`, or None."""
    if draw(st.booleans()):
        return None
    minutes = dt.timedelta(minutes=draw(st.integers(0, THREE_YEARS_IN_MINUTES)))
    if isinstance(start, dt.datetime):
        return start + minutes
    if isinstance(start, dt.date):
        return start + dt.timedelta(days=minutes.days)
    return AT - dt.timedelta(days=500) + minutes


@st.composite
def conditions(draw: st.DrawFn) -> ConditionInput:
    assert KB is not None
    definition = KB.conditions[draw(st.sampled_from(sorted(KB.conditions)))]
    attributes = draw(
        st.fixed_dictionaries(
            {},
            optional={
                name: attribute_values(attribute)
                for name, attribute in definition.attributes.items()
            },
        )
    )
    onset = draw(time_points())
    return ConditionInput(definition.code, onset, draw(ends(onset)), attributes)


@st.composite
def medications(draw: st.DrawFn) -> MedicationInput:
    assert KB is not None
    started = draw(time_points())
    return MedicationInput(draw(st.sampled_from(sorted(KB.drugs))), started, draw(ends(started)))


@st.composite
def patients(draw: st.DrawFn) -> PatientState:
    return PatientState(
        conditions=tuple(draw(st.lists(conditions(), max_size=4))),
        medications=tuple(draw(st.lists(medications(), max_size=3))),
        weight_kg=draw(st.none() | st.decimals("2", "250", places=1)),
        receptor_state_override=draw(st.none() | st.sampled_from(RECEPTOR_STATES)),
    )


def planned_drugs() -> st.SearchStrategy[list[str]]:
    assert KB is not None
    return st.lists(st.sampled_from(sorted(KB.drugs)), min_size=1, max_size=8, unique=True)


def by_drug(evaluation: Evaluation) -> dict[str, object]:
    return {caution.drug: caution for caution in evaluation.cautions}


@SETTINGS
@given(patient=patients(), drugs=planned_drugs(), data=st.data())
def test_the_order_of_planned_drugs_changes_no_caution(
    patient: PatientState, drugs: list[str], data: st.DataObject
):
    assert KB is not None
    reordered = data.draw(st.permutations(drugs))

    first = evaluate(patient, drugs, AT, KB)
    second = evaluate(patient, reordered, AT, KB)

    assert by_drug(first) == by_drug(second)
    assert [caution.drug for caution in second.cautions] == reordered
    assert first.highest_level == second.highest_level


def clinical_content(evaluation: Evaluation) -> tuple[object, ...]:
    """What a clinician acts on, whatever order the record lists things in: the receptor
    state and its sources, and each drug's level, effects, conflict, findings (rule and level),
    dose, monitoring, reversal and what to give instead."""
    receptor = evaluation.receptor_state
    return (
        receptor.value,
        receptor.derived,
        frozenset(receptor.sources),
        evaluation.highest_level,
        {
            caution.drug: (
                caution.level,
                caution.effects,
                caution.conflict,
                frozenset((finding.rule, finding.level) for finding in caution.findings),
                caution.dose,
                caution.monitoring,
                caution.reversal,
                caution.instead,
            )
            for caution in evaluation.cautions
        },
    )


@SETTINGS
@given(patient=patients(), drugs=planned_drugs(), data=st.data())
def test_the_order_of_conditions_and_medications_changes_no_caution(
    patient: PatientState, drugs: list[str], data: st.DataObject
):
    """A record lists conditions and medications in whatever order they were entered: a
    condition that does not count (resolved, not yet acting on the receptors, or without a
    receptor effect) must never hide one entered after it, nor one entered before it."""
    assert KB is not None
    reordered = dataclasses.replace(
        patient,
        conditions=tuple(data.draw(st.permutations(patient.conditions))),
        medications=tuple(data.draw(st.permutations(patient.medications))),
    )

    first = evaluate(patient, drugs, AT, KB)
    second = evaluate(reordered, drugs, AT, KB)

    assert clinical_content(first) == clinical_content(second)


# The conditions that a phased rule times: records of one of them fit some phases and not others.
PHASED_CONDITIONS = sorted(
    {
        code
        for rule in (KB.rules if KB is not None else ())
        if rule.phases
        for code in rule.when.conditions
    }
)


@st.composite
def records_of_one_condition(draw: st.DrawFn) -> tuple[ConditionInput, ...]:
    """Two or three records of one condition that a phased rule times."""
    code = draw(st.sampled_from(PHASED_CONDITIONS))
    # Minutes often at the edges of the phases, within the first fortnight and the first months.
    edges = sorted(
        {
            int(hours * 60)
            for rule in (KB.rules if KB is not None else ())
            if code in rule.when.conditions
            for phase in rule.phases
            for hours in (phase.from_hours, phase.to_hours)
            if hours is not None
        }
    )
    minutes = (
        st.sampled_from(edges)
        | st.integers(0, 14 * 24 * 60)
        | st.integers(0, 200 * 24 * 60)
        | st.integers(0, THREE_YEARS_IN_MINUTES)
    )
    records = []
    for _ in range(draw(st.integers(2, 3))):
        onset = AT - dt.timedelta(minutes=draw(minutes))
        resolved = draw(st.none() | minutes.map(lambda m, o=onset: o + dt.timedelta(minutes=m)))
        records.append(ConditionInput(code, onset, resolved))
    return tuple(records)


@SETTINGS
@given(records=records_of_one_condition(), data=st.data())
def test_the_order_of_records_of_one_condition_changes_no_caution(
    records: tuple[ConditionInput, ...], data: st.DataObject
):
    """A record outside every phase of a rule (healed long ago, say) must never hide another
    record of the same condition inside one."""
    assert KB is not None
    timed = sorted(
        {
            drug
            for rule in KB.rules
            if rule.phases and records[0].code in rule.when.conditions
            for drug in rule.target_drugs
        }
    )
    drugs = data.draw(st.lists(st.sampled_from(timed), min_size=1, max_size=4, unique=True))
    patient = PatientState(conditions=records)
    reordered = PatientState(conditions=tuple(data.draw(st.permutations(records))))

    first = evaluate(patient, drugs, AT, KB)
    second = evaluate(reordered, drugs, AT, KB)

    assert clinical_content(first) == clinical_content(second)


@SETTINGS
@given(patient=patients(), extra=conditions(), drugs=planned_drugs())
def test_adding_a_condition_never_lowers_a_level_unless_a_rule_supersedes(
    patient: PatientState, extra: ConditionInput, drugs: list[str]
):
    assert KB is not None
    with_extra = dataclasses.replace(patient, conditions=(*patient.conditions, extra))

    before = evaluate(patient, drugs, AT, KB)
    after = evaluate(with_extra, drugs, AT, KB)

    for old, new in zip(before.cautions, after.cautions, strict=True):
        if new.level >= old.level:
            continue
        # Only a rule that fired for this drug (it is among the new findings) can explain a
        # lower level, by superseding a rule that fired before and no longer does.
        old_rules = {finding.rule for finding in old.findings}
        new_rules = {finding.rule for finding in new.findings}
        superseded = {
            rule_id
            for new_rule in new_rules
            for rule_id in KB.rule(new_rule).supersedes
            if rule_id in old_rules
        }
        assert superseded, f"{old.drug}: {old.level.code} -> {new.level.code} unexplained"
        assert not superseded & new_rules


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_every_finding_names_a_rule_for_its_drug_with_resolvable_references(
    patient: PatientState, drugs: list[str]
):
    assert KB is not None
    evaluation = evaluate(patient, drugs, AT, KB)

    for caution in evaluation.cautions:
        for finding in caution.findings:
            rule = KB.rule(finding.rule)
            assert caution.drug in rule.target_drugs
            assert finding.references == rule.references
            assert set(finding.references) <= set(KB.references)
            assert finding.level > Level.NONE
            assert all(
                trigger.split(":", 1)[0] in {"condition", "medication", "drug", "receptor-state"}
                for trigger in finding.triggered_by
            )


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_each_caution_is_consistent_with_its_findings(patient: PatientState, drugs: list[str]):
    assert KB is not None
    evaluation = evaluate(patient, drugs, AT, KB)

    for caution in evaluation.cautions:
        levels = [finding.level for finding in caution.findings]
        assert caution.level == max(levels, default=Level.NONE)
        assert levels == sorted(levels, reverse=True)
        assert list(caution.effects) == [tag for tag in EFFECT_TAGS if tag in caution.effects]
        opposing = {"increased_sensitivity", "resistance"} <= set(caution.effects)
        assert caution.conflict is opposing
        assert set(caution.assumptions) <= set(evaluation.assumptions)
    assert evaluation.highest_level == max(caution.level for caution in evaluation.cautions)


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_a_dose_in_milligrams_never_exceeds_its_cap_and_is_given_to_a_tenth(
    patient: PatientState, drugs: list[str]
):
    assert KB is not None
    for caution in evaluate(patient, drugs, AT, KB).cautions:
        dose = caution.dose
        if dose is None or dose.total_mg is None:
            continue
        assert dose.total_mg.minimum <= dose.total_mg.maximum
        if dose.per_kg_mg is not None and patient.weight_kg is not None:
            assert dose.total_mg.maximum.as_tuple().exponent == -1
            if dose.max_mg is not None:
                assert dose.total_mg.maximum <= dose.max_mg
        assert isinstance(dose.total_mg.maximum, Decimal)


# Every (rule, drug) whose dose entry is per kg, so that the dose property reaches its assertions.
PER_KG_DOSES: list[tuple[Rule, str]] = [
    (rule, drug)
    for rule in (KB.rules if KB is not None else ())
    for drug in sorted(rule.target_drugs)
    if (spec := rule.dose_for(drug)) is not None and spec.per_kg_mg is not None
]
MICROSECONDS_PER_HOUR = 3_600_000_000
THREE_YEARS_IN_MICROSECONDS = THREE_YEARS_IN_MINUTES * 60_000_000


@st.composite
def patients_firing(draw: st.DrawFn, rule: Rule) -> tuple[PatientState, tuple[str, ...]]:
    """A patient and companion drugs that meet `rule`'s `when` (other rules may fire too)."""
    assert KB is not None
    when = rule.when
    conditions = []
    if when.conditions:
        code = draw(st.sampled_from(when.conditions))
        definition = KB.conditions[code]
        attributes: dict[str, object] = {}
        for name, constraint in when.attributes.items():
            if name not in definition.attributes:
                continue
            if constraint.values is not None:
                attributes[name] = draw(st.sampled_from(constraint.values))
            else:
                # Within the rule's constraint and the attribute's own range.
                bounds = definition.attributes[name]
                low = max(
                    constraint.minimum if constraint.minimum is not None else 0,
                    bounds.minimum if bounds.minimum is not None else 0,
                )
                high = constraint.maximum if constraint.maximum is not None else low + 100
                if bounds.maximum is not None:
                    high = min(high, bounds.maximum)
                attributes[name] = draw(st.integers(math.ceil(low), math.floor(high)))
        start, end = 0, THREE_YEARS_IN_MICROSECONDS
        if rule.phases:
            phase = draw(st.sampled_from([p for p in rule.phases if p.status != "resolved"]))
            start = math.ceil(phase.start)
            end = start + end if phase.end is None else math.ceil(phase.end)
        onset = AT - dt.timedelta(microseconds=draw(st.integers(start, end - 1)))
        conditions.append(ConditionInput(code, onset, None, attributes))
    medications = []
    if when.medications:
        low = when.medication_hours.minimum if when.medication_hours else None
        high = when.medication_hours.maximum if when.medication_hours else None
        hours = draw(st.floats(low or 0, high or 3 * 365 * 24, exclude_max=high is not None))
        started = AT - dt.timedelta(microseconds=int(hours * MICROSECONDS_PER_HOUR))
        medications.append(
            MedicationInput(draw(st.sampled_from(sorted(when.medication_codes))), started)
        )
    companions = tuple(
        draw(st.sampled_from(sorted(codes)))
        for codes in (when.present_codes, when.also_present_codes)
        if codes
    )
    override = draw(st.sampled_from(when.receptor_state)) if when.receptor_state else None
    state = PatientState(
        conditions=tuple(conditions),
        medications=tuple(medications),
        # Weights with a fractional part, so that a rounded or truncated weight shows.
        weight_kg=draw(st.decimals("2", "250", places=2)),
        receptor_state_override=override,
    )
    return state, companions


def milligrams(per_kg: Decimal, weight: Decimal, cap: Decimal | None) -> Decimal:
    """dose.py's contract: per kg times the weight, capped, then to a tenth, half to even."""
    total = per_kg * weight
    if cap is not None:
        total = min(total, cap)
    return total.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


@SETTINGS
@given(target=st.sampled_from(PER_KG_DOSES), data=st.data())
def test_a_per_kg_dose_in_milligrams_is_the_weight_times_the_dose_capped_and_rounded(
    target: tuple[Rule, str], data: st.DataObject
):
    assert KB is not None
    rule, drug = target
    state, companions = data.draw(patients_firing(rule))
    companions = tuple(code for code in dict.fromkeys(companions) if code != drug)

    (caution, *_) = evaluate(state, (drug, *companions), AT, KB).cautions
    dose = caution.dose
    # A more restrictive finding without a dose, or a conflict, legitimately hides this one.
    assume(dose is not None and dose.per_kg_mg is not None)
    assert dose is not None
    assert dose.per_kg_mg is not None

    spec = KB.rule(dose.rule).dose_for(drug)
    assert spec is not None
    assert (dose.per_kg_mg, dose.max_mg) == (spec.per_kg_mg, spec.max_mg)
    assert any(
        finding.rule == dose.rule and finding.level == caution.level for finding in caution.findings
    )
    weight = state.weight_kg
    assert weight is not None
    event("milligrams checked")
    assert dose.total_mg is not None
    assert dose.total_mg.minimum == milligrams(spec.per_kg_mg.minimum, weight, spec.max_mg)
    assert dose.total_mg.maximum == milligrams(spec.per_kg_mg.maximum, weight, spec.max_mg)

    # Without a weight the same guidance stays per kg only.
    unweighed = dataclasses.replace(state, weight_kg=None)
    (caution, *_) = evaluate(unweighed, (drug, *companions), AT, KB).cautions
    assert caution.dose is not None
    assert (caution.dose.per_kg_mg, caution.dose.total_mg) == (spec.per_kg_mg, None)
