"""Non-succinylcholine cells of the up-regulating states: spinal cord injury, stroke,
Guillain-Barré syndrome, immobilisation, critical illness, sepsis and major trauma."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    MONITOR,
    NONE,
    ago,
    assert_matrix_cell,
    caution_alone,
    condition,
    patient,
)

DENERVATION_ROW = [
    ("AMINO", MONITOR, {"resistance"}),
    ("BENZ", MONITOR, {"resistance"}),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", NONE, set()),
]
GUILLAIN_BARRE_ROW = [
    ("AMINO", ADJUST, {"unpredictable"}),
    ("BENZ", ADJUST, {"unpredictable"}),
    ("MIVA", ADJUST, {"unpredictable"}),
    ("AG/PMX", AVOID, {"increased_sensitivity"}),
    ("Mg", MONITOR, set()),
    ("NEO", MONITOR, set()),
    ("SUG", MONITOR, set()),
]
IMMOBILIZATION_ROW = [
    ("AMINO", MONITOR, {"resistance"}),
    ("BENZ", MONITOR, set()),
    ("MIVA", NONE, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", NONE, set()),
    ("SUG", NONE, set()),
]
CRITICAL_ILLNESS_ROW = [
    ("AMINO", ADJUST, {"unpredictable"}),
    ("BENZ", MONITOR, {"unpredictable"}),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", MONITOR, set()),
    ("Mg", MONITOR, set()),
    ("NEO", MONITOR, set()),
    ("SUG", MONITOR, set()),
]
SEPSIS_ROW = [
    ("AMINO", MONITOR, {"resistance"}),
    ("BENZ", MONITOR, {"resistance"}),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", MONITOR, set()),
    ("Mg", NONE, set()),
    ("NEO", MONITOR, set()),
    ("SUG", MONITOR, set()),
]
TRAUMA_ROW = [
    ("AMINO", MONITOR, set()),
    ("BENZ", MONITOR, set()),
    ("MIVA", MONITOR, set()),
    ("AG/PMX", NONE, set()),
    ("Mg", NONE, set()),
    ("NEO", NONE, set()),
    ("SUG", NONE, set()),
]


@pytest.mark.parametrize("code", ["spinal-cord-injury", "stroke"])
@pytest.mark.parametrize(("column", "level", "effects"), DENERVATION_ROW)
def test_denervation_with_motor_deficit_gives_the_matrix_row(kb, code, column, level, effects):
    state = patient(condition(code, ago(days=21), motor_deficit=True))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize("code", ["spinal-cord-injury", "stroke"])
def test_denervation_without_motor_deficit_gives_no_non_depolariser_caution(kb, code):
    state = patient(condition(code, ago(days=21), motor_deficit=False))

    assert caution_alone(kb, state, "rocuronium").level == NONE


def test_hemiplegia_advises_monitoring_a_non_paretic_limb(kb):
    caution = caution_alone(kb, patient(condition("stroke", ago(days=21))), "rocuronium")

    assert "non-paretic" in caution.monitoring


@pytest.mark.parametrize(("column", "level", "effects"), GUILLAIN_BARRE_ROW)
def test_guillain_barre_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(
        kb, patient(condition("guillain-barre", ago(days=14))), column, level, effects
    )


@pytest.mark.parametrize(("column", "level", "effects"), IMMOBILIZATION_ROW)
def test_immobilisation_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(
        kb, patient(condition("immobilization", ago(days=10))), column, level, effects
    )


@pytest.mark.parametrize(("column", "level", "effects"), CRITICAL_ILLNESS_ROW)
def test_critical_illness_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(
        kb, patient(condition("critical-illness", ago(days=20))), column, level, effects
    )


def test_critical_illness_asks_for_renal_function_before_sugammadex(kb):
    caution = caution_alone(kb, patient(condition("critical-illness", ago(days=20))), "sugammadex")

    assert "creatinine clearance" in caution.monitoring


@pytest.mark.parametrize(("column", "level", "effects"), SEPSIS_ROW)
def test_severe_sepsis_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(kb, patient(condition("sepsis", ago(days=2))), column, level, effects)


@pytest.mark.parametrize(("column", "level", "effects"), TRAUMA_ROW)
def test_major_trauma_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(kb, patient(condition("major-trauma", ago(days=5))), column, level, effects)
