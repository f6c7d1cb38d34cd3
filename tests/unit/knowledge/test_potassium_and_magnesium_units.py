"""Vocabulary v1.1: serum potassium (clinical-reference.md §12.1) and serum magnesium in mmol/L
or mEq/L (§12.9)."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    ago,
    caution_alone,
    check,
    condition,
    patient,
    rules_of,
)

# --- §12.1 serum potassium -----------------------------------------------------------------


# §12.1: SUX with pre-existing hyperkalaemia: CI per the Swiss label (B: S100), HYPERK; S99 (A)
# conflicts and the more cautious reading is taken. No threshold: CI at any recorded value.
@pytest.mark.parametrize("potassium", [None, 5.2, 5.5, 7.1])
def test_pre_existing_hyperkalaemia_contraindicates_succinylcholine(kb, potassium):
    attributes = {} if potassium is None else {"serum_potassium_mmol_l": potassium}
    state = patient(condition("hyperkalemia", ago(hours=6), **attributes))

    caution = caution_alone(kb, state, "succinylcholine")

    assert (caution.level, caution.effects) == (CONTRAINDICATED, ("hyperkalemia",))
    assert "sux-preexisting-hyperkalemia" in rules_of(caution)


# §12.1: hyperkalaemia does not caution the non-depolarisers (no row gives a level).
def test_hyperkalaemia_does_not_caution_rocuronium(kb):
    state = patient(condition("hyperkalemia", ago(hours=6), serum_potassium_mmol_l=6.0))

    assert caution_alone(kb, state, "rocuronium").level < MONITOR


# §12.1: renal impairment, K+ under 5.5 mmol/L: single dose MO, HYPERK (B: S100, S97).
def test_renal_impairment_with_potassium_under_5_5_gives_monitor(kb):
    state = patient(condition("renal-impairment", ago(years=1), serum_potassium_mmol_l=5.4))

    caution = caution_alone(kb, state, "succinylcholine")

    assert (caution.level, caution.effects) == (MONITOR, ("hyperkalemia",))
    assert rules_of(caution) == {"sux-renal-impairment-single-dose"}


# §12.1: renal impairment, K+ 5.5 mmol/L or more: CI (B: S100; the 5.5 threshold is C: S101).
@pytest.mark.parametrize("potassium", [5.5, 6.3])
def test_renal_impairment_with_potassium_of_5_5_or_more_contraindicates(kb, potassium):
    state = patient(condition("renal-impairment", ago(years=1), serum_potassium_mmol_l=potassium))

    caution = caution_alone(kb, state, "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert "sux-renal-impairment-hyperkalemia" in rules_of(caution)


# §12.1 and §12.11 item 2: a potassium not recorded is read the cautious way, with the assumption.
def test_renal_impairment_without_a_potassium_is_read_cautiously_and_says_so(kb):
    state = patient(condition("renal-impairment", ago(years=1), crcl_ml_min=50))

    caution = caution_alone(kb, state, "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert any(
        "serum potassium unknown; treated the most cautious way" in note
        for note in caution.assumptions
    )


# §12.1 (S102, A): a normal potassium never switches off the up-regulation rules.
def test_a_normal_potassium_does_not_lower_the_denervation_caution(kb):
    state = patient(
        condition("spinal-cord-injury", ago(days=21)),
        condition("renal-impairment", ago(years=1), serum_potassium_mmol_l=4.0),
    )

    assert caution_alone(kb, state, "succinylcholine").level == CONTRAINDICATED


# --- §12.9 serum magnesium units -------------------------------------------------------------

# The level from which magnesium is avoided (hypermagnesemia-magnesium-paralysing-level) is
# 9.0 mg/dL; 1 mmol/L = 2.43 mg/dL and 1 mEq/L = 1.215 mg/dL (S159, S160, §12.9).


@pytest.mark.parametrize(
    ("attributes", "level"),
    [
        ({"serum_mg_mmol_l": 3.0}, MONITOR),  # 7.3 mg/dL
        ({"serum_mg_mmol_l": 3.6}, MONITOR),  # 8.7 mg/dL
        # S41a's loss of reflexes starts at 3.7 mmol/L, the source of the 9.0 mg/dL threshold.
        ({"serum_mg_mmol_l": 3.7}, AVOID),  # 8.991, rounded to 9.0 mg/dL
        ({"serum_mg_mmol_l": 4.0}, AVOID),  # 9.7 mg/dL
        ({"serum_mg_meq_l": 6.0}, MONITOR),  # 7.3 mg/dL
        ({"serum_mg_meq_l": 8.0}, AVOID),  # 9.7 mg/dL
    ],
    ids=["3.0 mmol/L", "3.6 mmol/L", "3.7 mmol/L", "4.0 mmol/L", "6.0 mEq/L", "8.0 mEq/L"],
)
def test_magnesium_in_mmol_or_meq_is_read_as_mg_dl(kb, attributes, level):
    state = patient(condition("hypermagnesemia", ago(hours=10), **attributes))

    caution = caution_alone(kb, state, "magnesium-sulfate")

    assert caution.level == level


# §12.9: one value read in two units; the assumption keeps the value as recorded.
def test_a_converted_magnesium_keeps_the_recorded_value_in_the_assumptions(kb):
    state = patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mmol_l=4.0))

    evaluation = check(kb, state, ("magnesium-sulfate",))

    assert any(
        "Serum magnesium (mmol/L) 4.0 mmol/L read as serum magnesium 9.7 mg/dL" in note
        for note in evaluation.assumptions
    )


# §12.9: the caution that avoids magnesium because of the converted value says so itself; one
# from a value recorded in mg/dL has nothing to say.
def test_the_caution_from_a_converted_magnesium_names_the_reading(kb):
    converted = caution_alone(
        kb,
        patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mmol_l=4.0)),
        "magnesium-sulfate",
    )
    recorded = caution_alone(
        kb,
        patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=9.7)),
        "magnesium-sulfate",
    )

    assert converted.level == recorded.level == AVOID
    assert [note for note in converted.assumptions if "read as" in note] == [
        "Hypermagnesaemia: Serum magnesium (mmol/L) 4.0 mmol/L read as serum magnesium 9.7 mg/dL"
        " (x 2.43: magnesium 24.305 g/mol, so 1 mmol/L = 2.43 mg/dL (S159, S160))."
    ]
    assert recorded.assumptions == ()


# §12.9: a pair that agrees changes nothing; one that disagrees keeps both readings and the most
# cautious applies, and the contradiction is named.
def test_an_agreeing_pair_of_units_is_read_once(kb):
    state = patient(
        condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=7.3, serum_mg_mmol_l=3.0)
    )

    caution = caution_alone(kb, state, "magnesium-sulfate")

    assert caution.level == MONITOR
    assert not any("contradicts" in note for note in check(kb, state, ("rocuronium",)).assumptions)


def test_a_contradictory_pair_of_units_takes_the_more_cautious_reading(kb):
    state = patient(
        condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=4.0, serum_mg_mmol_l=4.0)
    )

    caution = caution_alone(kb, state, "magnesium-sulfate")

    assert caution.level == AVOID
    assert any("contradicts the recorded 4.0 mg/dL" in note for note in caution.assumptions)
