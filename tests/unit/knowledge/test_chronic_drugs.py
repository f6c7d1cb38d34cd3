"""The patient's chronic neuromuscular-junction drugs by condition (clinical-reference.md §5.1)."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    caution_alone,
    condition,
    patient,
)

MYASTHENIA = condition("myasthenia-gravis", ago(years=2), antibody="achr")
MUSK_MYASTHENIA = condition("myasthenia-gravis", ago(years=2), antibody="musk")
LAMBERT_EATON = condition("lambert-eaton", ago(years=2))
PENICILLAMINE_MYASTHENIA = condition("penicillamine-myasthenia", ago(days=60))
EPILEPSY = condition("epilepsy", ago(years=5))


def congenital(gene):
    return condition("congenital-myasthenic-syndrome", ago(years=10), gene=gene)


# (condition, planned chronic drug, expected level): every cell of the §5.1 table.
TABLE = [
    (MYASTHENIA, "pyridostigmine", MONITOR),
    (MYASTHENIA, "amifampridine", NONE),
    (MYASTHENIA, "penicillamine", AVOID),
    (MYASTHENIA, "phenytoin", MONITOR),
    (MYASTHENIA, "carbamazepine", MONITOR),
    (MUSK_MYASTHENIA, "pyridostigmine", AVOID),
    (MUSK_MYASTHENIA, "amifampridine", NONE),
    (MUSK_MYASTHENIA, "penicillamine", AVOID),
    (MUSK_MYASTHENIA, "phenytoin", MONITOR),
    (LAMBERT_EATON, "pyridostigmine", MONITOR),
    (LAMBERT_EATON, "amifampridine", MONITOR),
    (LAMBERT_EATON, "penicillamine", AVOID),
    (LAMBERT_EATON, "carbamazepine", MONITOR),
    (congenital("colq"), "pyridostigmine", AVOID),
    (congenital("dok7"), "pyridostigmine", AVOID),
    (congenital("rapsn"), "amifampridine", MONITOR),
    (congenital("fast-channel"), "amifampridine", MONITOR),
    (congenital("rapsn"), "penicillamine", AVOID),
    (congenital("rapsn"), "phenytoin", AVOID),
    (congenital("rapsn"), "carbamazepine", AVOID),
    (PENICILLAMINE_MYASTHENIA, "pyridostigmine", MONITOR),
    (PENICILLAMINE_MYASTHENIA, "amifampridine", NONE),
    (PENICILLAMINE_MYASTHENIA, "penicillamine", AVOID),
    (PENICILLAMINE_MYASTHENIA, "phenytoin", MONITOR),
    (EPILEPSY, "pyridostigmine", MONITOR),
    (EPILEPSY, "amifampridine", CONTRAINDICATED),
    (EPILEPSY, "phenytoin", NONE),
]


@pytest.mark.parametrize(
    ("condition_input", "drug", "level"),
    TABLE,
    ids=[f"{item[0].code}-{item[0].attributes.get('gene', '')}-{item[1]}" for item in TABLE],
)
def test_chronic_drug_table_gives_the_level_of_each_cell(kb, condition_input, drug, level):
    assert caution_alone(kb, patient(condition_input), drug).level == level


def test_penicillamine_is_avoided_because_it_worsens_myasthenia(kb):
    caution = caution_alone(kb, patient(PENICILLAMINE_MYASTHENIA), "penicillamine")

    assert caution.effects == ("worsens_disease",)


def test_carbamazepine_avoidance_in_congenital_myasthenia_is_flagged_unconfirmed(kb):
    caution = caution_alone(kb, patient(congenital("rapsn")), "carbamazepine")

    assert caution.findings[0].unconfirmed


def test_amifampridine_in_lambert_eaton_warns_about_seizures_and_qt(kb):
    caution = caution_alone(kb, patient(LAMBERT_EATON), "amifampridine")

    assert "QT" in caution.monitoring


@pytest.mark.parametrize("drug", ["phenytoin", "carbamazepine"])
def test_anticonvulsants_in_myasthenia_are_monitored_without_an_unsourced_worsening_tag(kb, drug):
    # §5.1: "MO (U for MG; phenytoin is on the CMS avoid list, S76c)": no source says they
    # worsen MG or LEMS.
    state = patient(condition("myasthenia-gravis", ago(years=2), antibody="achr"))

    caution = caution_alone(kb, state, drug)

    assert caution.level == MONITOR
    assert "worsens_disease" not in caution.effects
