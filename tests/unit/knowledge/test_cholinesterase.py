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
