"""Effects that outlast the episode: resolved conditions and stopped medications
(clinical-reference.md §3, §4.2, §5, §5.1, §6.11, §7), and the aftermath every definition states."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    assert_matrix_cell,
    caution_alone,
    cautions,
    check,
    condition,
    medication,
    patient,
    rules_of,
)


def bolus(code: str, minutes: float) -> object:
    """A single dose: a medication started and stopped at the minute it was given."""
    given = ago(hours=minutes / 60)
    return medication(code, given, stopped=given)


def no_source_note(name: str, event: str, notes: tuple[str, ...]) -> bool:
    return any(
        note.startswith(f"{name}: {event}") and "no source states how long" in note
        for note in notes
    )


# --- Cholinesterase inhibitors given before succinylcholine ---------------------------------------


@pytest.mark.parametrize("minutes", [1, 20, 90, 60 * 24])
def test_neostigmine_given_before_succinylcholine_avoids_it(kb, minutes):
    # §7, neostigmine given, then SCh: AV, PROLONG (S23; S22: 11.1 -> 35 min).
    caution = caution_alone(kb, patient(bolus("neostigmine", minutes)), "succinylcholine")

    assert caution.level == AVOID
    assert caution.effects == ("prolonged",)
    assert rules_of(caution) == {"neostigmine-given-succinylcholine-prolonged"}
    assert no_source_note("Neostigmine", "stopped", caution.assumptions)


def test_neostigmine_recorded_on_a_date_before_succinylcholine_avoids_it(kb):
    # §7, neostigmine then SCh: AV (S22, S23); a date-only dose may be minutes old.
    given = dt.date(2026, 11, 22)
    state = patient(medication("neostigmine", given, stopped=given))

    assert caution_alone(kb, state, "succinylcholine").level == AVOID


def test_a_pyridostigmine_dose_before_succinylcholine_prolongs_it(kb):
    # §7, pyridostigmine (or any AChEI) x SUX: DA, PROLONG; single acute doses in S22
    # (pyridostigmine 25 mg: 13.1 -> 23.9 min).
    caution = caution_alone(kb, patient(bolus("pyridostigmine", 20)), "succinylcholine")

    assert caution.level == ADJUST
    assert "prolonged" in caution.effects


def test_a_pyridostigmine_dose_before_mivacurium_prolongs_it(kb):
    # §7, chronic pyridostigmine x MIVA: DA, PROLONG (BChE substrate; U, mechanistic).
    caution = caution_alone(kb, patient(bolus("pyridostigmine", 20)), "mivacurium")

    assert caution.level == ADJUST
    assert "prolonged" in caution.effects


# --- Aminoglycoside and polymyxin courses stopped recently ---------------------------------------


@pytest.mark.parametrize(
    "code", ["gentamicin", "tobramycin", "amikacin", "neomycin", "streptomycin"]
)
@pytest.mark.parametrize("hours", [1, 6, 48])
def test_a_recently_stopped_aminoglycoside_still_potentiates_every_blocker(kb, code, hours):
    # §7, aminoglycosides x all NMBAs including SCh: DA, SENS+ (S46, S23). No source gives a
    # time after stopping, so the course keeps counting (most cautious reading).
    state = patient(medication(code, ago(days=5), stopped=ago(hours=hours)))

    for blocker in ("succinylcholine", "rocuronium", "cisatracurium", "mivacurium"):
        caution = caution_alone(kb, state, blocker)
        assert (blocker, caution.level) == (blocker, ADJUST)
        assert "increased_sensitivity" in caution.effects
        assert no_source_note(kb.drugs[code].name, "stopped", caution.assumptions)


def test_a_stopped_aminoglycoside_makes_neostigmine_reversal_harder(kb):
    # §7, aminoglycosides x NEO: DA, REV- (S23).
    state = patient(medication("gentamicin", ago(days=3), stopped=ago(hours=4)))

    caution = caution_alone(kb, state, "neostigmine")

    assert caution.level == ADJUST
    assert "reduced_reversal" in caution.effects


def test_a_stopped_aminoglycoside_in_renal_impairment_is_counted_the_same_cautious_way(kb):
    # §7 gives no figure for renal impairment; the stopped course already counts in full.
    state = patient(
        condition("renal-impairment", ago(years=1), crcl_ml_min=20),
        medication("gentamicin", ago(days=3), stopped=ago(days=2)),
    )

    assert caution_alone(kb, state, "rocuronium").level == ADJUST


@pytest.mark.parametrize("code", ["polymyxin-b", "colistin"])
def test_a_recently_stopped_polymyxin_still_avoids_blockers(kb, code):
    # §7, polymyxin B / colistin x all NMBAs including SCh: AV, SENS+ (S47a, S47b boxed warning).
    state = patient(medication(code, ago(days=4), stopped=ago(hours=12)))

    for blocker in ("succinylcholine", "rocuronium", "atracurium"):
        caution = caution_alone(kb, state, blocker)
        assert (blocker, caution.level) == (blocker, AVOID)
        assert no_source_note(kb.drugs[code].name, "stopped", caution.assumptions)


def test_myasthenia_with_a_stopped_aminoglycoside_keeps_rocuronium_adjusted(kb):
    # §5, MG x AMINO: DA; §7, aminoglycoside x AMINO: DA (V06 with the course just stopped).
    state = patient(
        condition("myasthenia-gravis", ago(years=3), antibody="achr"),
        medication("gentamicin", ago(hours=36), stopped=ago(hours=2)),
    )

    assert caution_alone(kb, state, "rocuronium").level == ADJUST


# --- Immobilisation and critical illness after mobility returns -----------------------------------


@pytest.mark.parametrize("days_since_mobile", [1, 30, 365])
def test_immobilisation_of_a_week_keeps_succinylcholine_avoided_after_mobility_returns(
    kb, days_since_mobile
):
    # §4.2, immobilisation from about 3 days: AV (S11, S14); its end "until mobility is
    # restored" is U, so resolving never lowers it.
    immobility = condition(
        "immobilization", ago(days=7 + days_since_mobile), resolved=ago(days=days_since_mobile)
    )

    caution = caution_alone(kb, patient(immobility), "succinylcholine")

    assert caution.level == AVOID
    assert "hyperkalemia" in caution.effects
    assert no_source_note("Prolonged immobilisation", "resolved", caution.assumptions)


def test_critical_illness_of_ten_days_keeps_succinylcholine_avoided_after_recovery(kb):
    # §4.2, ICU 3 to 16 days: AV (S14; threshold U); no end after recovery is sourced.
    illness = condition("critical-illness", ago(days=11), resolved=ago(days=1))

    assert caution_alone(kb, patient(illness), "succinylcholine").level == AVOID


def test_critical_illness_keeps_its_non_depolariser_caution_after_recovery(kb):
    # §5, critical illness x AMINO: DA, VAR (S81).
    illness = condition("critical-illness", ago(days=30), resolved=ago(days=3))

    caution = caution_alone(kb, patient(illness), "rocuronium")

    assert caution.level == ADJUST
    assert "unpredictable" in caution.effects


# --- Botulism: late up-regulation -------------------------------------------------------------


@pytest.mark.parametrize("days_since_recovery", [1, 60, 365])
def test_botulism_keeps_succinylcholine_avoided_after_recovery(kb, days_since_recovery):
    # §3 row 6: up-regulation comes later (S01; rat AChR up at 128 days, S75); §5 botulism x
    # SUX: AV, HYPERK. Human timing U, so recovery never lowers it.
    botulism = condition(
        "botulism", ago(days=30 + days_since_recovery), resolved=ago(days=days_since_recovery)
    )

    caution = caution_alone(kb, patient(botulism), "succinylcholine")

    assert caution.level == AVOID
    assert caution.effects == ("hyperkalemia",)
    assert no_source_note("Botulism", "resolved", caution.assumptions)


def test_recovered_botulism_keeps_its_whole_matrix_row(kb):
    # §5 botulism row: AMINO DA VAR, NEO AV REV- (S75; U).
    state = patient(condition("botulism", ago(days=200), resolved=ago(days=100)))

    assert_matrix_cell(kb, state, "AMINO", ADJUST, {"unpredictable"})
    assert_matrix_cell(kb, state, "NEO", AVOID, {"reduced_reversal"})


def test_recovered_botulism_still_up_regulates_the_receptors(kb):
    # §3 row 6: AChR regulation "Up later" (S01, S75).
    evaluation = check(
        kb, patient(condition("botulism", ago(days=200), resolved=ago(days=100))), ["rocuronium"]
    )

    assert evaluation.receptor_state.value == "up"


# --- Penicillamine re-exposure after penicillamine-induced myasthenia ----------------------------


@pytest.mark.parametrize("years_since_resolution", [0.1, 1, 5])
def test_penicillamine_is_not_restarted_after_penicillamine_myasthenia_resolves(
    kb, years_since_resolution
):
    # §5.1, penicillamine-induced MG x penicillamine: AV, do not restart (S77c).
    myasthenia = condition(
        "penicillamine-myasthenia",
        ago(years=years_since_resolution + 1),
        resolved=ago(years=years_since_resolution),
    )

    caution = caution_alone(kb, patient(myasthenia), "penicillamine")

    assert caution.level == AVOID
    assert "worsens_disease" in caution.effects
    assert "penicillamine-myasthenia-rechallenge-avoid" in rules_of(caution)


def test_resolved_penicillamine_myasthenia_is_still_treated_as_myasthenia(kb):
    # §5, penicillamine-induced MG: as MG generalised (S77b); AMINO DA SENS+ (S19). Signs
    # persisted up to 42 months (S77a) and no end after resolution is sourced.
    state = patient(condition("penicillamine-myasthenia", ago(years=2), resolved=ago(days=90)))

    caution = caution_alone(kb, state, "rocuronium")

    assert caution.level == ADJUST
    assert no_source_note("Penicillamine-induced myasthenia", "resolved", caution.assumptions)


# --- What a source does bound ---------------------------------------------------------------


def test_corrected_hypermagnesaemia_ends_at_once_without_an_assumption(kb):
    # §3 row 9: the effect lasts while serum Mg is elevated (S41a, S41b).
    corrected = condition("hypermagnesemia", ago(days=3), resolved=ago(days=1))

    caution = caution_alone(kb, patient(corrected), "rocuronium")

    assert caution.level == NONE
    assert caution.assumptions == ()


@pytest.mark.parametrize(
    ("days_since_recovery", "summary_start"),
    [
        (10, "Guillain-Barré syndrome recovered under a month ago"),
        (200, "Guillain-Barré syndrome recovered over a month ago"),
    ],
)
def test_recovered_guillain_barre_avoids_succinylcholine_counted_from_recovery(
    kb, days_since_recovery, summary_start
):
    # §4.2, GBS after recovery: AV for at least months (S80: arrest a month after recovery; U).
    gbs = condition(
        "guillain-barre", ago(days=60 + days_since_recovery), resolved=ago(days=days_since_recovery)
    )

    caution = caution_alone(kb, patient(gbs), "succinylcholine")

    assert caution.level == AVOID
    assert caution.summary.startswith(summary_start)


def test_a_lifelong_condition_recorded_as_resolved_keeps_its_cautions(kb):
    # §3 row 22, MH susceptibility: lifelong; §5 MH x SUX: CI (S13, S64).
    state = patient(
        condition("malignant-hyperthermia-susceptibility", ago(years=10), resolved=ago(years=1))
    )

    caution = caution_alone(kb, state, "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert any("no stated end" in note for note in caution.assumptions)


def test_a_stopped_medication_and_its_planned_interactions_are_reported_once(kb):
    # §7: the neostigmine note appears in the caution and once in the evaluation.
    state = patient(bolus("neostigmine", 20))

    evaluation = check(kb, state, ["succinylcholine", "rocuronium"])
    by_drug = cautions(kb, state, ["succinylcholine", "rocuronium"])

    assert by_drug["rocuronium"].level == NONE
    assert sum("Neostigmine: stopped" in note for note in evaluation.assumptions) == 1


# --- Every definition states its aftermath ---------------------------------------------------


def test_every_condition_and_drug_declares_a_cited_or_explicitly_unstated_aftermath(kb):
    for item in (*kb.conditions.values(), *kb.drugs.values()):
        aftermath = item.aftermath
        assert aftermath.basis.strip(), item.code
        if aftermath.sourced:
            assert aftermath.references, item.code
        for reference in aftermath.references:
            assert reference in kb.references, (item.code, reference)


@pytest.mark.parametrize(
    "code", ["myasthenia-gravis", "botulism", "immobilization", "critical-illness", "burn"]
)
def test_conditions_the_reference_gives_no_end_are_unstated(kb, code):
    # §3, §4.2, §11: no source states when these effects end after resolution.
    assert kb.conditions[code].aftermath.kind == "unstated"


def test_a_monitor_level_is_never_reached_by_resolving_an_unstated_condition(kb):
    # The level a resolved immobilisation keeps is the active one, never the old monitor.
    active = condition("immobilization", ago(days=20))
    resolved = condition("immobilization", ago(days=20), resolved=ago(days=2))

    assert (
        caution_alone(kb, patient(resolved), "succinylcholine").level
        == caution_alone(kb, patient(active), "succinylcholine").level
        != MONITOR
    )


# --- How long a stopped medication was taken ------------------------------------------------


def test_a_single_phenytoin_load_stopped_a_month_ago_stays_an_acute_exposure(kb):
    # §7, acute phenytoin (< about 10 days) x AMINO: DA, SENS+ (S56); resistance needs about
    # 10 days to 2 weeks of therapy (S56), which a single load never reached.
    load = medication("phenytoin", ago(days=30), stopped=ago(days=30))

    caution = caution_alone(kb, patient(load), "rocuronium")

    assert caution.level == ADJUST
    assert caution.effects == ("increased_sensitivity",)


def test_two_years_of_phenytoin_stopped_a_month_ago_stays_a_chronic_exposure(kb):
    # §7, chronic phenytoin (>= about 10-14 days) x AMINO and cisatracurium: DA, SENS- (S53-S55).
    course = medication("phenytoin", ago(years=2), stopped=ago(days=30))

    assert caution_alone(kb, patient(course), "rocuronium").effects == ("resistance",)
    assert caution_alone(kb, patient(course), "cisatracurium").level == ADJUST


def test_a_short_icu_stay_long_ago_keeps_the_level_it_reached_not_a_higher_one(kb):
    # §4.2, ICU 3 to 16 days: AV (S14: the risk grows with ICU days); 5 days in intensive care
    # never reached the 16-day level, however long ago the recovery.
    illness = condition("critical-illness", ago(days=30), resolved=ago(days=25))

    assert caution_alone(kb, patient(illness), "succinylcholine").level == AVOID


def test_a_day_of_immobility_weeks_ago_gives_no_succinylcholine_caution(kb):
    # §4.2, immobilisation under 24 hours in a previously mobile patient: NO.
    immobility = condition("immobilization", ago(days=21), resolved=ago(days=20, hours=12))

    assert caution_alone(kb, patient(immobility), "succinylcholine").level == NONE


def test_penicillamine_counts_for_the_42_months_its_myasthenic_effect_was_seen_to_last(kb):
    # §3 row 8 and §6.11: some signs persisted up to 42 months after stopping (S77a).
    assert kb.drugs["penicillamine"].aftermath.references == ("S77a",)
    inside = check(
        kb, patient(medication("penicillamine", ago(years=4), stopped=ago(years=3))), ["rocuronium"]
    )
    beyond = check(
        kb, patient(medication("penicillamine", ago(years=5), stopped=ago(years=4))), ["rocuronium"]
    )

    assert any("Penicillamine: stopped" in note and "(S77a)" in note for note in inside.assumptions)
    assert not any("Penicillamine: stopped" in note for note in beyond.assumptions)
