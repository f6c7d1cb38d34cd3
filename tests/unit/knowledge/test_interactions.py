"""Drug-drug and drug-state interactions (clinical-reference.md §7)."""

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
    cautions,
    condition,
    medication,
    patient,
)


def test_pyridostigmine_prolongs_succinylcholine(kb):
    caution = caution_alone(
        kb, patient(medication("pyridostigmine", ago(years=1))), "succinylcholine"
    )

    assert caution.level == ADJUST
    assert caution.effects == ("prolonged",)
    assert caution.findings[0].triggered_by == ("medication:pyridostigmine",)


def test_pyridostigmine_prolongs_mivacurium(kb):
    assert_matrix_cell(
        kb, patient(medication("pyridostigmine", ago(years=1))), "MIVA", ADJUST, {"prolonged"}
    )


def test_pyridostigmine_with_neostigmine_risks_cholinergic_excess(kb):
    caution = caution_alone(kb, patient(medication("pyridostigmine", ago(years=1))), "neostigmine")

    assert caution.level == ADJUST
    assert set(caution.effects) == {"cholinergic", "reduced_reversal"}


def test_pyridostigmine_does_not_change_aminosteroid_sensitivity(kb):
    assert_matrix_cell(kb, patient(medication("pyridostigmine", ago(years=1))), "AMINO", NONE)


def test_neostigmine_already_given_makes_succinylcholine_avoided(kb):
    state = patient(medication("neostigmine", ago(hours=1)))

    assert caution_alone(kb, state, "succinylcholine").level == AVOID


def test_neostigmine_planned_with_succinylcholine_is_not_an_interaction(kb):
    by_drug = cautions(kb, patient(), ("succinylcholine", "neostigmine"))

    assert by_drug["succinylcholine"].level == NONE


@pytest.mark.parametrize(
    "aminoglycoside", ["gentamicin", "tobramycin", "amikacin", "neomycin", "streptomycin"]
)
@pytest.mark.parametrize(
    "blocker", ["succinylcholine", "rocuronium", "cisatracurium", "mivacurium"]
)
def test_aminoglycoside_potentiates_every_blocker(kb, aminoglycoside, blocker):
    caution = caution_alone(kb, patient(medication(aminoglycoside, ago(hours=36))), blocker)

    assert caution.level == ADJUST
    assert caution.effects == ("increased_sensitivity",)


def test_aminoglycoside_planned_in_the_same_anaesthetic_potentiates_the_blocker(kb):
    by_drug = cautions(kb, patient(), ("rocuronium", "gentamicin"))

    assert by_drug["rocuronium"].level == ADJUST
    assert by_drug["rocuronium"].findings[0].triggered_by == ("drug:gentamicin",)
    assert by_drug["gentamicin"].level == NONE


def test_aminoglycoside_makes_neostigmine_antagonism_more_difficult(kb):
    caution = caution_alone(kb, patient(medication("gentamicin", ago(hours=36))), "neostigmine")

    assert caution.level == ADJUST
    assert caution.effects == ("reduced_reversal",)


@pytest.mark.parametrize("polymyxin", ["polymyxin-b", "colistin"])
@pytest.mark.parametrize("blocker", ["succinylcholine", "rocuronium", "atracurium", "mivacurium"])
def test_polymyxin_makes_every_blocker_avoided(kb, polymyxin, blocker):
    caution = caution_alone(kb, patient(medication(polymyxin, ago(days=2))), blocker)

    assert caution.level == AVOID


def test_polymyxin_prolongs_pancuronium(kb):
    caution = caution_alone(kb, patient(medication("polymyxin-b", ago(days=2))), "pancuronium")

    assert set(caution.effects) == {"increased_sensitivity", "prolonged"}


def test_colistin_avoids_pancuronium_without_the_polymyxin_b_prolongation(kb):
    # §7 and S48 (title only) name polymyxin B; colistin keeps the class avoid (S47a, S47b, S50).
    caution = caution_alone(kb, patient(medication("colistin", ago(days=2))), "pancuronium")

    assert caution.level == AVOID
    assert set(caution.effects) == {"increased_sensitivity"}


def test_magnesium_sulfate_potentiates_non_depolarisers(kb):
    state = patient(medication("magnesium-sulfate", ago(hours=2)))

    assert_matrix_cell(kb, state, "AMINO", ADJUST, {"increased_sensitivity", "prolonged"})
    # S39c (§6.3): magnesium shortened cisatracurium onset without prolonging recovery.
    assert_matrix_cell(kb, state, "BENZ", ADJUST, {"increased_sensitivity"})
    assert_matrix_cell(kb, state, "SUX", NONE)


@pytest.mark.parametrize("blocker", ["nifedipine", "nicardipine"])
def test_magnesium_with_a_calcium_channel_blocker_makes_sugammadex_reversal_uncertain(kb, blocker):
    state = patient(
        medication("magnesium-sulfate", ago(hours=10)), medication(blocker, ago(days=3))
    )

    caution = caution_alone(kb, state, "sugammadex")

    assert caution.level == ADJUST
    assert caution.effects == ("reduced_reversal",)


def test_calcium_channel_blocker_alone_gives_no_caution_beyond_the_label_class_statement(kb):
    state = patient(medication("nifedipine", ago(days=3)))

    assert caution_alone(kb, state, "sugammadex").level == NONE
    assert caution_alone(kb, state, "succinylcholine").level == NONE
    # §12.5: the rocuronium label's class statement, "calcium channel blocking agents" increase
    # the effect (S113, B): MO SENS+.
    rocuronium = caution_alone(kb, state, "rocuronium")
    assert (rocuronium.level, rocuronium.effects) == (MONITOR, ("increased_sensitivity",))


def test_magnesium_with_an_aminoglycoside_makes_non_depolarisers_avoided(kb):
    state = patient(
        medication("magnesium-sulfate", ago(hours=10)), medication("gentamicin", ago(hours=10))
    )

    assert_matrix_cell(kb, state, "AMINO", AVOID, {"increased_sensitivity", "prolonged"})
    # Magnesium does not prolong cisatracurium recovery (S39c, §6.3).
    assert_matrix_cell(kb, state, "BENZ", AVOID, {"increased_sensitivity"})


def test_hypermagnesaemia_with_an_aminoglycoside_makes_non_depolarisers_avoided(kb):
    state = patient(
        condition("hypermagnesemia", ago(hours=10)), medication("amikacin", ago(hours=10))
    )

    assert caution_alone(kb, state, "rocuronium").level == AVOID


@pytest.mark.parametrize("anticonvulsant", ["phenytoin", "carbamazepine"])
@pytest.mark.parametrize("drug", ["rocuronium", "vecuronium", "pancuronium", "cisatracurium"])
def test_chronic_anticonvulsant_causes_resistance(kb, anticonvulsant, drug):
    caution = caution_alone(kb, patient(medication(anticonvulsant, ago(days=60))), drug)

    assert caution.level == ADJUST
    assert caution.effects == ("resistance",)


@pytest.mark.parametrize("drug", ["atracurium", "mivacurium", "succinylcholine"])
def test_chronic_anticonvulsant_gives_no_caution_for_atracurium_mivacurium_or_succinylcholine(
    kb, drug
):
    assert caution_alone(kb, patient(medication("phenytoin", ago(days=60))), drug).level == NONE


@pytest.mark.parametrize("hours", [1, 20, 239])
def test_acute_phenytoin_potentiates_aminosteroids(kb, hours):
    caution = caution_alone(kb, patient(medication("phenytoin", ago(hours=hours))), "vecuronium")

    assert caution.level == ADJUST
    assert caution.effects == ("increased_sensitivity",)
    assert not caution.conflict


@pytest.mark.parametrize("hours", [240, 300, 335])
def test_phenytoin_between_ten_and_fourteen_days_flags_a_conflict(kb, hours):
    caution = caution_alone(kb, patient(medication("phenytoin", ago(hours=hours))), "rocuronium")

    assert caution.level == ADJUST
    assert caution.conflict
    assert {finding.rule for finding in caution.findings} == {
        "acute-phenytoin-aminosteroid-sensitivity",
        "chronic-anticonvulsant-resistance",
    }


def test_phenytoin_from_fourteen_days_gives_resistance_only(kb):
    caution = caution_alone(kb, patient(medication("phenytoin", ago(hours=336))), "rocuronium")

    assert caution.effects == ("resistance",)
    assert not caution.conflict


def test_phenytoin_of_unknown_start_gives_both_readings_and_a_conflict(kb):
    caution = caution_alone(kb, patient(medication("phenytoin")), "rocuronium")

    assert caution.conflict
    assert caution.assumptions


def test_carbamazepine_in_its_first_days_is_monitored_as_unpredictable(kb):
    caution = caution_alone(kb, patient(medication("carbamazepine", ago(days=3))), "rocuronium")

    assert caution.level == MONITOR
    assert caution.effects == ("unpredictable",)


def test_stopped_chronic_anticonvulsant_keeps_its_resistance_caution_and_says_why(kb):
    # §7, chronic phenytoin x AMINO: DA, SENS- (S53, S55). §6.10 and §7 state no time course
    # after phenytoin stops, so the most cautious reading keeps DA and reports the assumption.
    state = patient(medication("phenytoin", ago(years=2), stopped=ago(days=30)))

    caution = caution_alone(kb, state, "rocuronium")

    assert caution.level == ADJUST
    assert caution.effects == ("resistance",)
    assert any(
        note.startswith("Phenytoin: stopped") and "no source states" in note
        for note in caution.assumptions
    )
