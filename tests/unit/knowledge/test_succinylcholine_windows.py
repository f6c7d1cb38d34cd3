"""Succinylcholine hyperkalaemia windows (clinical-reference.md §4.2), by hours since onset."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    AVOID,
    CONTRAINDICATED,
    HOURS_IN_SIX_MONTHS,
    HOURS_IN_THREE_MONTHS,
    HOURS_IN_TWO_YEARS,
    MONITOR,
    NONE,
    ago,
    caution_alone,
    condition,
    patient,
)

# (hours since onset, expected level): the edges of every phase, from_hours inclusive.
BURN_WINDOW = [
    (0, MONITOR),
    (23.9, MONITOR),
    (24, AVOID),
    (71.9, AVOID),
    (72, CONTRAINDICATED),
    (24 * 120, CONTRAINDICATED),
    (HOURS_IN_TWO_YEARS - 1, CONTRAINDICATED),
]
DENERVATION_WINDOW = [
    (6, MONITOR),
    (24, AVOID),
    (48, AVOID),
    (72, CONTRAINDICATED),
    (24 * 10, CONTRAINDICATED),
    (HOURS_IN_SIX_MONTHS - 1, CONTRAINDICATED),
    (HOURS_IN_SIX_MONTHS, AVOID),
    (HOURS_IN_SIX_MONTHS * 4, AVOID),
]
TRAUMA_WINDOW = [
    (12, MONITOR),
    (24, AVOID),
    (72, CONTRAINDICATED),
    (HOURS_IN_THREE_MONTHS - 1, CONTRAINDICATED),
    (HOURS_IN_THREE_MONTHS, AVOID),
]
IMMOBILIZATION_WINDOW = [(12, NONE), (24, MONITOR), (71, MONITOR), (72, AVOID), (24 * 30, AVOID)]
CRITICAL_ILLNESS_WINDOW = [
    (12, NONE),
    (24, MONITOR),
    (72, AVOID),
    (383, AVOID),
    (384, CONTRAINDICATED),
    (24 * 60, CONTRAINDICATED),
]
SEPSIS_WINDOW = [(0, MONITOR), (71, MONITOR), (72, AVOID), (24 * 20, AVOID)]


def succinylcholine_level(kb, *conditions):
    return caution_alone(kb, patient(*conditions), "succinylcholine").level


@pytest.mark.parametrize(("hours", "level"), BURN_WINDOW)
def test_unhealed_burn_follows_the_burn_window(kb, hours, level):
    assert succinylcholine_level(kb, condition("burn", ago(hours=hours), tbsa_percent=40)) == level


# §4.2: "Major burn (consider >= about 10 % TBSA; threshold U)". The threshold is unconfirmed, so
# the window is kept for every burn, the cautious reading; the rule's rationale says so.
@pytest.mark.parametrize("tbsa_percent", [2, 9.5, 40])
def test_burn_window_applies_whatever_the_burned_surface(kb, tbsa_percent):
    burn = condition("burn", ago(days=10), tbsa_percent=tbsa_percent)

    assert succinylcholine_level(kb, burn) == CONTRAINDICATED


def test_burn_healed_inside_two_years_still_contraindicates_succinylcholine(kb):
    burn = condition("burn", ago(days=200), resolved=ago(days=100))

    assert succinylcholine_level(kb, burn) == CONTRAINDICATED


def test_unhealed_burn_over_two_years_old_still_contraindicates_succinylcholine(kb):
    burn = condition("burn", ago(hours=HOURS_IN_TWO_YEARS + 24))

    assert succinylcholine_level(kb, burn) == CONTRAINDICATED


def test_healed_burn_over_two_years_old_lowers_succinylcholine_to_monitor(kb):
    burn = condition("burn", ago(years=3), resolved=ago(years=2))

    caution = caution_alone(kb, patient(burn), "succinylcholine")

    assert caution.level == MONITOR
    assert caution.findings[0].rule == "sux-burn-window"


def test_burn_under_a_day_old_carries_no_hyperkalaemia_tag(kb):
    caution = caution_alone(kb, patient(condition("burn", ago(hours=6))), "succinylcholine")

    assert caution.level == MONITOR
    assert caution.effects == ()


def test_burn_dated_yesterday_is_treated_as_possibly_over_a_day_old(kb):
    burn = condition("burn", ago(days=1).date())

    caution = caution_alone(kb, patient(burn), "succinylcholine")

    assert caution.level == AVOID
    assert caution.assumptions


def test_burn_of_unknown_onset_is_treated_as_contraindicated(kb):
    caution = caution_alone(kb, patient(condition("burn")), "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert caution.assumptions


@pytest.mark.parametrize("code", ["spinal-cord-injury", "stroke"])
@pytest.mark.parametrize(("hours", "level"), DENERVATION_WINDOW)
def test_denervation_with_motor_deficit_follows_the_denervation_window(kb, code, hours, level):
    assert succinylcholine_level(kb, condition(code, ago(hours=hours), motor_deficit=True)) == level


def test_stroke_ten_days_ago_contraindicates_succinylcholine(kb):
    caution = caution_alone(kb, patient(condition("stroke", ago(days=10))), "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert caution.effects == ("hyperkalemia",)
    assert caution.findings[0].rule == "sux-denervation-window"


def test_motor_deficit_is_assumed_when_not_recorded(kb):
    assert (
        succinylcholine_level(kb, condition("spinal-cord-injury", ago(days=21))) == CONTRAINDICATED
    )


@pytest.mark.parametrize("code", ["spinal-cord-injury", "stroke"])
def test_denervation_without_motor_deficit_only_needs_a_potassium_check(kb, code):
    caution = caution_alone(
        kb, patient(condition(code, ago(days=10), motor_deficit=False)), "succinylcholine"
    )

    assert caution.level == MONITOR
    assert caution.effects == ()


def test_resolved_deficit_after_six_months_lowers_succinylcholine_to_monitor(kb):
    stroke = condition("stroke", ago(years=1), resolved=ago(days=30))

    assert succinylcholine_level(kb, stroke) == MONITOR


def test_deficit_resolved_inside_six_months_keeps_succinylcholine_contraindicated(kb):
    stroke = condition("stroke", ago(days=60), resolved=ago(days=30))

    assert succinylcholine_level(kb, stroke) == CONTRAINDICATED


@pytest.mark.parametrize("hours", [1, 12, 24 * 30, 24 * 365])
def test_active_guillain_barre_contraindicates_succinylcholine_from_onset(kb, hours):
    assert (
        succinylcholine_level(kb, condition("guillain-barre", ago(hours=hours))) == CONTRAINDICATED
    )


def test_recovered_guillain_barre_still_avoids_succinylcholine(kb):
    gbs = condition("guillain-barre", ago(days=120), resolved=ago(days=30))

    assert succinylcholine_level(kb, gbs) == AVOID


@pytest.mark.parametrize(("hours", "level"), TRAUMA_WINDOW)
def test_major_trauma_follows_the_trauma_window(kb, hours, level):
    assert succinylcholine_level(kb, condition("major-trauma", ago(hours=hours))) == level


def test_healed_trauma_after_three_months_has_no_succinylcholine_caution(kb):
    trauma = condition("major-trauma", ago(days=120), resolved=ago(days=20))

    assert succinylcholine_level(kb, trauma) == NONE


@pytest.mark.parametrize(("hours", "level"), IMMOBILIZATION_WINDOW)
def test_immobilisation_follows_the_immobilisation_window(kb, hours, level):
    assert succinylcholine_level(kb, condition("immobilization", ago(hours=hours))) == level


def test_mobility_restored_after_a_week_of_immobility_keeps_succinylcholine_avoided(kb):
    # §4.2, immobilisation from about 3 days: AV; its end "until mobility is restored" is U and
    # no source says when the receptors normalise, so the most cautious reading keeps AV.
    immobility = condition("immobilization", ago(days=14), resolved=ago(days=7))

    caution = caution_alone(kb, patient(immobility), "succinylcholine")

    assert caution.level == AVOID
    assert any(
        note.startswith("Prolonged immobilisation: resolved") and "no source states" in note
        for note in caution.assumptions
    )


@pytest.mark.parametrize(("hours", "level"), CRITICAL_ILLNESS_WINDOW)
def test_critical_illness_follows_the_icu_window(kb, hours, level):
    assert succinylcholine_level(kb, condition("critical-illness", ago(hours=hours))) == level


def test_recovery_after_a_long_icu_stay_keeps_succinylcholine_contraindicated(kb):
    # §4.2 and §5, ICU over 16 days: AV to CI (S14); no source says when the risk ends after
    # recovery (U), so the most cautious reading keeps the level reached.
    illness = condition("critical-illness", ago(days=40), resolved=ago(days=5))

    caution = caution_alone(kb, patient(illness), "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert any("no source states" in note for note in caution.assumptions)


@pytest.mark.parametrize(("hours", "level"), SEPSIS_WINDOW)
def test_sepsis_follows_the_sepsis_window(kb, hours, level):
    assert succinylcholine_level(kb, condition("sepsis", ago(hours=hours))) == level


def test_recovered_prolonged_sepsis_keeps_succinylcholine_avoided(kb):
    # §5, prolonged sepsis: immobilisation rules, AV (S14); no source says when the risk ends
    # after recovery, so the most cautious reading keeps AV.
    sepsis = condition("sepsis", ago(days=10), resolved=ago(days=2))

    caution = caution_alone(kb, patient(sepsis), "succinylcholine")

    assert caution.level == AVOID
    assert any("no source states" in note for note in caution.assumptions)


# §4.2 and §11 item 27: the 24-72 h avoid, the levels after a window and the day thresholds
# before 16 ICU days are design proposals (grade U); the contraindicated cores are sourced
# (§4.1, §5). Citation audit 2026-11-29: the per-rule flag hid the former on the card.
@pytest.mark.parametrize(
    ("code", "hours", "level", "unconfirmed"),
    [
        ("burn", 6, MONITOR, False),
        ("burn", 30, AVOID, True),
        ("burn", 24 * 10, CONTRAINDICATED, False),
        ("spinal-cord-injury", 30, AVOID, True),
        ("spinal-cord-injury", 24 * 10, CONTRAINDICATED, False),
        ("spinal-cord-injury", HOURS_IN_SIX_MONTHS * 2, AVOID, True),
        ("major-trauma", 30, AVOID, True),
        ("major-trauma", 24 * 10, CONTRAINDICATED, False),
        ("major-trauma", HOURS_IN_THREE_MONTHS * 2, AVOID, True),
        ("critical-illness", 24 * 5, AVOID, True),
        ("critical-illness", 24 * 20, CONTRAINDICATED, False),
    ],
)
def test_a_design_phase_is_flagged_unconfirmed_and_a_sourced_core_is_not(
    kb, code, hours, level, unconfirmed
):
    caution = caution_alone(kb, patient(condition(code, ago(hours=hours))), "succinylcholine")

    assert caution.level == level
    assert [finding.unconfirmed for finding in caution.findings] == [unconfirmed]


def test_a_healed_burn_over_two_years_old_is_flagged_unconfirmed(kb):
    burn = condition("burn", ago(hours=HOURS_IN_TWO_YEARS + 24), resolved=ago(days=300))

    caution = caution_alone(kb, patient(burn), "succinylcholine")

    assert caution.level == MONITOR
    assert all(finding.unconfirmed for finding in caution.findings)


def test_guillain_barre_avoid_beyond_a_month_after_recovery_is_flagged_unconfirmed(kb):
    recovered = condition("guillain-barre", ago(days=200), resolved=ago(days=60))

    caution = caution_alone(kb, patient(recovered), "succinylcholine")

    assert caution.level == AVOID
    assert all(finding.unconfirmed for finding in caution.findings)


def test_a_stroke_without_deficit_recorded_first_does_not_hide_a_later_spinal_cord_injury(kb):
    # §4.2: spinal cord injury 72 h to 6 months: CI, whatever else is recorded before it.
    stroke = condition("stroke", ago(days=30), motor_deficit=False)
    injury = condition("spinal-cord-injury", ago(days=10), motor_deficit=True)

    assert succinylcholine_level(kb, stroke, injury) == CONTRAINDICATED


def test_a_healed_trauma_recorded_first_does_not_hide_a_new_one(kb):
    # §4.2, trauma 72 h to 3 months: CI. An old trauma, healed after three months, is in no
    # phase of the trauma window; a new trauma entered after it still is.
    healed = condition("major-trauma", ago(days=400), resolved=ago(days=250))
    new = condition("major-trauma", ago(days=5))

    assert succinylcholine_level(kb, healed, new) == CONTRAINDICATED
    assert succinylcholine_level(kb, new, healed) == CONTRAINDICATED
