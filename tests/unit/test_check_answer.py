"""A check's answer put together from JSON written once per card or finding (`check_answer`).

Whatever was written before, and however often the written parts are forgotten, the answer
must render byte for byte as the plain dicts of `evaluation_to_dict` would: in both views, with
and without a weight, and through DRF's renderer when an indented answer is asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from unittest import mock

import orjson
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from periop.drugs import presenters
from periop.drugs.engine import ConditionInput, MedicationInput, PatientState, evaluate
from periop.drugs.engine.tuning import LOCAL_TEXT, Tuning
from periop.drugs.presenters import check_answer, evaluation_to_dict
from periop.renderers import JSONRenderer, json_fragment
from tests.unit.engine.test_card_properties import rating_out_cases
from tests.unit.engine.test_properties import AT, KB, SETTINGS, pytestmark

__all__ = ["pytestmark"]

INDENTED = "application/json; indent=2"


def rendered(body: dict[str, object], accepted: str = "application/json") -> bytes:
    return JSONRenderer().render(body, accepted, {})


def written_parts(body: dict[str, object]) -> list[object]:
    cautions = body["cautions"]
    assert isinstance(cautions, list)
    parts = [caution for caution in cautions if isinstance(caution, orjson.Fragment)]
    for caution in cautions:
        if isinstance(caution, dict):
            parts += [item for item in caution["findings"] if isinstance(item, orjson.Fragment)]
    return parts


@SETTINGS
@given(
    case=rating_out_cases(),
    earlier=rating_out_cases(),
    summary=st.booleans(),
    weight=st.none() | st.decimals("2", "250", places=2),
)
def test_an_answer_renders_as_the_plain_dicts_whatever_was_written_before(
    case: tuple[PatientState, list[str]],
    earlier: tuple[PatientState, list[str]],
    summary: bool,
    weight: Decimal | None,
):
    assert KB is not None
    patient, drugs = dataclasses.replace(case[0], weight_kg=weight), case[1]
    evaluation = evaluate(patient, drugs, AT, KB)
    expected = evaluation_to_dict(evaluation, summary=summary)

    presenters._WRITTEN.clear()
    assert rendered(check_answer(evaluation, summary=summary, tunings={})) == rendered(expected)
    # Another patient's answer written in between, in the other view too, then this one again.
    other = evaluate(earlier[0], earlier[1], AT, KB)
    for view in (True, False):
        rendered(check_answer(other, summary=view, tunings={}))
    again = check_answer(evaluate(patient, drugs, AT, KB), summary=summary, tunings={})
    assert rendered(again) == rendered(expected)
    # The same cards in the other view, then in this one again.
    other_view = evaluation_to_dict(evaluation, summary=not summary)
    assert rendered(check_answer(evaluation, summary=not summary, tunings={})) == rendered(
        other_view
    )
    assert rendered(check_answer(evaluation, summary=summary, tunings={})) == rendered(expected)
    # Indented, through DRF's own encoder: the same data.
    assert json.loads(rendered(again, INDENTED)) == json.loads(rendered(expected))
    assert rendered(again, INDENTED) == DrfJSONRenderer().render(expected, INDENTED, {})


@SETTINGS
@given(case=rating_out_cases(), summary=st.booleans())
def test_an_answer_is_the_same_when_every_written_part_is_forgotten_at_once(
    case: tuple[PatientState, list[str]], summary: bool
):
    assert KB is not None
    patient, drugs = dataclasses.replace(case[0], weight_kg=Decimal("71.3")), case[1]
    evaluation = evaluate(patient, drugs, AT, KB)
    expected = rendered(evaluation_to_dict(evaluation, summary=summary))
    with mock.patch.object(presenters, "_WRITTEN_LIMIT", 1):
        for _ in range(2):
            assert rendered(check_answer(evaluation, summary=summary, tunings={})) == expected
            assert len(presenters._WRITTEN) <= 1


def _weighed_patient() -> tuple[PatientState, list[str]]:
    """The contract's example patient, whose sugammadex dose is per kg."""
    state = PatientState(
        conditions=(
            ConditionInput(
                "myasthenia-gravis",
                dt.date(2024, 5, 1),
                attributes={"antibody": "achr", "distribution": "generalized"},
            ),
            ConditionInput(
                "stroke", AT - dt.timedelta(days=10), attributes={"motor_deficit": True}
            ),
        ),
        medications=(MedicationInput("pyridostigmine", dt.date(2024, 5, 3)),),
        weight_kg=Decimal("62"),
    )
    drugs = ["succinylcholine", "rocuronium", "sugammadex"]
    assert KB is not None
    dose = evaluate(state, drugs, AT, KB).cautions[2].dose
    assert dose is not None
    assert dose.per_kg_mg is not None
    assert dose.total_mg is not None
    return state, drugs


def test_patients_alike_but_for_the_weight_each_get_their_own_dose():
    assert KB is not None
    state, drugs = _weighed_patient()
    totals = []
    for weight in (Decimal("50"), Decimal("90.5"), Decimal("50")):
        evaluation = evaluate(dataclasses.replace(state, weight_kg=weight), drugs, AT, KB)
        body = json.loads(rendered(check_answer(evaluation, summary=False, tunings={})))
        assert body == json.loads(rendered(evaluation_to_dict(evaluation)))
        totals.append(body["cautions"][2]["dose"]["total_mg"])
    assert totals[0] != totals[1]
    assert totals[0] == totals[2]


def test_written_parts_are_shared_by_patients_alike_in_findings_and_kept_bounded():
    assert KB is not None
    state, drugs = _weighed_patient()
    unweighed = evaluate(dataclasses.replace(state, weight_kg=None), drugs, AT, KB)
    presenters._WRITTEN.clear()
    first = written_parts(check_answer(unweighed, summary=False, tunings={}))
    second = written_parts(check_answer(unweighed, summary=False, tunings={}))
    assert first
    assert all(a is b for a, b in zip(first, second, strict=True))
    with mock.patch.object(presenters, "_WRITTEN_LIMIT", 3):
        for weight in range(40, 60):
            patient = dataclasses.replace(state, weight_kg=Decimal(weight))
            check_answer(evaluate(patient, drugs, AT, KB), summary=False, tunings={})
            assert len(presenters._WRITTEN) <= 3


def test_with_tunings_in_force_the_answer_is_plain_tuned_dicts():
    assert KB is not None
    state, drugs = _weighed_patient()
    evaluation = evaluate(state, drugs, AT, KB)
    rule = evaluation.cautions[0].findings[0].rule
    tuning = Tuning(id=7, rule=rule, change=LOCAL_TEXT, text="Call the consultant on duty.")
    body = check_answer(evaluation, summary=False, tunings={rule: [tuning]})
    assert not written_parts(body)
    finding = body["cautions"][0]["findings"][0]
    assert finding["locally_tuned"][0]["text"] == "Call the consultant on duty."
    assert body["tunings"] == [7]


def test_a_written_part_renders_as_the_data_it_was_written_from():
    data = {"text": "a\u2028b \u2029 \u2265", "levels": ["avoid", "monitor"], "dose": None, "n": 1}
    for accepted in ("application/json", INDENTED):
        ours = rendered({"part": json_fragment(data), "at": AT}, accepted)
        assert ours == DrfJSONRenderer().render({"part": data, "at": AT}, accepted, {})
