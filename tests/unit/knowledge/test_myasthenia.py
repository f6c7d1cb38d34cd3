"""Myasthenia gravis rows of the §5 matrix (generalised, ocular, MuSK, penicillamine-induced)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    ago,
    assert_matrix_cell,
    caution_alone,
    condition,
    patient,
)

GENERALISED_ROW = [
    ("SUX", ADJUST, {"resistance", "unpredictable"}),
    ("AMINO", ADJUST, {"increased_sensitivity"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity", "prolonged"}),
    ("AG/PMX", AVOID, {"increased_sensitivity", "worsens_disease"}),
    # §5 gives AV; §12.6 flags the magnesium label's CI in MG (S139, A) as a conflict, and the
    # more restrictive reading (§1.3) is taken.
    ("Mg", CONTRAINDICATED, {"worsens_disease"}),
    ("NEO", ADJUST, {"cholinergic", "reduced_reversal"}),
    ("SUG", MONITOR, set()),
]
OCULAR_ROW = [
    ("SUX", MONITOR, {"unpredictable"}),
    ("AMINO", ADJUST, {"increased_sensitivity"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity"}),
    ("AG/PMX", AVOID, {"increased_sensitivity", "worsens_disease"}),
    # §5 gives AV; §12.6 flags the magnesium label's CI in MG (S139, A) as a conflict, and the
    # more restrictive reading (§1.3) is taken.
    ("Mg", CONTRAINDICATED, {"worsens_disease"}),
    ("NEO", ADJUST, {"cholinergic", "reduced_reversal"}),
    ("SUG", MONITOR, set()),
]
# MuSK myasthenia is generalised here; the MuSK-specific rules add to the generalised ones.
MUSK_ROW = [
    ("SUX", ADJUST, {"resistance", "unpredictable"}),
    ("AMINO", ADJUST, {"increased_sensitivity"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity", "prolonged"}),
    ("AG/PMX", AVOID, {"increased_sensitivity", "worsens_disease"}),
    # §5 gives AV; §12.6 flags the magnesium label's CI in MG (S139, A) as a conflict, and the
    # more restrictive reading (§1.3) is taken.
    ("Mg", CONTRAINDICATED, {"worsens_disease"}),
    ("NEO", AVOID, {"cholinergic", "reduced_reversal"}),
    ("SUG", MONITOR, set()),
]


def myasthenia(**attributes):
    return condition("myasthenia-gravis", ago(years=2), **attributes)


@pytest.mark.parametrize(("column", "level", "effects"), GENERALISED_ROW)
def test_generalised_acetylcholine_receptor_myasthenia_gives_the_matrix_row(
    kb, column, level, effects
):
    state = patient(myasthenia(antibody="achr", distribution="generalized"))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize(("column", "level", "effects"), OCULAR_ROW)
def test_ocular_myasthenia_gives_the_matrix_row(kb, column, level, effects):
    state = patient(myasthenia(antibody="achr", distribution="ocular"))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize(("column", "level", "effects"), MUSK_ROW)
def test_musk_myasthenia_gives_the_matrix_row(kb, column, level, effects):
    state = patient(myasthenia(antibody="musk"))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize(("column", "level", "effects"), GENERALISED_ROW)
def test_penicillamine_induced_myasthenia_is_treated_as_generalised_myasthenia(
    kb, column, level, effects
):
    state = patient(condition("penicillamine-myasthenia", ago(days=90)))

    assert_matrix_cell(kb, state, column, level, effects)


def test_distribution_defaults_to_generalised(kb):
    caution = caution_alone(kb, patient(myasthenia(antibody="achr")), "succinylcholine")

    assert caution.level == ADJUST
    assert "sux-mg-resistance" in {finding.rule for finding in caution.findings}


def test_unknown_antibody_is_read_as_possibly_musk_so_neostigmine_is_avoided(kb):
    caution = caution_alone(kb, patient(myasthenia(antibody="unknown")), "neostigmine")

    assert caution.level == AVOID
    assert any("unknown" in note for note in caution.assumptions)


def test_unrecorded_antibody_is_read_as_possibly_musk(kb):
    assert caution_alone(kb, patient(myasthenia()), "neostigmine").level == AVOID


def test_seronegative_myasthenia_keeps_the_neostigmine_dose_change(kb):
    assert (
        caution_alone(kb, patient(myasthenia(antibody="seronegative")), "neostigmine").level
        == ADJUST
    )


def test_myasthenia_gives_the_double_succinylcholine_teaching_dose(kb):
    state = patient(myasthenia(antibody="achr"), weight_kg="62")

    dose = caution_alone(kb, state, "succinylcholine").dose

    assert (dose.per_kg_mg.minimum, dose.per_kg_mg.maximum) == (Decimal("1.5"), Decimal("2.0"))
    assert (dose.total_mg.minimum, dose.total_mg.maximum) == (Decimal("93.0"), Decimal("124.0"))


def test_myasthenia_gives_about_half_the_rapid_sequence_rocuronium_dose(kb):
    state = patient(myasthenia(antibody="achr"), weight_kg="62")

    dose = caution_alone(kb, state, "rocuronium").dose

    assert (dose.per_kg_mg.minimum, dose.per_kg_mg.maximum) == (Decimal("0.5"), Decimal("0.6"))
    assert (dose.total_mg.minimum, dose.total_mg.maximum) == (Decimal("31.0"), Decimal("37.2"))


def test_vecuronium_dose_guidance_in_myasthenia_is_text_without_invented_figures(kb):
    dose = caution_alone(kb, patient(myasthenia(antibody="achr")), "vecuronium").dose

    assert "56 %" in dose.text
    assert dose.per_kg_mg is None


def test_neostigmine_dose_in_myasthenia_is_capped_at_five_milligrams(kb):
    state = patient(myasthenia(antibody="achr"), weight_kg="100")

    dose = caution_alone(kb, state, "neostigmine").dose

    assert (dose.per_kg_mg.minimum, dose.per_kg_mg.maximum) == (Decimal("0.03"), Decimal("0.07"))
    assert dose.total_mg.maximum == Decimal("5.0")


def test_sugammadex_dose_in_myasthenia_follows_the_depth_of_block(kb):
    dose = caution_alone(kb, patient(myasthenia(antibody="achr")), "sugammadex").dose

    assert (dose.per_kg_mg.minimum, dose.per_kg_mg.maximum) == (Decimal("2"), Decimal("16"))


def test_myasthenia_advises_sugammadex_for_reversal_of_rocuronium(kb):
    caution = caution_alone(kb, patient(myasthenia(antibody="achr")), "rocuronium")

    assert "ugammadex" in caution.reversal


def test_ocular_myasthenia_non_depolariser_rules_are_flagged_unconfirmed(kb):
    caution = caution_alone(
        kb, patient(myasthenia(distribution="ocular", antibody="achr")), "rocuronium"
    )

    assert [finding.unconfirmed for finding in caution.findings] == [True]


def test_resolved_myasthenia_keeps_its_aminosteroid_caution_and_says_why(kb):
    # §5, MG x AMINO: DA (S19, S24). §3 row 1 and §6.1 give no end to the receptor loss after
    # a recorded resolution (only "may" lose SCh resistance in remission, S21), so the most
    # cautious reading keeps DA and reports the assumption.
    resolved = condition("myasthenia-gravis", ago(years=5), resolved=ago(years=1), antibody="achr")

    caution = caution_alone(kb, patient(resolved), "rocuronium")

    assert caution.level == ADJUST
    assert any(
        note.startswith("Myasthenia gravis: resolved") and "no source states" in note
        for note in caution.assumptions
    )


def test_ocular_myasthenia_recorded_first_does_not_hide_penicillamine_induced_myasthenia(kb):
    # §5: penicillamine-induced MG is as MG generalised: SUX DA (resistance).
    ocular = myasthenia(distribution="ocular", antibody="achr")
    induced = condition("penicillamine-myasthenia", ago(days=90))

    caution = caution_alone(kb, patient(ocular, induced), "succinylcholine")

    assert caution.level == ADJUST
    assert "resistance" in caution.effects
