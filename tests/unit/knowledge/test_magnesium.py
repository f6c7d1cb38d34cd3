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


# §5 Hypermagnesaemia row, below the level of neuromuscular blockade (§6.3, §12.9).
@pytest.mark.parametrize("serum_mg_mg_dl", [3.5, 8.5, 8.9])
@pytest.mark.parametrize(("column", "level", "effects"), HYPERMAGNESAEMIA_ROW)
def test_hypermagnesaemia_gives_the_matrix_row_below_a_paralysing_level(
    kb, column, level, effects, serum_mg_mg_dl
):
    state = patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=serum_mg_mg_dl))

    assert_matrix_cell(kb, state, column, level, effects)


# §5 row for every drug but magnesium, at any serum level (the blocker rules do not depend on it).
@pytest.mark.parametrize("serum_mg_mg_dl", [9.0, 12])
@pytest.mark.parametrize(
    ("column", "level", "effects"),
    [cell for cell in HYPERMAGNESAEMIA_ROW if cell[0] != "Mg"],
)
def test_hypermagnesaemia_gives_the_matrix_row_to_blockers_at_a_paralysing_level(
    kb, column, level, effects, serum_mg_mg_dl
):
    state = patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=serum_mg_mg_dl))

    assert_matrix_cell(kb, state, column, level, effects)


# §6.3/§12.9: loss of reflexes and neuromuscular blockade from 3.7 mmol/L = 9.0 mg/dL (S41a, B);
# respiratory paralysis as the level approaches 10 mEq/L = 12.2 mg/dL (S139, A). §5 gives MO
# (hold extra boluses); AV at a paralysing level is a design choice (U), so the rule is flagged.
@pytest.mark.parametrize("serum_mg_mg_dl", [9.0, 12, 16])
def test_paralysing_serum_magnesium_avoids_more_magnesium(kb, serum_mg_mg_dl):
    state = patient(condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=serum_mg_mg_dl))

    caution = caution_alone(kb, state, "magnesium-sulfate")

    assert caution.level == AVOID
    assert "hypermagnesemia-magnesium-paralysing-level" in [f.rule for f in caution.findings]
    assert all(f.unconfirmed for f in caution.findings if f.level == AVOID)


# §6.3 as above: an unrecorded level is read the cautious way, and the assumption says so.
def test_unrecorded_serum_magnesium_is_read_as_paralysing(kb):
    state = patient(condition("hypermagnesemia", ago(hours=10)))

    caution = caution_alone(kb, state, "magnesium-sulfate")

    assert caution.level == AVOID
    assert any("serum magnesium unknown" in note for note in caution.assumptions)


def test_hypermagnesaemia_magnesium_caution_says_to_hold_extra_boluses(kb):
    caution = caution_alone(
        kb, patient(condition("hypermagnesemia", ago(hours=10))), "magnesium-sulfate"
    )

    assert "Hold extra boluses" in caution.monitoring


def test_corrected_hypermagnesaemia_gives_no_caution(kb):
    corrected = condition("hypermagnesemia", ago(days=3), resolved=ago(days=1))

    assert caution_alone(kb, patient(corrected), "rocuronium").level == NONE
