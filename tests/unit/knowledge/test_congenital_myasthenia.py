"""Congenital myasthenic syndrome row of the §5 matrix, by gene."""

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

GENE_INDEPENDENT_ROW = [
    ("SUX", AVOID, {"unpredictable"}),
    ("AMINO", ADJUST, {"increased_sensitivity"}),
    ("BENZ", ADJUST, {"increased_sensitivity"}),
    ("MIVA", ADJUST, {"increased_sensitivity"}),
    ("AG/PMX", AVOID, {"increased_sensitivity"}),
    ("Mg", AVOID, {"increased_sensitivity"}),
    ("SUG", MONITOR, set()),
]


def syndrome(gene=None):
    attributes = {} if gene is None else {"gene": gene}
    return condition("congenital-myasthenic-syndrome", ago(years=10), **attributes)


@pytest.mark.parametrize(("column", "level", "effects"), GENE_INDEPENDENT_ROW)
def test_congenital_myasthenia_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(kb, patient(syndrome("rapsn")), column, level, effects)


@pytest.mark.parametrize("gene", ["colq", "dok7"])
def test_colq_or_dok7_congenital_myasthenia_avoids_neostigmine(kb, gene):
    caution = caution_alone(kb, patient(syndrome(gene)), "neostigmine")

    assert caution.level == AVOID
    assert caution.effects == ("worsens_disease",)


def test_slow_channel_congenital_myasthenia_avoids_neostigmine_as_unconfirmed(kb):
    caution = caution_alone(kb, patient(syndrome("slow-channel")), "neostigmine")

    assert caution.level == AVOID
    assert caution.findings[0].unconfirmed


@pytest.mark.parametrize("gene", ["rapsn", "chrne", "fast-channel", "other"])
def test_other_genotypes_need_a_neostigmine_dose_change(kb, gene):
    caution = caution_alone(kb, patient(syndrome(gene)), "neostigmine")

    assert caution.level == ADJUST
    assert caution.dose is not None


@pytest.mark.parametrize("gene", ["unknown", None])
def test_unknown_gene_is_treated_as_colq_so_neostigmine_is_avoided(kb, gene):
    caution = caution_alone(kb, patient(syndrome(gene)), "neostigmine")

    assert caution.level == AVOID
    assert caution.assumptions
