"""Uncertain inputs are ranges, and a rule fires when it can hold under some reading of them; only
a rule that holds under every reading may supersede another (matching.py). Over the real
knowledge base in fixtures/knowledge: whatever a patient's record leaves open (an unknown or
date-only onset, resolution, start or stop; an unknown or unrecorded attribute), a rule that
fires for one definite reading of it fires for the record itself, and the record's level is never
below that reading's.

A drug the patient already takes is left out: for a chronic medication the patient tolerates an
unknown attribute is deliberately not read the cautious way (tolerated.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    KnowledgeBase,
    MedicationInput,
    PatientState,
    evaluate,
)
from periop.drugs.engine.knowledge import When
from tests.unit.engine.test_properties import (
    AT,
    KB,
    SETTINGS,
    THREE_YEARS_IN_MINUTES,
    attribute_values,
    patients,
    planned_drugs,
    pytestmark,
)

__all__ = ["pytestmark"]

MINUTES_IN_A_DAY = 24 * 60


def _instant(draw: st.DrawFn, point: dt.datetime | dt.date | None, earliest: dt.datetime | None):
    """One definite instant that `point` may stand for, not before `earliest`."""
    if isinstance(point, dt.datetime):
        return point
    if isinstance(point, dt.date):
        midnight = dt.datetime.combine(point, dt.time(), tzinfo=dt.UTC)
        instant = midnight + dt.timedelta(minutes=draw(st.integers(0, MINUTES_IN_A_DAY - 1)))
    else:
        # Often within the first fortnight, where the hours windows of the rules lie.
        minutes = st.integers(0, 14 * MINUTES_IN_A_DAY) | st.integers(0, THREE_YEARS_IN_MINUTES)
        instant = AT - dt.timedelta(minutes=draw(minutes))
    return instant if earliest is None else max(instant, earliest)


def _ordered(
    draw: st.DrawFn, start: dt.datetime | dt.date | None, end: dt.datetime | dt.date | None
) -> tuple[dt.datetime, dt.datetime | None]:
    """Definite instants for a start and an end (None: not ended), the start not after the end
    nor after the evaluation."""
    latest = AT
    if isinstance(end, dt.datetime):
        latest = min(latest, end)
    elif isinstance(end, dt.date):
        latest = min(latest, dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC))
    begun = min(_instant(draw, start, None), latest)
    return begun, None if end is None else _instant(draw, end, begun)


@st.composite
def definite_condition(
    draw: st.DrawFn, kb: KnowledgeBase, condition: ConditionInput
) -> ConditionInput:
    definition = kb.conditions[condition.code]
    onset, resolved = _ordered(draw, condition.onset, condition.resolved)
    attributes = dict(condition.attributes)
    # Where one attribute implies another or a value converts (attribute_readings.py,
    # attribute_units.py), an unrecorded value is not simply open: leave those as recorded.
    implied = bool(definition.implications or definition.conversions)
    for name, attribute in () if implied else definition.attributes.items():
        value = attributes.get(name, attribute.default)
        if value is None or (attribute.unknown is not None and value == attribute.unknown):
            known = attribute_values(attribute).filter(
                lambda choice, marker=attribute.unknown: marker is None or choice != marker
            )
            attributes[name] = draw(known)
    return ConditionInput(condition.code, onset, resolved, attributes)


@st.composite
def definite_medication(draw: st.DrawFn, medication: MedicationInput) -> MedicationInput:
    started, stopped = _ordered(draw, medication.started, medication.stopped)
    return MedicationInput(medication.code, started, stopped)


@st.composite
def definite_readings(draw: st.DrawFn, kb: KnowledgeBase, patient: PatientState) -> PatientState:
    """The same patient with every open time and attribute given one value it may have."""
    return dataclasses.replace(
        patient,
        conditions=tuple(draw(definite_condition(kb, item)) for item in patient.conditions),
        medications=tuple(draw(definite_medication(item)) for item in patient.medications),
    )


def assert_the_record_covers_the_reading(
    kb: KnowledgeBase, record: PatientState, reading: PatientState, drugs: list[str]
) -> None:
    """Every rule that fires for the reading fires for the record, at no lower a level, for
    each planned drug the patient does not already take."""
    taken = {medication.code for medication in record.medications}
    open_record = {c.drug: c for c in evaluate(record, drugs, AT, kb).cautions}
    definite = {c.drug: c for c in evaluate(reading, drugs, AT, kb).cautions}
    for drug in drugs:
        if drug in taken:
            continue
        rules = {finding.rule for finding in open_record[drug].findings}
        read = {finding.rule for finding in definite[drug].findings}
        assert read <= rules, (drug, sorted(read - rules))
        assert definite[drug].level <= open_record[drug].level, drug


@SETTINGS
@given(patient=patients(), drugs=planned_drugs(), data=st.data())
def test_a_rule_that_fires_for_a_reading_of_the_record_fires_for_the_record(
    patient: PatientState, drugs: list[str], data: st.DataObject
):
    assert KB is not None
    assert_the_record_covers_the_reading(
        KB, patient, data.draw(definite_readings(KB, patient)), drugs
    )


def _fits(kb: KnowledgeBase, when: When, record: ConditionInput) -> bool:
    """Every constraint on an attribute of the record's schema allows its recorded value or
    default, an unknown value fitting all (the cautious reading). A condition whose values can
    be implied or converted (several readings) is not judged here."""
    definition = kb.conditions[record.code]
    if definition.implications or definition.conversions:
        return True
    for name, constraint in when.attributes.items():
        attribute = definition.attributes.get(name)
        if attribute is None:
            continue
        value = record.attributes.get(name, attribute.default)
        unknown = value is None or (attribute.unknown is not None and value == attribute.unknown)
        if not unknown and not constraint.allows(value):
            return False
    return True


def assert_findings_name_what_meets_their_rules(
    kb: KnowledgeBase, record: PatientState, drugs: list[str]
) -> None:
    """Each finding names, for every part of its rule's `when`, something of the patient that
    meets it (a listed condition whose known attributes fit, a listed medication, another
    planned drug or a medication of those it needs present, the override), and names nothing
    the patient lacks."""
    conditions = {condition.code for condition in record.conditions}
    medications = {medication.code for medication in record.medications}
    for caution in evaluate(record, drugs, AT, kb).cautions:
        others = set(drugs) - {caution.drug}
        for finding in caution.findings:
            when = kb.rule(finding.rule).when
            named: dict[str, set[str]] = {}
            for trigger in finding.triggered_by:
                kind, code = trigger.split(":", 1)
                named.setdefault(kind, set()).add(code)
            found = named.get("condition", set())
            assert found <= conditions & when.condition_codes, finding
            assert bool(found) is bool(when.conditions), finding
            for code in found:
                assert any(_fits(kb, when, item) for item in record.conditions if item.code == code)
            taken = named.get("medication", set())
            together = named.get("drug", set())
            assert taken <= medications, finding
            assert together <= others, finding
            assert taken <= when.medication_codes | when.present_codes | when.also_present_codes
            assert together <= when.present_codes | when.also_present_codes, finding
            if when.medications:
                assert taken & when.medication_codes, finding
            for codes in (when.present_codes, when.also_present_codes):
                if codes:
                    assert (taken | together) & codes, finding
            expected = {record.receptor_state_override} if when.receptor_state else set()
            assert named.get("receptor-state", set()) == expected, finding


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_a_finding_names_what_meets_each_part_of_its_rule(patient: PatientState, drugs: list[str]):
    assert KB is not None
    assert_findings_name_what_meets_their_rules(KB, patient, drugs)
