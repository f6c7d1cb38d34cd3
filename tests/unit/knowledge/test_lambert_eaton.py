"""Lambert-Eaton myasthenic syndrome row of the §5 matrix."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    MONITOR,
    ago,
    assert_matrix_cell,
    caution_alone,
    condition,
    patient,
)

LAMBERT_EATON_ROW = [
    ("SUX", ADJUST, {"increased_sensitivity"}),
    ("AMINO", ADJUST, {"increased_sensitivity"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity"}),
    ("AG/PMX", AVOID, {"increased_sensitivity"}),
    ("Mg", AVOID, {"increased_sensitivity"}),
    ("NEO", ADJUST, {"reduced_reversal"}),
    ("SUG", MONITOR, set()),
]


@pytest.mark.parametrize("paraneoplastic", [True, False])
@pytest.mark.parametrize(("column", "level", "effects"), LAMBERT_EATON_ROW)
def test_lambert_eaton_gives_the_matrix_row_with_or_without_cancer(
    kb, column, level, effects, paraneoplastic
):
    state = patient(condition("lambert-eaton", ago(years=1), paraneoplastic=paraneoplastic))

    assert_matrix_cell(kb, state, column, level, effects)


def test_lambert_eaton_gives_no_invented_dose_figures(kb):
    state = patient(condition("lambert-eaton", ago(years=1)), weight_kg="70")

    for drug in ("succinylcholine", "rocuronium", "atracurium"):
        assert caution_alone(kb, state, drug).dose is None


def test_lambert_eaton_advises_the_smallest_effective_dose(kb):
    caution = caution_alone(kb, patient(condition("lambert-eaton", ago(years=1))), "rocuronium")

    assert "smallest effective dose" in caution.monitoring.lower()


def test_lambert_eaton_sugammadex_rule_is_flagged_unconfirmed(kb):
    caution = caution_alone(kb, patient(condition("lambert-eaton", ago(years=1))), "sugammadex")

    assert caution.findings[0].unconfirmed
