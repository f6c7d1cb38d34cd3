"""Duchenne/Becker muscular dystrophy, myotonic dystrophy and malignant hyperthermia rows."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    assert_matrix_cell,
    caution_alone,
    condition,
    patient,
)

DYSTROPHY_ROW = [
    ("SUX", CONTRAINDICATED, {"hyperkalemia"}),
    ("AMINO", MONITOR, set()),
    ("BENZ", MONITOR, set()),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", AVOID, set()),
    ("SUG", MONITOR, set()),
]
MYOTONIC_ROW = [
    ("SUX", CONTRAINDICATED, {"myotonia"}),
    ("AMINO", MONITOR, {"unpredictable"}),
    ("BENZ", MONITOR, set()),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", AVOID, {"myotonia"}),
    ("SUG", MONITOR, set()),
]
MALIGNANT_HYPERTHERMIA_ROW = [
    ("SUX", CONTRAINDICATED, {"malignant_hyperthermia"}),
    ("AMINO", NONE, set()),
    ("BENZ", NONE, set()),
    ("MIVA", NONE, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", NONE, set()),
    ("SUG", NONE, set()),
]


@pytest.mark.parametrize("dystrophy_type", ["duchenne", "becker", "other"])
@pytest.mark.parametrize(("column", "level", "effects"), DYSTROPHY_ROW)
def test_muscular_dystrophy_gives_the_matrix_row(kb, column, level, effects, dystrophy_type):
    state = patient(condition("muscular-dystrophy", ago(years=10), type=dystrophy_type))

    assert_matrix_cell(kb, state, column, level, effects)


def test_muscular_dystrophy_warns_about_volatile_agents(kb):
    caution = caution_alone(
        kb, patient(condition("muscular-dystrophy", ago(years=10))), "succinylcholine"
    )

    assert "volatile" in caution.monitoring


@pytest.mark.parametrize(("column", "level", "effects"), MYOTONIC_ROW)
def test_myotonic_dystrophy_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(
        kb, patient(condition("myotonic-dystrophy", ago(years=10))), column, level, effects
    )


def test_myotonic_dystrophy_warns_that_stimulation_can_mimic_sustained_tetanus(kb):
    caution = caution_alone(
        kb, patient(condition("myotonic-dystrophy", ago(years=10))), "rocuronium"
    )

    assert "sustained tetanus" in caution.monitoring


@pytest.mark.parametrize(("column", "level", "effects"), MALIGNANT_HYPERTHERMIA_ROW)
def test_malignant_hyperthermia_susceptibility_contraindicates_only_succinylcholine(
    kb, column, level, effects
):
    state = patient(condition("malignant-hyperthermia-susceptibility"))

    assert_matrix_cell(kb, state, column, level, effects)
