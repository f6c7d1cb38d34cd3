"""Receptor state derived from the conditions, and the clinician's override."""

from __future__ import annotations

import datetime as dt

import pytest

from periop.drugs.engine import ConditionInput, KnowledgeBase, ReceptorSource, evaluate
from tests.unit.engine.builders import AT, KnowledgeFiles, hours_before, state


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    return kb_files.load()


def receptor(kb: KnowledgeBase, *conditions: ConditionInput, override: str | None = None):
    return evaluate(state(*conditions, receptor_state=override), ["rocuronium"], AT, kb)


MG = ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1))
STROKE = ConditionInput("stroke", onset=hours_before(240))


def test_it_is_normal_without_conditions(kb: KnowledgeBase):
    result = receptor(kb).receptor_state

    assert (result.value, result.derived, result.overridden, result.sources) == (
        "normal",
        "normal",
        False,
        (),
    )


def test_it_is_down_for_myasthenia_and_up_for_a_stroke_with_deficit(kb: KnowledgeBase):
    assert receptor(kb, MG).receptor_state.value == "down"
    assert receptor(kb, STROKE).receptor_state.value == "up"


def test_it_is_mixed_for_opposite_effects_and_lists_every_source_in_order(kb: KnowledgeBase):
    result = receptor(kb, MG, STROKE).receptor_state

    assert result.value == "mixed"
    assert result.sources == (
        ReceptorSource("myasthenia-gravis", "down"),
        ReceptorSource("stroke", "up"),
    )


def test_it_waits_for_the_conditions_receptor_effect_hours(kb: KnowledgeBase):
    early = ConditionInput("stroke", onset=hours_before(72) + dt.timedelta(microseconds=1))
    on_time = ConditionInput("stroke", onset=hours_before(72))

    assert receptor(kb, early).receptor_state.value == "normal"
    assert receptor(kb, on_time).receptor_state.value == "up"
    # Exactly on time is certain: nothing is assumed.
    assert receptor(kb, on_time).assumptions == ()


def test_it_applies_an_override_selected_by_a_known_attribute(kb: KnowledgeBase):
    no_deficit = ConditionInput(
        "stroke", onset=hours_before(240), attributes={"motor_deficit": False}
    )

    assert receptor(kb, no_deficit).receptor_state.value == "normal"


def test_it_keeps_the_base_effect_when_the_overriding_attribute_is_unknown(kb: KnowledgeBase):
    injury = ConditionInput("spinal-cord-injury", onset=hours_before(240))

    evaluation = receptor(kb, injury)

    assert evaluation.receptor_state.value == "up"
    assert (
        "Spinal cord injury: motor deficit unknown; its receptor effect is taken as up."
        in evaluation.assumptions
    )


def test_an_override_whose_attribute_is_unknown_does_not_hide_a_later_one_that_is_known(
    kb_files: KnowledgeFiles,
):
    stroke = kb_files.condition("stroke")
    stroke["attributes"]["flaccid"] = {"type": "boolean", "label": "Flaccid"}
    stroke["receptor_effect_overrides"] = [
        {"attributes": {"flaccid": [False]}, "effect": "none"},
        {"attributes": {"motor_deficit": [False]}, "effect": "none"},
    ]
    kb = kb_files.load()
    no_deficit = ConditionInput(
        "stroke", onset=hours_before(240), attributes={"motor_deficit": False}
    )

    evaluation = receptor(kb, no_deficit)

    assert evaluation.receptor_state.value == "normal"
    # The known attribute decided the effect: no assumption about the unknown one remains.
    assert not [note for note in evaluation.assumptions if "flaccid" in note]


def test_a_condition_that_does_not_count_never_hides_one_listed_after_it(kb: KnowledgeBase):
    resolved = ConditionInput("stroke", onset=hours_before(2000), resolved=hours_before(10))
    too_recent = ConditionInput("stroke", onset=hours_before(1))
    no_deficit = ConditionInput(
        "stroke", onset=hours_before(240), attributes={"motor_deficit": False}
    )

    for first in (resolved, too_recent, no_deficit):
        result = receptor(kb, first, MG, STROKE).receptor_state
        assert result.value == "mixed", first
        assert result.sources == (
            ReceptorSource("myasthenia-gravis", "down"),
            ReceptorSource("stroke", "up"),
        )


def test_it_ignores_a_resolved_condition(kb: KnowledgeBase):
    resolved = ConditionInput("stroke", onset=hours_before(2000), resolved=hours_before(10))

    assert receptor(kb, resolved).receptor_state.value == "normal"


def test_it_counts_a_condition_that_may_have_reached_its_hours_and_says_so(kb: KnowledgeBase):
    evaluation = receptor(kb, ConditionInput("stroke", onset=dt.date(2026, 11, 19)))

    assert evaluation.receptor_state.value == "up"
    assert (
        "Stroke: may not affect the receptors at the planned time; counted as up-regulation."
        in evaluation.assumptions
    )


def test_it_shows_the_override_but_keeps_what_the_conditions_say(kb: KnowledgeBase):
    result = receptor(kb, MG, override="up").receptor_state

    assert (result.value, result.overridden, result.derived) == ("up", True, "down")
    assert result.sources == (ReceptorSource("myasthenia-gravis", "down"),)


def test_the_receptor_state_can_be_derived_without_planned_drugs():
    import datetime as dt
    from pathlib import Path

    from periop.drugs.engine import (
        ConditionInput,
        PatientState,
        derive_receptor_state,
        evaluate,
        load_knowledge_base,
    )

    kb = load_knowledge_base(Path(__file__).resolve().parents[3] / "fixtures" / "knowledge")
    at = dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC)
    state = PatientState(
        conditions=(
            ConditionInput("myasthenia-gravis", dt.date(2020, 1, 1)),
            ConditionInput("stroke", at - dt.timedelta(days=10)),
        )
    )

    derived = derive_receptor_state(state, at, kb)

    assert derived.value == "mixed"
    assert derived == evaluate(state, ("rocuronium",), at, kb).receptor_state
