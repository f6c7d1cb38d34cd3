"""Hypermagnesaemia row of the §5 matrix."""

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

HYPERMAGNESAEMIA_ROW = [
    ("SUX", MONITOR, set()),
    ("AMINO", ADJUST, {"increased_sensitivity", "prolonged"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity"}),
    ("AG/PMX", AVOID, {"increased_sensitivity"}),
    ("Mg", MONITOR, set()),
    ("NEO", ADJUST, {"reduced_reversal"}),
    ("SUG", MONITOR, {"reduced_reversal"}),
]


@pytest.mark.parametrize("serum_mg_mg_dl", [3.5, 8.5, 12])
@pytest.mark.parametrize(("column", "level", "effects"), HYPERMAGNESAEMIA_ROW)
def test_hypermagnesaemia_gives_the_matrix_row_whatever_the_recorded_level(
    kb, column, level, effects, serum_mg_mg_dl
):
    state = patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=serum_mg_mg_dl))

    assert_matrix_cell(kb, state, column, level, effects)


def test_hypermagnesaemia_magnesium_caution_says_to_hold_extra_boluses(kb):
    caution = caution_alone(
        kb, patient(condition("hypermagnesemia", ago(hours=10))), "magnesium-sulfate"
    )

    assert "Hold extra boluses" in caution.monitoring


def test_corrected_hypermagnesaemia_gives_no_caution(kb):
    corrected = condition("hypermagnesemia", ago(days=3), resolved=ago(days=1))

    assert caution_alone(kb, patient(corrected), "rocuronium").level == NONE
