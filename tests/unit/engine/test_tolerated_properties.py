"""Properties of unknown attributes over the real knowledge base: cautious for a new drug, never
more cautious than a known value for a chronic medication the patient already tolerates.

The oracle is clinical-reference.md §5.1: for a chronic drug the patient takes, the level is the
one of a known attribute value ("MG (any): MO, continue"; "MuSK MG: AV unless already
tolerated"); for a drug new to the patient, an unknown value is read the most cautious way
(api-contract.md, "Uncertain and missing inputs").
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import ConditionInput, Level, MedicationInput, PatientState, evaluate
from periop.drugs.engine.tolerated import CHRONIC_MEDICATION_HOURS
from tests.unit.engine.test_properties import AT, KB, SETTINGS, conditions, medications, pytestmark

__all__ = ["pytestmark"]


def _with_unknown_markers() -> list[tuple[str, str]]:
    """(condition, attribute) for every choice attribute that has a value meaning "unknown"."""
    assert KB is not None
    return [
        (code, name)
        for code, definition in sorted(KB.conditions.items())
        for name, attribute in sorted(definition.attributes.items())
        if attribute.type == "choice" and attribute.unknown is not None
    ]


def _drugs_its_rules_target(code: str, name: str) -> list[str]:
    """The drugs of the rules that constrain this attribute: where an unknown value matters."""
    assert KB is not None
    return sorted(
        {
            drug
            for rule in KB.rules
            if code in rule.when.conditions and name in rule.when.attributes
            for drug in rule.target_drugs
        }
    )


@st.composite
def unknown_attribute_cases(draw: st.DrawFn) -> tuple[ConditionInput, str, list[object], str]:
    """A condition with one attribute unknown, its known values, and a drug to plan."""
    assert KB is not None
    code, name = draw(st.sampled_from(_with_unknown_markers()))
    attribute = KB.conditions[code].attributes[name]
    known = [value for value in attribute.choices if value != attribute.unknown]
    onset = AT - dt.timedelta(days=draw(st.integers(1, 3000)))
    unknown = draw(st.sampled_from([{name: attribute.unknown}, {}]))
    drug = draw(
        st.sampled_from(_drugs_its_rules_target(code, name)) | st.sampled_from(sorted(KB.drugs))
    )
    return ConditionInput(code, onset, None, unknown), name, known, drug


@st.composite
def chronic_courses(draw: st.DrawFn, drug: str) -> MedicationInput:
    """`drug` taken, not stopped, and certainly for longer than the chronic threshold."""
    hours = draw(st.integers(CHRONIC_MEDICATION_HOURS + 48, 10 * 8760))
    started = AT - dt.timedelta(hours=hours)
    return MedicationInput(drug, draw(st.sampled_from([started, started.date()])), None)


def _level(state: PatientState, drugs: list[str], drug: str) -> Level:
    assert KB is not None
    cautions = evaluate(state, drugs, AT, KB).cautions
    return next(caution.level for caution in cautions if caution.drug == drug)


def _variants(
    state: PatientState, case: ConditionInput, name: str, known: list[object]
) -> list[PatientState]:
    """The same patient with the unknown attribute replaced by each known value."""
    return [
        dataclasses.replace(
            state,
            conditions=tuple(
                dataclasses.replace(item, attributes={**item.attributes, name: value})
                if item is case
                else item
                for item in state.conditions
            ),
        )
        for value in known
    ]


@SETTINGS
@given(
    case=unknown_attribute_cases(),
    others=st.lists(conditions(), max_size=2),
    medicines=st.lists(medications(), max_size=2),
    also=st.lists(st.sampled_from(sorted(KB.drugs)) if KB else st.nothing(), max_size=3),
    data=st.data(),
)
def test_an_unknown_attribute_never_makes_a_tolerated_chronic_medication_more_cautious(
    case, others, medicines, also, data
):
    # §5.1: a chronic drug the patient already takes is continued at the level a known value
    # gives ("MG (any): MO, continue"; MuSK "AV unless already tolerated"), so the unknown value
    # is at most as cautious as the least cautious known value.
    condition, name, known, drug = case
    course = data.draw(chronic_courses(drug))
    state = PatientState(
        conditions=(condition, *others),
        medications=(*medicines, course),
    )
    drugs = list(dict.fromkeys([drug, *also]))

    unknown_level = _level(state, drugs, drug)
    known_levels = [
        _level(variant, drugs, drug) for variant in _variants(state, condition, name, known)
    ]

    assert unknown_level <= min(known_levels), (drug, condition, unknown_level, known_levels)


@SETTINGS
@given(case=unknown_attribute_cases(), others=st.lists(conditions(), max_size=2))
def test_an_unknown_attribute_is_read_the_most_cautious_way_for_a_new_drug(case, others):
    # api-contract.md, "Uncertain and missing inputs": an unknown attribute value is treated the
    # most cautious way the reference allows, here for a drug the patient does not take.
    condition, name, known, drug = case
    state = PatientState(conditions=(condition, *others))

    unknown_level = _level(state, [drug], drug)
    known_levels = [
        _level(variant, [drug], drug) for variant in _variants(state, condition, name, known)
    ]

    assert unknown_level >= max(known_levels), (drug, condition, unknown_level, known_levels)
