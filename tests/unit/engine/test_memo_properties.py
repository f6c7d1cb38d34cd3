"""Remembered results never change an evaluation.

The engine keeps results that are pure functions of their key across evaluations (findings,
candidate rules, each drug's card, each plan's cards, cards and texts edited for rated-out
drugs, joined advice), each rule's result for patients alike in all but times, each memo
cleared when full. Whatever is remembered, and however often a memo is cleared, a patient's
evaluation must be the one a fresh process would give.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    DrugCaution,
    EngineInputError,
    Level,
    MedicationInput,
    PatientState,
    card_text,
    evaluate,
    matching,
)
from periop.drugs.engine.evaluate import _cautions, _field_replacer, _offered_only, _resolved
from periop.drugs.engine.knowledge import Rule
from tests.unit.engine.test_card_properties import rating_out_cases
from tests.unit.engine.test_properties import (
    AT,
    KB,
    SETTINGS,
    patients,
    patients_firing,
    planned_drugs,
    pytestmark,
)

__all__ = ["pytestmark"]


def _forget_everything() -> None:
    assert KB is not None
    KB.index.finding_memo.clear()
    KB.index.candidate_memo.clear()
    KB.index.editor_memo.clear()
    KB.index.caution_memo.clear()
    KB.index.base_memo.clear()
    KB.index.drug_cards_memo.clear()
    KB.index.plan_cards_memo.clear()
    KB.index.weighed_memo.clear()
    card_text._without.cache_clear()
    card_text._unrepeated.cache_clear()


@contextlib.contextmanager
def _memos_of_one_entry() -> Iterator[None]:
    """Every memo cleared whenever it holds one entry: the most forgetful server."""
    with (
        mock.patch.object(matching, "_MEMO_LIMIT", 1),
        mock.patch.object(matching, "CARDS_PER_DRUG", 1),
        mock.patch.object(matching, "CAUTIONS_PER_PLAN", 1),
        mock.patch.object(card_text, "_EDITORS", 1),
        mock.patch.object(card_text, "_EDITED", 1),
    ):
        yield


@SETTINGS
@given(case=rating_out_cases(), earlier=rating_out_cases())
def test_an_evaluation_is_the_same_whatever_earlier_evaluations_left_in_memory(
    case: tuple[PatientState, list[str]], earlier: tuple[PatientState, list[str]]
):
    assert KB is not None
    patient, drugs = case
    _forget_everything()
    fresh = evaluate(patient, drugs, AT, KB)

    # Warm: another patient first, then this one twice.
    evaluate(earlier[0], earlier[1], AT, KB)
    assert evaluate(patient, drugs, AT, KB) == fresh
    assert evaluate(patient, drugs, AT, KB) == fresh

    with _memos_of_one_entry():
        evaluate(earlier[0], earlier[1], AT, KB)
        assert evaluate(patient, drugs, AT, KB) == fresh


# Evaluation times from the reference time to three years after it (every generated onset and
# start lies before them), most within sixty days, where the phases and windows lie thick.
LATER = st.one_of(st.integers(0, 60 * 24), st.integers(0, 3 * 366 * 24)).map(
    lambda hours: AT + dt.timedelta(hours=hours)
)
# The rules that read a clock: phases, or a window since a medication's start or stop.
CLOCKED_RULES = [
    rule
    for rule in (KB.rules if KB is not None else ())
    if rule.phases or rule.when.medication_hours is not None
]


def _as_fresh_after(
    earlier: tuple[PatientState, dt.datetime],
    patient: PatientState,
    at: dt.datetime,
    drugs: list[str],
) -> None:
    """`patient` at `at`, evaluated right after the `earlier` patient and time, is what a
    fresh process gives. Rules that read no clock share their results between patients alike
    in everything else (matching.Context.facts): an earlier evaluation must never lend a
    result that the time or the difference changes."""
    assert KB is not None
    _forget_everything()
    fresh = evaluate(patient, drugs, at, KB)
    _forget_everything()
    evaluate(earlier[0], drugs, earlier[1], KB)
    assert evaluate(patient, drugs, at, KB) == fresh


@SETTINGS
@given(patient=patients(), drugs=planned_drugs(), first=LATER, then=LATER)
def test_the_same_patient_at_another_time_is_evaluated_as_a_fresh_process_would(
    patient: PatientState, drugs: list[str], first: dt.datetime, then: dt.datetime
):
    _as_fresh_after((patient, first), patient, then, drugs)


@SETTINGS
@given(rule=st.sampled_from(CLOCKED_RULES), data=st.data(), first=LATER, then=LATER)
def test_a_rule_with_a_clock_is_evaluated_afresh_at_every_time(
    rule: Rule, data: st.DataObject, first: dt.datetime, then: dt.datetime
):
    patient, companions = data.draw(patients_firing(rule))
    drugs = [drug for drug in dict.fromkeys(companions) if drug != sorted(rule.target_drugs)[0]]
    # Anywhere in the plan: the plan's cards are kept by what every planned drug's rules with a
    # clock found (matching.PlanCards), not the first drug's alone.
    drugs.insert(data.draw(st.integers(0, len(drugs))), sorted(rule.target_drugs)[0])
    _as_fresh_after((patient, first), patient, then, drugs)


# Rules that name several conditions or medications: a patient with one of them and a twin
# with another, alike in all else, fire the same rule with different triggers.
SEVERAL = [
    rule
    for rule in (KB.rules if KB is not None else ())
    if len(rule.when.conditions) > 1 or len(rule.when.medication_codes) > 1
]


@st.composite
def twins(draw: st.DrawFn) -> tuple[PatientState, PatientState, list[str]]:
    """A patient, a twin alike in every time and value but for one condition's or one
    medication's code (two a rule names alike, when the attributes allow), and drugs."""
    assert KB is not None
    patient = draw(patients())
    rule = draw(st.sampled_from(SEVERAL))
    drugs = list(dict.fromkeys([*draw(planned_drugs()), sorted(rule.target_drugs)[0]]))
    onset = draw(st.sampled_from([AT - dt.timedelta(days=3), (AT - dt.timedelta(days=400)).date()]))
    if len(rule.when.medication_codes) > 1:
        codes = sorted(rule.when.medication_codes)
        started = AT - dt.timedelta(hours=draw(st.integers(1, 2000)))
        first, second = draw(st.lists(st.sampled_from(codes), min_size=2, max_size=2, unique=True))
        pair = [
            dataclasses.replace(
                patient, medications=(*patient.medications, MedicationInput(code, started))
            )
            for code in (first, second)
        ]
    else:
        first, second = draw(
            st.lists(st.sampled_from(rule.when.conditions), min_size=2, max_size=2, unique=True)
        )
        pair = [
            dataclasses.replace(
                patient, conditions=(*patient.conditions, ConditionInput(code, onset, None, {}))
            )
            for code in (first, second)
        ]
    return pair[0], pair[1], drugs


@SETTINGS
@given(case=twins())
def test_a_patient_alike_but_for_a_code_is_evaluated_as_a_fresh_process_would(
    case: tuple[PatientState, PatientState, list[str]],
):
    patient, twin, drugs = case
    _as_fresh_after((patient, AT), twin, AT, drugs)


@SETTINGS
@given(patient=patients(), first=planned_drugs(), then=planned_drugs(), data=st.data())
def test_a_patient_planned_with_other_drugs_is_evaluated_as_a_fresh_process_would(
    patient: PatientState, first: list[str], then: list[str], data: st.DataObject
):
    """A drug's card is shared by patients alike in all but times only when planned with the
    same drugs: another drug planned beside it can satisfy a rule's present requirement, or
    name an alternative, that it did not before."""
    assert KB is not None
    shared = data.draw(st.sampled_from(first))
    then = list(dict.fromkeys([shared, *then]))
    _forget_everything()
    fresh = evaluate(patient, then, AT, KB)
    _forget_everything()
    evaluate(patient, first, AT, KB)
    assert evaluate(patient, then, AT, KB) == fresh


@SETTINGS
@given(patient=patients(), drugs=planned_drugs(), data=st.data())
def test_the_same_drugs_planned_in_another_order_are_evaluated_as_a_fresh_process_would(
    patient: PatientState, drugs: list[str], data: st.DataObject
):
    """The cautions come in the order the drugs are planned: a plan's cards are shared only by
    plans in the same order."""
    assert KB is not None
    then = data.draw(st.permutations(drugs))
    _forget_everything()
    fresh = evaluate(patient, then, AT, KB)
    _forget_everything()
    evaluate(patient, drugs, AT, KB)
    again = evaluate(patient, then, AT, KB)
    assert again == fresh
    assert [caution.drug for caution in again.cautions] == then


@pytest.mark.parametrize(
    "plan", [["succinylcholine", "rocuronium"], ["rocuronium", "succinylcholine"]]
)
def test_a_plan_is_matched_again_for_every_planned_drug_s_rules_with_a_clock(plan: list[str]):
    """A stroke with a motor deficit: succinylcholine's denervation window moves from monitor
    through avoid and contraindicated to avoid with the hours since onset, whichever place in
    the plan succinylcholine has (rocuronium has no such rule)."""
    assert KB is not None
    stroke = PatientState(
        conditions=(ConditionInput("stroke", AT, None, {"motor_deficit": True}),),
    )
    levels = []
    _forget_everything()
    for hours in (10, 30, 100, 5000):
        at = AT + dt.timedelta(hours=hours)
        remembered = evaluate(stroke, plan, at, KB)
        _forget_everything()
        assert evaluate(stroke, plan, at, KB) == remembered
        levels.append(next(c.level for c in remembered.cautions if c.drug == "succinylcholine"))
    assert levels == [Level.MONITOR, Level.AVOID, Level.CONTRAINDICATED, Level.AVOID]


# A myasthenic patient of unknown antibody who takes pyridostigmine: it is spared the cautious
# reading of the antibody once its course counts as chronic (240 hours; tolerated.py), a time
# that nothing else the rules read of the patient tells.
CHRONIC_HOURS = st.integers(1, 480) | st.sampled_from([239, 240, 241])


@SETTINGS
@given(first=CHRONIC_HOURS, then=CHRONIC_HOURS)
def test_a_medication_turning_chronic_is_evaluated_as_a_fresh_process_would(first: int, then: int):
    def taking_for(hours: int) -> PatientState:
        return PatientState(
            conditions=(ConditionInput("myasthenia-gravis", dt.date(2020, 1, 1), None, {}),),
            medications=(MedicationInput("pyridostigmine", AT - dt.timedelta(hours=hours)),),
        )

    _as_fresh_after((taking_for(first), AT), taking_for(then), AT, ["pyridostigmine"])


def test_a_tolerated_medication_is_spared_only_once_chronic():
    """What the property above relies on: the two sides of 240 hours differ in the card."""
    assert KB is not None
    cards = []
    for hours in (239, 241):
        _forget_everything()
        patient = PatientState(
            conditions=(ConditionInput("myasthenia-gravis", dt.date(2020, 1, 1), None, {}),),
            medications=(MedicationInput("pyridostigmine", AT - dt.timedelta(hours=hours)),),
        )
        cards.append(evaluate(patient, ["pyridostigmine"], AT, KB).cautions[0])
    assert cards[0].level > cards[1].level
    assert "is not applied" in cards[1].assumptions[0]


def _with(*codes: str) -> PatientState:
    onset = AT - dt.timedelta(days=10)
    return PatientState(
        conditions=tuple(ConditionInput(code, onset, None, {}) for code in codes), medications=()
    )


# Each rates a different set of the planned drugs out, so each needs its own card editor.
RATING_OUT = (("stroke",), ("myasthenia-gravis",), ("stroke", "myasthenia-gravis"))
PLANNED = ["succinylcholine", "neostigmine", "sugammadex", "rocuronium"]


def test_each_memo_remembers_and_stays_within_its_bound():
    assert KB is not None
    _forget_everything()
    for codes in RATING_OUT:
        evaluate(_with(*codes), PLANNED, AT, KB)
    assert len(KB.index.editor_memo) == len(RATING_OUT)
    assert len(KB.index.candidate_memo) >= len(RATING_OUT)
    assert KB.index.finding_memo
    assert len(KB.index.base_memo) == len(RATING_OUT)
    assert len(KB.index.plan_cards_memo) == len(RATING_OUT)
    # Remembered, not rebuilt: the same patient again gets the very cards of the first time,
    # their rated-out advice edited once.
    patient = _with(*RATING_OUT[-1])
    first = evaluate(patient, PLANNED, AT, KB).cautions
    again = evaluate(patient, PLANNED, AT, KB).cautions
    assert [card is same for card, same in zip(first, again, strict=True)] == [True] * len(PLANNED)

    _forget_everything()
    with _memos_of_one_entry():
        for codes in RATING_OUT:
            evaluate(_with(*codes), PLANNED, AT, KB)
            # Within the bound after every evaluation, not only after the last one.
            assert len(KB.index.editor_memo) == 1
            assert len(KB.index.caution_memo) == 1
            assert len(KB.index.candidate_memo) == 1
            assert len(KB.index.finding_memo) == 1
            assert len(KB.index.base_memo) == 1
            assert len(KB.index.drug_cards_memo) == 1
            assert len(KB.index.plan_cards_memo) == 1
            ((_, plan),) = KB.index.plan_cards_memo.values()
            assert isinstance(plan, matching.PlanCards)
            assert len(plan.by_found) == 1
            assert len(KB.index.weighed_memo) <= 1
            ((_, cards),) = KB.index.drug_cards_memo.values()
            assert isinstance(cards, matching.DrugCards)
            assert len(cards.by_found) == 1
            (editor,) = KB.index.editor_memo.values()
            assert len(editor._edited) == 1
            assert len(editor._cards) == 1


def test_a_replaced_field_keeps_every_other_field_as_dataclasses_replace_does():
    # The weighed dose is set on a remembered card by a faster replace; it must copy every
    # other field, including any a later version adds.
    replacer = _field_replacer
    assert KB is not None
    patient = _with("stroke", "myasthenia-gravis")
    for caution in evaluate(patient, PLANNED, AT, KB).cautions:
        for field in dataclasses.fields(caution):
            value = object()
            expected = dataclasses.replace(caution, **{field.name: value})
            assert replacer(type(caution), field.name)(caution, value) == expected


def test_a_field_replacer_refuses_a_class_with_a_field_its_constructor_does_not_set():
    @dataclasses.dataclass(frozen=True)
    class Derived:
        given: int
        derived: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="Derived has a field its constructor does not set"):
        _field_replacer(Derived, "given")


@SETTINGS
@given(case=rating_out_cases())
def test_a_patient_evaluated_again_gets_the_same_cards(
    case: tuple[PatientState, list[str]],
):
    """Cards are shared between evaluations alike in findings (and weight), the cards whose
    alternatives were narrowed and those with a dose in mg for the weight included, so that a
    check's answer reuses what it wrote for them."""
    assert KB is not None
    patient, drugs = case
    first = evaluate(patient, drugs, AT, KB)
    again = evaluate(patient, drugs, AT, KB)
    assert again == first
    shared = zip(first.cautions, again.cautions, strict=True)
    assert [after is before for before, after in shared] == [True] * len(drugs)


WEIGHTS = st.decimals("2", "250", places=2)


@SETTINGS
@given(case=rating_out_cases(), first=WEIGHTS, then=WEIGHTS)
def test_a_patient_of_another_weight_is_evaluated_as_a_fresh_process_would(
    case: tuple[PatientState, list[str]], first: Decimal, then: Decimal
):
    """A card with a dose in mg is shared only by patients of the same weight."""
    patient, drugs = case
    _as_fresh_after(
        (dataclasses.replace(patient, weight_kg=first), AT),
        dataclasses.replace(patient, weight_kg=then),
        AT,
        drugs,
    )


def test_weights_equal_in_value_share_the_card_and_its_figures():
    assert KB is not None
    patient = PatientState(
        conditions=(ConditionInput("myasthenia-gravis", dt.date(2020, 1, 1), None, {}),),
        medications=(),
    )
    cards = [
        evaluate(
            dataclasses.replace(patient, weight_kg=Decimal(text)), ["sugammadex"], AT, KB
        ).cautions[0]
        for text in ("62", "62.00", "62.5")
    ]
    assert cards[0].dose is not None
    assert cards[0].dose.total_mg is not None
    assert cards[1] is cards[0]
    assert str(cards[1].dose.total_mg.minimum) == str(cards[0].dose.total_mg.minimum)
    assert cards[2] != cards[0]


def test_a_card_narrowed_to_other_alternatives_is_another_card():
    assert KB is not None
    card = DrugCaution(
        drug="succinylcholine",
        drug_class="depolarizing-blocker",
        level=Level.CONTRAINDICATED,
        effects=(),
        conflict=False,
        summary="",
        findings=(),
        dose=None,
        monitoring="",
        reversal="",
        assumptions=(),
        alternatives=("rocuronium", "cisatracurium"),
    )
    offered_one = {"rocuronium": card}
    offered_other = {"cisatracurium": card}
    one = _offered_only(card, offered_one, KB)
    other = _offered_only(card, offered_other, KB)
    assert one.alternatives == ("rocuronium",)
    assert other.alternatives == ("cisatracurium",)
    assert _offered_only(card, offered_one, KB) is one
    assert _offered_only(card, {**offered_one, **offered_other}, KB) is card


@SETTINGS
@given(patient=patients(), first=planned_drugs(), more=planned_drugs())
def test_the_same_patient_with_more_drugs_planned_gets_the_cautions_of_a_fresh_context(
    patient: PatientState, first: list[str], more: list[str]
):
    """The alternatives are rated for the same patient at the same time with more drugs
    planned (`Context.with_planned`): every rule's target-independent result is shared, and
    what depends on the drugs planned (present requirements, candidates, cards) is not."""
    assert KB is not None
    planned = tuple(first)
    everything = tuple(dict.fromkeys([*first, *more]))
    try:
        context, weight = _resolved(patient, planned, AT, KB)
    except EngineInputError:
        return
    _cautions(context, weight)
    widened = _cautions(context.with_planned(everything), weight)
    _forget_everything()
    fresh, _ = _resolved(patient, everything, AT, KB)
    assert widened == _cautions(fresh, weight)
