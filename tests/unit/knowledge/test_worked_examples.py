"""The worked examples of clinical-reference.md §9, with their flags.

Where §9 says an example and a table disagree (V06 neostigmine, V12 sugammadex, V28 sugammadex,
V29 cisatracurium), both levels are clinically acceptable and the test accepts either.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.unit.knowledge.conftest import (
    ADJUST,
    AT,
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    cautions,
    check,
    condition,
    medication,
    patient,
    rules_of,
)


def test_v01_patient_without_a_neuromuscular_condition_gets_no_caution(kb):
    planned = ("succinylcholine", "rocuronium", "neostigmine", "sugammadex")

    evaluation = check(kb, patient(weight_kg="80"), planned)

    assert [caution.drug for caution in evaluation.cautions] == list(planned)
    assert {caution.level for caution in evaluation.cautions} == {NONE}
    assert all(not caution.effects and not caution.findings for caution in evaluation.cautions)
    assert evaluation.highest_level == NONE


def test_v01_blockers_and_reversal_agents_still_carry_the_asa_monitoring_guidance(kb):
    by_drug = cautions(kb, patient(), ("rocuronium", "sugammadex"))

    assert all("0.9" in caution.monitoring for caution in by_drug.values())


def v02_patient():
    return patient(
        condition("myasthenia-gravis", ago(years=2), antibody="achr", distribution="generalized"),
        medication("pyridostigmine", ago(years=2)),
        weight_kg="62",
    )


def test_v02_generalised_myasthenia_on_pyridostigmine_for_thymectomy(kb):
    planned = ("rocuronium", "succinylcholine", "neostigmine", "sugammadex", "pyridostigmine")

    by_drug = cautions(kb, v02_patient(), planned)

    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (
        ADJUST,
        ("increased_sensitivity",),
    )
    assert by_drug["succinylcholine"].level == ADJUST
    assert set(by_drug["succinylcholine"].effects) == {"resistance", "prolonged", "unpredictable"}
    assert by_drug["neostigmine"].level == ADJUST
    assert set(by_drug["neostigmine"].effects) >= {"cholinergic", "reduced_reversal"}
    assert (by_drug["sugammadex"].level, by_drug["sugammadex"].effects) == (MONITOR, ())
    assert (by_drug["pyridostigmine"].level, by_drug["pyridostigmine"].effects) == (MONITOR, ())


def test_v02_flags_the_pyridostigmine_interactions_with_succinylcholine_and_neostigmine(kb):
    by_drug = cautions(kb, v02_patient(), ("succinylcholine", "neostigmine"))

    succinylcholine = {f.rule: f for f in by_drug["succinylcholine"].findings}
    neostigmine = {f.rule: f for f in by_drug["neostigmine"].findings}
    assert succinylcholine["pyridostigmine-succinylcholine-prolonged"].triggered_by == (
        "medication:pyridostigmine",
    )
    assert "cholinergic" in neostigmine["pyridostigmine-neostigmine-cholinergic"].effects


def test_v02_rocuronium_dose_is_about_half(kb):
    dose = cautions(kb, v02_patient(), ("rocuronium",))["rocuronium"].dose

    assert (dose.per_kg_mg.minimum, dose.per_kg_mg.maximum) == (Decimal("0.5"), Decimal("0.6"))


def v05_patient():
    return patient(
        condition("myasthenia-gravis", ago(years=6), antibody="achr"),
        condition("stroke", ago(days=10), motor_deficit=True),
        medication("pyridostigmine", ago(years=6)),
        weight_kg="78",
    )


def test_v05_myasthenia_plus_stroke_ten_days_ago(kb):
    planned = ("succinylcholine", "rocuronium", "sugammadex", "neostigmine")

    evaluation = check(kb, v05_patient(), planned)
    by_drug = {caution.drug: caution for caution in evaluation.cautions}

    assert by_drug["succinylcholine"].level == CONTRAINDICATED
    assert "hyperkalemia" in by_drug["succinylcholine"].effects
    assert by_drug["succinylcholine"].findings[0].rule == "sux-denervation-window"
    assert by_drug["rocuronium"].level == ADJUST
    assert by_drug["rocuronium"].conflict
    assert "unpredictable" in by_drug["rocuronium"].effects
    assert by_drug["sugammadex"].level == MONITOR
    assert by_drug["neostigmine"].level == ADJUST
    assert "cholinergic" in by_drug["neostigmine"].effects
    assert evaluation.receptor_state.value == "mixed"


def test_v05_contraindication_dominates_the_myasthenic_succinylcholine_resistance(kb):
    caution = cautions(kb, v05_patient(), ("succinylcholine",))["succinylcholine"]

    assert {"sux-denervation-window", "sux-mg-resistance"} <= rules_of(caution)
    assert not caution.conflict


def test_v06_myasthenia_with_gentamicin_started_36_hours_ago(kb):
    state = patient(
        condition("myasthenia-gravis", ago(years=5), antibody="achr"),
        medication("pyridostigmine", ago(years=5)),
        medication("gentamicin", ago(hours=36)),
        weight_kg="60",
    )

    by_drug = cautions(kb, state, ("rocuronium", "gentamicin", "neostigmine", "sugammadex"))

    assert by_drug["gentamicin"].level == AVOID
    assert set(by_drug["gentamicin"].effects) == {"worsens_disease", "increased_sensitivity"}
    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (
        ADJUST,
        ("increased_sensitivity",),
    )
    # Example AVOID, tables ADJUST: both acceptable (§9).
    assert by_drug["neostigmine"].level in {AVOID, ADJUST}
    assert {"reduced_reversal", "cholinergic"} <= set(by_drug["neostigmine"].effects)
    assert by_drug["sugammadex"].level == MONITOR


def test_v10_homozygous_atypical_butyrylcholinesterase(kb):
    state = patient(
        condition(
            "butyrylcholinesterase-deficiency",
            ago(years=5),
            genotype="homozygous",
            dibucaine_number=20,
        ),
        weight_kg="70",
    )

    by_drug = cautions(
        kb, state, ("succinylcholine", "mivacurium", "rocuronium", "neostigmine", "sugammadex")
    )

    assert (by_drug["succinylcholine"].level, by_drug["succinylcholine"].effects) == (
        AVOID,
        ("prolonged",),
    )
    assert by_drug["succinylcholine"].dose.total_mg.minimum == Decimal("5")
    assert by_drug["succinylcholine"].dose.total_mg.maximum == Decimal("10")
    assert (by_drug["mivacurium"].level, by_drug["mivacurium"].effects) == (AVOID, ("prolonged",))
    assert by_drug["rocuronium"].level == NONE
    assert by_drug["neostigmine"].level == MONITOR
    assert by_drug["sugammadex"].level == NONE


V12_BURN_ONSET = AT - dt.timedelta(hours=6)


def v12_patient():
    return patient(condition("burn", V12_BURN_ONSET, tbsa_percent=40), weight_kg="80")


def test_v12_major_burn_six_hours_old(kb):
    by_drug = cautions(kb, v12_patient(), ("succinylcholine", "rocuronium", "sugammadex"))

    assert (by_drug["succinylcholine"].level, by_drug["succinylcholine"].effects) == (MONITOR, ())
    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (MONITOR, ())
    # Example NONE, burn row MONITOR (grade U): both acceptable (§9).
    assert by_drug["sugammadex"].level in {NONE, MONITOR}


def test_v12_succinylcholine_changes_to_avoid_at_24_hours(kb):
    at = V12_BURN_ONSET + dt.timedelta(hours=24)

    caution = cautions(kb, v12_patient(), ("succinylcholine",), at)["succinylcholine"]

    assert caution.level == AVOID


def test_v12_succinylcholine_changes_to_contraindicated_at_72_hours(kb):
    at = V12_BURN_ONSET + dt.timedelta(hours=72)

    caution = cautions(kb, v12_patient(), ("succinylcholine",), at)["succinylcholine"]

    assert caution.level == CONTRAINDICATED
    assert caution.effects == ("hyperkalemia",)


def test_v13_major_burn_five_days_old(kb):
    state = patient(condition("burn", ago(days=5), tbsa_percent=35), weight_kg="58")

    by_drug = cautions(kb, state, ("succinylcholine", "rocuronium", "mivacurium", "sugammadex"))

    assert (by_drug["succinylcholine"].level, by_drug["succinylcholine"].effects) == (
        CONTRAINDICATED,
        ("hyperkalemia",),
    )
    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (
        MONITOR,
        ("resistance",),
    )
    assert (by_drug["mivacurium"].level, by_drug["mivacurium"].effects) == (MONITOR, ("prolonged",))
    assert by_drug["sugammadex"].level == MONITOR


def test_v17_paraplegia_three_weeks_after_spinal_cord_injury(kb):
    state = patient(
        condition("spinal-cord-injury", ago(days=21), motor_deficit=True), weight_kg="70"
    )

    by_drug = cautions(kb, state, ("succinylcholine", "rocuronium", "sugammadex"))

    assert (by_drug["succinylcholine"].level, by_drug["succinylcholine"].effects) == (
        CONTRAINDICATED,
        ("hyperkalemia",),
    )
    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (
        MONITOR,
        ("resistance",),
    )
    assert by_drug["sugammadex"].level == NONE


def test_v25_duchenne_muscular_dystrophy_for_spinal_fusion(kb):
    state = patient(condition("muscular-dystrophy", ago(years=10), type="duchenne"), weight_kg="38")

    by_drug = cautions(kb, state, ("succinylcholine", "rocuronium", "neostigmine", "sugammadex"))

    assert (by_drug["succinylcholine"].level, by_drug["succinylcholine"].effects) == (
        CONTRAINDICATED,
        ("hyperkalemia",),
    )
    assert by_drug["rocuronium"].level == MONITOR
    assert by_drug["neostigmine"].level == AVOID
    assert by_drug["sugammadex"].level == MONITOR
    assert "volatile" in by_drug["succinylcholine"].monitoring


def test_v28_pre_eclampsia_on_magnesium_and_nifedipine(kb):
    state = patient(
        condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=8.5),
        medication("magnesium-sulfate", ago(hours=10)),
        medication("nifedipine", ago(days=2)),
        weight_kg="78",
    )
    planned = ("succinylcholine", "rocuronium", "sugammadex", "neostigmine", "magnesium-sulfate")

    by_drug = cautions(kb, state, planned)

    assert by_drug["succinylcholine"].level == MONITOR
    assert by_drug["rocuronium"].level == ADJUST
    assert {"increased_sensitivity", "prolonged"} <= set(by_drug["rocuronium"].effects)
    # Example MONITOR, magnesium plus calcium-channel-blocker row ADJUST: both acceptable (§9).
    assert by_drug["sugammadex"].level in {MONITOR, ADJUST}
    assert by_drug["neostigmine"].level == ADJUST
    assert "reduced_reversal" in by_drug["neostigmine"].effects
    assert by_drug["magnesium-sulfate"].level == MONITOR


def test_v28_flags_the_magnesium_and_calcium_channel_blocker_interaction(kb):
    state = patient(
        condition("hypermagnesemia", ago(hours=10), serum_mg_mg_dl=8.5),
        medication("magnesium-sulfate", ago(hours=10)),
        medication("nifedipine", ago(days=2)),
    )

    by_drug = cautions(kb, state, ("rocuronium", "sugammadex"))

    assert "magnesium-calcium-channel-blocker-aminosteroid-prolonged" in rules_of(
        by_drug["rocuronium"]
    )
    finding = next(
        f for f in by_drug["sugammadex"].findings if f.rule.startswith("magnesium-calcium-channel")
    )
    assert set(finding.triggered_by) == {"medication:magnesium-sulfate", "medication:nifedipine"}


def test_v29_chronic_phenytoin_for_craniotomy(kb):
    state = patient(condition("epilepsy", ago(years=10)), medication("phenytoin", ago(years=2)))
    planned = (
        "rocuronium",
        "vecuronium",
        "cisatracurium",
        "atracurium",
        "succinylcholine",
        "sugammadex",
    )

    by_drug = cautions(kb, state, planned)

    assert (by_drug["rocuronium"].level, by_drug["rocuronium"].effects) == (ADJUST, ("resistance",))
    assert (by_drug["vecuronium"].level, by_drug["vecuronium"].effects) == (ADJUST, ("resistance",))
    # Example MONITOR, chronic-anticonvulsant row ADJUST: both acceptable (§9).
    assert by_drug["cisatracurium"].level in {MONITOR, ADJUST}
    assert by_drug["cisatracurium"].effects == ("resistance",)
    assert by_drug["atracurium"].level == NONE
    assert by_drug["succinylcholine"].level == NONE
    assert by_drug["sugammadex"].level == NONE
    assert not any(caution.conflict for caution in by_drug.values())


def test_v30_acute_phenytoin_load_yesterday(kb):
    state = patient(condition("epilepsy", ago(hours=30)), medication("phenytoin", ago(hours=20)))

    by_drug = cautions(kb, state, ("vecuronium", "rocuronium"))

    for drug in ("vecuronium", "rocuronium"):
        assert (by_drug[drug].level, by_drug[drug].effects) == (ADJUST, ("increased_sensitivity",))
        assert not by_drug[drug].conflict


def test_v29_and_v30_the_same_drug_gives_opposite_directions_at_twenty_hours_and_two_years(kb):
    def effects_after(started):
        state = patient(medication("phenytoin", started))
        return cautions(kb, state, ("vecuronium",))["vecuronium"].effects

    assert effects_after(ago(hours=20)) == ("increased_sensitivity",)
    assert effects_after(ago(years=2)) == ("resistance",)
