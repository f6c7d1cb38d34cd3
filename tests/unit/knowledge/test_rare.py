"""Stiff-person syndrome and Isaacs syndrome rows of the §5 matrix."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    MONITOR,
    NONE,
    ago,
    assert_matrix_cell,
    condition,
    medication,
    patient,
)

STIFF_PERSON_ROW = [
    ("SUX", MONITOR, set()),
    ("AMINO", MONITOR, {"prolonged"}),
    ("BENZ", MONITOR, {"prolonged"}),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", MONITOR, set()),
]
ISAACS_ROW = [
    ("SUX", AVOID, set()),
    ("AMINO", MONITOR, set()),
    ("BENZ", MONITOR, set()),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", MONITOR, set()),
]


@pytest.mark.parametrize(("column", "level", "effects"), STIFF_PERSON_ROW)
def test_stiff_person_syndrome_gives_the_matrix_row(kb, column, level, effects):
    state = patient(condition("stiff-person-syndrome", ago(years=3)))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize(("column", "level", "effects"), ISAACS_ROW)
def test_isaacs_syndrome_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(
        kb, patient(condition("isaacs-syndrome", ago(years=3))), column, level, effects
    )


@pytest.mark.parametrize("anticonvulsant", ["carbamazepine", "phenytoin"])
def test_isaacs_syndrome_on_a_chronic_anticonvulsant_needs_an_aminosteroid_dose_change(
    kb, anticonvulsant
):
    state = patient(
        condition("isaacs-syndrome", ago(years=3)), medication(anticonvulsant, ago(years=1))
    )

    assert_matrix_cell(kb, state, "AMINO", ADJUST, {"resistance"})
