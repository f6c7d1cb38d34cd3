"""Input the engine refuses, with the field and the bad value named; attribute checking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from periop.drugs.engine import (
    ConditionInput,
    EngineInputError,
    KnowledgeBase,
    MedicationInput,
    PatientState,
    check_condition_attributes,
    evaluate,
)
from tests.unit.engine.builders import AT, KnowledgeFiles, hours_before, state


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    return kb_files.load()


def refusal(
    kb: KnowledgeBase, patient: PatientState, drugs: object = ("rocuronium",), at: object = AT
) -> EngineInputError:
    with pytest.raises(EngineInputError) as raised:
        evaluate(patient, drugs, at, kb)  # type: ignore[arg-type]
    return raised.value


def condition(**fields: object) -> PatientState:
    fields.setdefault("code", "burn")
    return state(ConditionInput(**fields))  # type: ignore[arg-type]


def medication(**fields: object) -> PatientState:
    fields.setdefault("code", "phenytoin")
    return state(medications=(MedicationInput(**fields),))  # type: ignore[arg-type]


# The naive datetimes below are the bad input under test.
NAIVE_AT = dt.datetime(2026, 11, 22, 8, 0)  # noqa: DTZ001
NAIVE_ONSET = dt.datetime(2026, 11, 20, 8, 0)  # noqa: DTZ001
NAIVE_START = dt.datetime(2026, 11, 1)  # noqa: DTZ001

REFUSED = {
    "a naive evaluation time": (
        dict(at=NAIVE_AT),
        "at",
        "must include a time-zone offset",
    ),
    "an evaluation date without a time": (
        dict(at=dt.date(2026, 11, 22)),
        "at",
        "must include a time-zone offset",
    ),
    "an unknown drug code": (dict(drugs=["suxx"]), "drugs", "Unknown drug code 'suxx'."),
    "a duplicate drug": (
        dict(drugs=["rocuronium", "rocuronium"]),
        "drugs",
        "Drug code 'rocuronium' is listed more than once.",
    ),
    "no drugs": (dict(drugs=[]), "drugs", "At least one planned drug is required."),
    "a drug code given as text instead of a list": (
        dict(drugs="rocuronium"),
        "drugs",
        "must be a list of codes",
    ),
    "an unknown condition code": (
        dict(patient=condition(code="brun")),
        "conditions",
        "Unknown condition code 'brun'.",
    ),
    "an unknown attribute": (
        dict(patient=condition(attributes={"tbsa": 10})),
        "conditions",
        "Condition 'burn' attribute 'tbsa': Unknown attribute 'tbsa' for Burn injury",
    ),
    "an attribute out of range": (
        dict(patient=condition(attributes={"tbsa_percent": 150})),
        "conditions",
        "Condition 'burn' attribute 'tbsa_percent': 150 is above the maximum of 100 %.",
    ),
    "a naive onset": (
        dict(patient=condition(onset=NAIVE_ONSET)),
        "conditions",
        "Onset of condition 'burn' (2026-11-20T08:00:00) has no time-zone offset.",
    ),
    "an onset that is not a time": (
        dict(patient=condition(onset="yesterday")),
        "conditions",
        "Onset of condition 'burn' must be a date or a date-time, not 'yesterday'.",
    ),
    "an onset certainly after the evaluation": (
        dict(patient=condition(onset=dt.date(2026, 11, 25))),
        "conditions",
        "Condition 'burn' has its onset (2026-11-25) after the evaluation time.",
    ),
    "a resolution before the onset": (
        dict(patient=condition(onset=dt.date(2026, 11, 17), resolved=dt.date(2026, 11, 16))),
        "conditions",
        "Condition 'burn' is resolved (2026-11-16) before its onset (2026-11-17).",
    ),
    "a resolution instant before the onset instant": (
        dict(patient=condition(onset=hours_before(5), resolved=hours_before(6))),
        "conditions",
        "Condition 'burn' is resolved (",
    ),
    "an unknown medication code": (
        dict(patient=medication(code="aspirin")),
        "medications",
        "Unknown medication code 'aspirin'.",
    ),
    "a naive medication start": (
        dict(patient=medication(started=NAIVE_START)),
        "medications",
        "Start of medication 'phenytoin' (2026-11-01T00:00:00) has no time-zone offset.",
    ),
    "a medication stopped before it started": (
        dict(patient=medication(started=dt.date(2026, 11, 10), stopped=dt.date(2026, 11, 9))),
        "medications",
        "Medication 'phenytoin' is stopped (2026-11-09) before it started",
    ),
    "an unknown receptor-state override": (
        dict(patient=state(receptor_state="sideways")),
        "receptor_state",
        "Unknown receptor state 'sideways'; expected one of up, down, mixed, normal.",
    ),
    "a weight of zero": (
        dict(patient=state(weight_kg=Decimal(0))),
        "weight_kg",
        "Weight must be above 0 and at most 1000 kg, not 0.",
    ),
    "a negative weight": (
        dict(patient=state(weight_kg=Decimal("-3.5"))),
        "weight_kg",
        "not -3.5.",
    ),
    "a weight over 1000 kg": (
        dict(patient=state(weight_kg=Decimal("1000.1"))),
        "weight_kg",
        "Weight must be above 0 and at most 1000 kg, not 1000.1.",
    ),
    "a weight given as a float": (
        dict(patient=state(weight_kg=70.5)),
        "weight_kg",
        "Weight must be a decimal number",  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize(("inputs", "field_name", "message"), REFUSED.values(), ids=list(REFUSED))
def test_it_refuses_input_naming_the_field_and_the_bad_value(
    kb: KnowledgeBase, inputs: dict[str, object], field_name: str, message: str
):
    error = refusal(
        kb,
        inputs.get("patient", state()),  # type: ignore[arg-type]
        inputs.get("drugs", ("rocuronium",)),
        inputs.get("at", AT),
    )

    assert error.field_name == field_name
    assert message in error.message


@pytest.mark.parametrize("weight", ["0.01", "1000"])
def test_it_accepts_a_weight_at_either_end_of_the_range(kb: KnowledgeBase, weight: str):
    evaluation = evaluate(state(weight_kg=Decimal(weight)), ["rocuronium"], AT, kb)

    assert evaluation.cautions[0].drug == "rocuronium"


def test_it_accepts_a_resolution_date_on_the_onset_date(kb: KnowledgeBase):
    patient = condition(onset=dt.date(2026, 11, 17), resolved=dt.date(2026, 11, 17))

    assert evaluate(patient, ["rocuronium"], AT, kb).cautions[0].drug == "rocuronium"


def test_it_accepts_an_onset_date_that_is_today(kb: KnowledgeBase):
    patient = condition(onset=dt.date(2026, 11, 22))

    assert evaluate(patient, ["rocuronium"], AT, kb).cautions[0].drug == "rocuronium"


def test_check_condition_attributes_returns_nothing_for_valid_attributes(kb: KnowledgeBase):
    attributes = {"antibody": "musk", "distribution": "ocular", "in_remission": False}

    assert check_condition_attributes(kb, "myasthenia-gravis", attributes) == {}
    assert check_condition_attributes(kb, "burn", {"tbsa_percent": Decimal("12.5")}) == {}


def test_check_condition_attributes_names_each_bad_attribute(kb: KnowledgeBase):
    errors = check_condition_attributes(
        kb,
        "myasthenia-gravis",
        {"antibody": "achr-positive", "in_remission": 1, "colour": "blue"},
    )

    assert errors == {
        "antibody": "'achr-positive' is not one of achr, musk, seronegative, unknown.",
        "in_remission": "1 is not true or false.",
        "colour": "Unknown attribute 'colour' for Myasthenia gravis; allowed: antibody, "
        "distribution, in_remission.",
    }


def test_check_condition_attributes_goes_on_after_an_unknown_attribute(kb: KnowledgeBase):
    errors = check_condition_attributes(
        kb, "myasthenia-gravis", {"colour": "blue", "in_remission": 1}
    )

    assert set(errors) == {"colour", "in_remission"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "true is not a number."),
        ("10", "'10' is not a number."),
        (float("nan"), "nan is not a number."),
        (Decimal("Infinity"), "Infinity is not a number."),
        (-1, "-1 is below the minimum of 0 %."),
        (100.5, "100.5 is above the maximum of 100 %."),
    ],
)
def test_check_condition_attributes_accepts_only_real_numbers_in_range(
    kb: KnowledgeBase, value: object, message: str
):
    assert check_condition_attributes(kb, "burn", {"tbsa_percent": value}) == {
        "tbsa_percent": message
    }


def test_check_condition_attributes_refuses_an_unknown_condition(kb: KnowledgeBase):
    with pytest.raises(EngineInputError, match="Unknown condition code 'brun'"):
        check_condition_attributes(kb, "brun", {})
