"""An unknown attribute is read the cautious way for a new drug, never for a chronic medication
the patient already tolerates (clinical-reference.md §5.1)."""

from __future__ import annotations

import pytest

from periop.drugs.engine.tolerated import CHRONIC_MEDICATION_HOURS
from tests.unit.knowledge.conftest import (
    AVOID,
    MONITOR,
    ago,
    caution_alone,
    condition,
    medication,
    patient,
    rules_of,
)

SIX_YEARS_OF_PYRIDOSTIGMINE = medication("pyridostigmine", ago(years=6))


def myasthenia(**attributes):
    return condition("myasthenia-gravis", ago(years=6), **attributes)


@pytest.mark.parametrize(
    "recorded",
    [{"antibody": "unknown"}, {}],
    ids=["antibody recorded as unknown", "antibody not recorded"],
)
def test_pyridostigmine_taken_for_six_years_is_continued_whatever_the_antibody(kb, recorded):
    # §5.1, MG (any) x pyridostigmine: MO, continue (B: S26). MuSK MG: AV "unless already
    # tolerated" (A: S29, S31): six years of it is tolerance, so the MuSK reading never applies.
    state = patient(myasthenia(**recorded), SIX_YEARS_OF_PYRIDOSTIGMINE)

    caution = caution_alone(kb, state, "pyridostigmine")

    assert caution.level == MONITOR
    assert "musk-pyridostigmine-avoid" not in rules_of(caution)
    assert "myasthenia-pyridostigmine-continue" in rules_of(caution)
    (note,) = caution.assumptions
    assert note.startswith("Pyridostigmine: taken for at least 10 days and still taken")
    assert "MuSK myasthenia gravis" in note


def test_pyridostigmine_new_to_the_patient_takes_the_musk_reading(kb):
    # §5.1, MuSK MG x pyridostigmine: AV (A: S29, S31); an unknown antibody may be MuSK, and a
    # drug the patient has never taken is not "already tolerated".
    caution = caution_alone(kb, patient(myasthenia(antibody="unknown")), "pyridostigmine")

    assert caution.level == AVOID
    assert "musk-pyridostigmine-avoid" in rules_of(caution)


@pytest.mark.parametrize(
    "course",
    [
        medication("pyridostigmine", ago(days=5)),
        medication("pyridostigmine", ago(years=6), ago(days=3)),
        medication("pyridostigmine", None),
    ],
    ids=["started five days ago", "stopped three days ago", "start unknown"],
)
def test_pyridostigmine_not_certainly_taken_long_enough_keeps_the_musk_reading(kb, course):
    # §5.1, MuSK MG: AV unless already tolerated (A: S29, S31); a short, stopped or undated
    # course does not show tolerance, so the cautious reading of the unknown antibody stays.
    state = patient(myasthenia(antibody="unknown"), course)

    assert caution_alone(kb, state, "pyridostigmine").level == AVOID


def test_a_known_musk_antibody_still_gives_avoid_for_chronic_pyridostigmine(kb):
    # §5.1, MuSK MG x pyridostigmine: AV (A: S29, S31). Only the unknown reading is spared; a
    # recorded MuSK antibody keeps the rule, whose override records the tolerance.
    state = patient(myasthenia(antibody="musk"), SIX_YEARS_OF_PYRIDOSTIGMINE)

    assert caution_alone(kb, state, "pyridostigmine").level == AVOID


def test_congenital_myasthenia_of_unknown_gene_on_chronic_pyridostigmine_is_not_avoid(kb):
    # §5.1, CMS x pyridostigmine: AV only in COLQ / DOK7 (B: S76b, S76c); a patient who has
    # taken it for years does not have a syndrome it aggravates, so the unknown gene is read as
    # any other gene is.
    unknown = condition("congenital-myasthenic-syndrome", ago(years=10), gene="unknown")
    other = condition("congenital-myasthenic-syndrome", ago(years=10), gene="rapsn")

    chronic = caution_alone(kb, patient(unknown, SIX_YEARS_OF_PYRIDOSTIGMINE), "pyridostigmine")
    known = caution_alone(kb, patient(other, SIX_YEARS_OF_PYRIDOSTIGMINE), "pyridostigmine")
    new = caution_alone(kb, patient(unknown), "pyridostigmine")

    assert chronic.level == known.level < AVOID
    assert new.level == AVOID


def test_the_chronic_threshold_is_the_knowledge_bases_own(kb):
    # §7, chronic phenytoin or carbamazepine: "≥ about 10-14 days"; the knowledge base encodes
    # chronic use as 240 hours, and tolerance of a medication is counted the same way.
    rule = kb.rule("chronic-anticonvulsant-resistance")

    assert rule.when.medication_hours is not None
    assert rule.when.medication_hours.minimum == CHRONIC_MEDICATION_HOURS


def test_an_unknown_serum_magnesium_stays_cautious_for_magnesium_already_given(kb):
    # §6.3: loss of reflexes and neuromuscular blockade from about 9.0 mg/dL (S41a, B; the
    # sources conflict). A serum level is a state that changes: weeks of magnesium say nothing
    # about today's level, so an unknown level keeps the cautious reading even for magnesium the
    # patient already receives.
    hypermagnesaemia = condition("hypermagnesemia", ago(days=20))
    course = medication("magnesium-sulfate", ago(days=20))

    chronic = caution_alone(kb, patient(hypermagnesaemia, course), "magnesium-sulfate")
    new = caution_alone(kb, patient(hypermagnesaemia), "magnesium-sulfate")

    assert "hypermagnesemia-magnesium-paralysing-level" in rules_of(chronic)
    assert chronic.level == new.level >= AVOID


def test_myasthenia_recorded_twice_with_the_antibody_unknown_keeps_pyridostigmine_continued(kb):
    # §5.1, MG (any) x pyridostigmine: MO, continue (B: S26); MuSK MG: AV "unless already
    # tolerated" (A: S29, S31). The same disease entered twice (ocular at onset, generalized
    # later), neither entry with the antibody, is still the disease of a patient who has
    # tolerated pyridostigmine for six years.
    ocular = myasthenia(antibody="unknown", distribution="ocular")
    generalized = condition("myasthenia-gravis", ago(years=2), distribution="generalized")
    state = patient(ocular, generalized, SIX_YEARS_OF_PYRIDOSTIGMINE)

    caution = caution_alone(kb, state, "pyridostigmine")

    assert caution.level == MONITOR
    assert "musk-pyridostigmine-avoid" not in rules_of(caution)
    assert "myasthenia-pyridostigmine-continue" in rules_of(caution)


@pytest.mark.parametrize(
    "musk_first", [True, False], ids=["MuSK entered first", "MuSK entered last"]
)
def test_a_musk_antibody_recorded_in_one_of_two_entries_still_gives_avoid(kb, musk_first):
    # §5.1, MuSK MG x pyridostigmine: AV (A: S29, S31). One entry records the MuSK antibody,
    # the other leaves it unknown: the known value meets the rule, so tolerance spares nothing.
    musk = myasthenia(antibody="musk")
    unknown = condition("myasthenia-gravis", ago(years=2), antibody="unknown")
    entries = (musk, unknown) if musk_first else (unknown, musk)

    caution = caution_alone(kb, patient(*entries, SIX_YEARS_OF_PYRIDOSTIGMINE), "pyridostigmine")

    assert caution.level == AVOID
    assert "musk-pyridostigmine-avoid" in rules_of(caution)
    assert not any("is not applied" in note for note in caution.assumptions)
