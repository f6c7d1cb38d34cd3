"""Butyrylcholinesterase deficiency rows of the §5 matrix, by genotype."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    MONITOR,
    NONE,
    assert_matrix_cell,
    caution_alone,
    check,
    condition,
    patient,
)

HOMOZYGOUS_ROW = [
    ("SUX", AVOID, {"prolonged"}),
    ("AMINO", NONE, set()),
    ("BENZ", NONE, set()),
    ("MIVA", AVOID, {"prolonged"}),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", NONE, set()),
]
PARTIAL_ROW = [
    ("SUX", MONITOR, {"prolonged"}),
    ("AMINO", NONE, set()),
    ("BENZ", NONE, set()),
    ("MIVA", MONITOR, {"prolonged"}),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", NONE, set()),
]


def deficiency(**attributes):
    return condition("butyrylcholinesterase-deficiency", **attributes)


@pytest.mark.parametrize(("column", "level", "effects"), HOMOZYGOUS_ROW)
def test_homozygous_deficiency_gives_the_matrix_row(kb, column, level, effects):
    state = patient(deficiency(genotype="homozygous", dibucaine_number=20))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize("genotype", ["heterozygous", "acquired"])
@pytest.mark.parametrize(("column", "level", "effects"), PARTIAL_ROW)
def test_heterozygous_or_acquired_deficiency_gives_the_matrix_row(
    kb, column, level, effects, genotype
):
    assert_matrix_cell(kb, patient(deficiency(genotype=genotype)), column, level, effects)


@pytest.mark.parametrize("attributes", [{"genotype": "unknown"}, {}])
def test_unknown_genotype_is_treated_as_homozygous(kb, attributes):
    caution = caution_alone(kb, patient(deficiency(**attributes)), "succinylcholine")

    assert caution.level == AVOID
    assert caution.assumptions


def test_homozygous_deficiency_gives_the_label_test_dose_of_5_to_10_mg(kb):
    state = patient(deficiency(genotype="homozygous"), weight_kg="70")

    dose = caution_alone(kb, state, "succinylcholine").dose

    assert (dose.total_mg.minimum, dose.total_mg.maximum) == (Decimal("5"), Decimal("10"))
    assert dose.per_kg_mg is None


def bche(**attributes):
    return patient(condition("butyrylcholinesterase-deficiency", **attributes))


def check_assumptions(kb, state):
    return check(kb, state, ("succinylcholine",)).assumptions


# §6.9, dibucaine 20 (Ea:Ea) and §12.9, dibucaine under 30: homozygous atypical, AV (S154, S156).
@pytest.mark.parametrize("dibucaine_number", [0, 16, 20, 29])
@pytest.mark.parametrize(("column", "level", "effects"), HOMOZYGOUS_ROW)
def test_dibucaine_number_under_30_without_genotype_gives_the_homozygous_row(
    kb, dibucaine_number, column, level, effects
):
    assert_matrix_cell(kb, bche(dibucaine_number=dibucaine_number), column, level, effects)


# §6.9, dibucaine 60 (Eu:Ea) and §12.9, dibucaine 30-79: heterozygous, MO (S154, S156).
@pytest.mark.parametrize("dibucaine_number", [30, 60, 79])
@pytest.mark.parametrize(("column", "level", "effects"), PARTIAL_ROW)
def test_dibucaine_number_30_to_79_without_genotype_gives_the_heterozygous_row(
    kb, dibucaine_number, column, level, effects
):
    assert_matrix_cell(kb, bche(dibucaine_number=dibucaine_number), column, level, effects)


# §12.9, dibucaine 80 or more with low activity: acquired deficiency, MO (S154).
@pytest.mark.parametrize("dibucaine_number", [80, 85])
@pytest.mark.parametrize(("column", "level", "effects"), PARTIAL_ROW)
def test_dibucaine_number_of_80_or_more_without_genotype_gives_the_acquired_row(
    kb, dibucaine_number, column, level, effects
):
    assert_matrix_cell(kb, bche(dibucaine_number=dibucaine_number), column, level, effects)


# §12.9: the reading from the dibucaine number is reported as an assumption.
def test_genotype_read_from_the_dibucaine_number_is_reported(kb):
    caution = caution_alone(kb, bche(dibucaine_number=60), "succinylcholine")

    assert any(
        "genotype not recorded; read as 'heterozygous' from dibucaine number 60" in note
        for note in check_assumptions(kb, bche(dibucaine_number=60))
    )
    assert caution.level == MONITOR


# §12.9: the cut-offs are whole numbers (one laboratory's, U); a value between them implies no
# genotype, so the unrecorded genotype keeps the cautious homozygous reading (§5 homozygous, AV).
@pytest.mark.parametrize("dibucaine_number", [29.5, 79.5])
def test_dibucaine_number_between_cut_offs_keeps_the_cautious_reading(kb, dibucaine_number):
    assert_matrix_cell(kb, bche(dibucaine_number=dibucaine_number), "SUX", AVOID, {"prolonged"})


# §6.9/§12.9: dibucaine 18 is homozygous atypical (AV) while "heterozygous" is MO; the two
# contradict each other, the most cautious reading (AV) applies and the assumption names both.
@pytest.mark.parametrize("column", ["SUX", "MIVA"])
def test_dibucaine_number_contradicting_a_heterozygous_genotype_gives_the_cautious_level(
    kb, column
):
    state = bche(dibucaine_number=18, genotype="heterozygous")

    assert_matrix_cell(kb, state, column, AVOID, {"prolonged"})
    drug = "succinylcholine" if column == "SUX" else "mivacurium"
    caution = caution_alone(kb, state, drug)
    assert any(
        "genotype 'heterozygous' contradicts dibucaine number 18" in note
        for note in caution.assumptions
    )


# §6.9/§12.9: a homozygous genotype recorded with a normal dibucaine number (85) contradicts it;
# the homozygous level (AV) is kept and the contradiction reported.
def test_dibucaine_number_contradicting_a_homozygous_genotype_keeps_the_homozygous_level(kb):
    state = bche(dibucaine_number=85, genotype="homozygous")

    caution = caution_alone(kb, state, "succinylcholine")

    assert caution.level == AVOID
    assert any("contradicts dibucaine number 85" in note for note in check_assumptions(kb, state))


# §6.9: a dibucaine number that agrees with the genotype adds no assumption (V10: DN 20, Ea:Ea).
def test_dibucaine_number_agreeing_with_the_genotype_adds_no_assumption(kb):
    state = bche(dibucaine_number=20, genotype="homozygous")

    assert not [note for note in check_assumptions(kb, state) if "dibucaine" in note]
    assert caution_alone(kb, state, "succinylcholine").level == AVOID
