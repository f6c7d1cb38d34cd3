"""Label facts that depend on the patient's state (clinical-reference.md §8)."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    caution_alone,
    cautions,
    condition,
    patient,
)


def renal(**attributes):
    return condition("renal-impairment", ago(years=1), **attributes)


@pytest.mark.parametrize(
    "attributes",
    [
        {"dialysis": True, "crcl_ml_min": 8},
        {"dialysis": False, "crcl_ml_min": 20},
        {"dialysis": False, "crcl_ml_min": 30},
        {"dialysis": False},
        {},
    ],
    ids=[
        "dialysis",
        "clearance-20",
        "clearance-30",
        "clearance-unknown",
        "nothing-known",
    ],
)
def test_severe_or_unknown_renal_impairment_makes_sugammadex_avoided(kb, attributes):
    assert caution_alone(kb, patient(renal(**attributes)), "sugammadex").level == AVOID


def test_moderate_renal_impairment_without_dialysis_gives_no_sugammadex_caution(kb):
    state = patient(renal(dialysis=False, crcl_ml_min=45))

    assert caution_alone(kb, state, "sugammadex").level == NONE


def test_an_unrecorded_dialysis_means_no_dialysis_when_the_clearance_is_known(kb):
    # The contract counts only an unknown clearance as severe.
    state = patient(renal(crcl_ml_min=60))

    assert caution_alone(kb, state, "sugammadex").level == NONE


def test_unknown_renal_attributes_are_reported_as_assumptions(kb):
    caution = caution_alone(kb, patient(renal()), "sugammadex")

    assert caution.assumptions


def test_renal_impairment_does_not_caution_the_non_depolarisers(kb):
    by_drug = cautions(kb, patient(renal(dialysis=True)), ("rocuronium", "atracurium"))

    assert {caution.level for caution in by_drug.values()} == {NONE}


# §12.1: renal impairment with a potassium under 5.5 mmol/L: a single usual dose only, MO
# HYPERK (S100, B; S97, B).
def test_renal_impairment_with_a_normal_potassium_gives_succinylcholine_monitor(kb):
    caution = caution_alone(
        kb, patient(renal(dialysis=True, serum_potassium_mmol_l=4.6)), "succinylcholine"
    )

    assert (caution.level, caution.effects) == (MONITOR, ("hyperkalemia",))


def test_amifampridine_is_contraindicated_in_epilepsy(kb):
    caution = caution_alone(kb, patient(condition("epilepsy", ago(years=3))), "amifampridine")

    assert caution.level == CONTRAINDICATED
