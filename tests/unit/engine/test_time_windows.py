"""Time-windowed rules: phases by hours since onset, uncertain onsets and resolution."""

from __future__ import annotations

import datetime as dt

import pytest

from periop.drugs.engine import ConditionInput, KnowledgeBase, Level, evaluate
from periop.drugs.engine.timeline import Span, elapsed_until
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, hours_before, state

TWO_YEARS = 17520


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    kb_files.add_rule(
        "sux-burn-window",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"]},
        phases=[
            {"from_hours": 0, "to_hours": 24, "level": "monitor", "summary": "Under 24 h."},
            {
                "from_hours": 24,
                "to_hours": 72,
                "level": "avoid",
                "effects": ["hyperkalemia"],
                "summary": "24 to 72 h.",
            },
            {
                "from_hours": 72,
                "status": "ongoing",
                "level": "contraindicated",
                "effects": ["hyperkalemia"],
                "summary": "From 72 h until healed.",
            },
            {
                "from_hours": 72,
                "to_hours": TWO_YEARS,
                "status": "resolved",
                "level": "contraindicated",
                "effects": ["hyperkalemia"],
                "summary": "Healed less than two years ago.",
            },
            {
                "from_hours": TWO_YEARS,
                "status": "resolved",
                "level": "none",
                "summary": "Healed and two years on.",
            },
        ],
    )
    kb_files.add_rule(
        "sux-stroke-window",
        drugs=["succinylcholine"],
        when={"conditions": ["stroke"]},
        phases=[
            {"from_hours": 0, "to_hours": 72, "level": "monitor", "summary": "Stroke under 72 h."},
            {"from_hours": 72, "level": "contraindicated", "summary": "Stroke from 72 h."},
        ],
    )
    kb_files.add_rule(
        "roc-active-burn",
        level="monitor",
        when={"conditions": ["burn"]},
    )
    kb_files.add_rule(
        "roc-any-burn",
        level="monitor",
        when={"conditions": ["burn"], "condition_status": "any"},
    )
    return kb_files.load()


def burn(onset: object, resolved: object = None) -> ConditionInput:
    return ConditionInput("burn", onset=onset, resolved=resolved)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("age", "level"),
    [
        (dt.timedelta(0), Level.MONITOR),
        (dt.timedelta(hours=24) - dt.timedelta(microseconds=1), Level.MONITOR),
        (dt.timedelta(hours=24), Level.AVOID),
        (dt.timedelta(hours=72) - dt.timedelta(microseconds=1), Level.AVOID),
        (dt.timedelta(hours=72), Level.CONTRAINDICATED),
        (dt.timedelta(days=400), Level.CONTRAINDICATED),
    ],
    ids=[
        "at onset",
        "a microsecond under 24 h",
        "exactly 24 h",
        "a microsecond under 72 h",
        "exactly 72 h",
        "400 days",
    ],
)
def test_it_applies_the_phase_whose_window_holds_the_exact_age(
    kb: KnowledgeBase, age: dt.timedelta, level: Level
):
    caution = caution_for(kb, state(burn(AT - age)), "succinylcholine")

    assert caution.level is level
    assert caution.assumptions == ()


def test_it_measures_hours_across_time_zones_exactly(kb: KnowledgeBase):
    onset = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 08:00Z

    assert caution_for(kb, state(burn(onset)), "succinylcholine").level is Level.AVOID


def test_it_reads_a_date_only_onset_as_every_time_of_that_day_and_takes_the_worst_phase(
    kb: KnowledgeBase,
):
    caution = caution_for(kb, state(burn(dt.date(2026, 11, 21))), "succinylcholine")

    assert caution.level is Level.AVOID
    assert caution.summary == "24 to 72 h."
    assert caution.assumptions == (
        "Burn injury: onset given as a date (2026-11-21); evaluated over every time of that day.",
        "Burn injury: time since onset uncertain; phases 0 to 24 hours, 24 to 72 hours are "
        "possible; the most restrictive applies.",
    )


def test_it_counts_a_date_as_starting_at_utc_plus_14_and_ending_at_utc_minus_12(
    kb: KnowledgeBase,
):
    # 2026-11-19 begins at 2026-11-18T10:00Z and ends at 2026-11-20T12:00Z: 44 to 94 hours
    # before the evaluation, so the 24 to 72 hours phase is possible alongside the 72 h one.
    caution = caution_for(kb, state(burn(dt.date(2026, 11, 19))), "succinylcholine")
    phases_note = caution.assumptions[-1]

    assert caution.level is Level.CONTRAINDICATED
    assert "phases 24 to 72 hours, from 72 hours (ongoing) are possible" in phases_note


def test_it_starts_a_date_no_earlier_than_midnight_at_utc_plus_14(kb: KnowledgeBase):
    # 2026-11-19 begins at 2026-11-18T10:00Z: at 2026-11-21T10:00Z the burn may be 72 h old,
    # a microsecond earlier it cannot be.
    patient = state(burn(dt.date(2026, 11, 19)))
    at_ten = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
    just_before = at_ten - dt.timedelta(microseconds=1)

    assert evaluate(patient, ["succinylcholine"], at_ten, kb).highest_level is Level.CONTRAINDICATED
    assert evaluate(patient, ["succinylcholine"], just_before, kb).highest_level is Level.AVOID


@pytest.mark.parametrize(
    ("span", "interval", "within"),
    [
        (Span(10, 20), (10, 30), True),
        (Span(10, 20, lo_closed=False), (10, 30, False), True),
        (Span(11, 20), (10, 30, False), True),
        (Span(10, 20), (10, 30, False), False),
        (Span(10, 20, hi_closed=False), (0, 20), True),
        (Span(10, 20), (0, 20), False),
        (Span(10, 20), (0, 20, True, True), True),
        (Span(10, None), (0, None), True),
        (Span(None, 20), (0, None), False),
    ],
    ids=[
        "closed start on a closed bound",
        "open start on an open bound",
        "closed start inside an open bound",
        "closed start on an open bound",
        "open end on an open bound",
        "closed end on an open bound",
        "closed end on a closed bound",
        "open-ended on both",
        "unbounded start",
    ],
)
def test_a_span_is_within_an_interval_only_when_every_point_is(
    span: Span, interval: tuple[int, int | None] | tuple[int, int | None, bool, bool], within: bool
):
    assert span.within(*interval) is within


@pytest.mark.parametrize(
    ("span", "interval", "meets"),
    [
        (Span(None, 20), (0, 10), True),
        (Span(None, 20), (30, None), False),
        (Span(10, None), (0, 10), False),
        (Span(10, None), (0, 10, True, True), True),
        (Span(10, 20, hi_closed=False), (20, 30), False),
        (Span(10, 20), (20, 30), True),
        # One instant on the interval's own bound: in it only if that bound is closed.
        (Span(20, 20), (20, 30, False), False),
        (Span(20, 20), (20, 30, True), True),
        (Span(10, 10), (0, 10), False),
        (Span(10, 10), (0, 10, True, True), True),
        # An open bound of the span on a closed instant: they share no point.
        (Span(10, 15, lo_closed=False), (10, 10, True, True), False),
        (Span(5, 10, hi_closed=False), (10, 10, True, True), False),
    ],
    ids=[
        "unbounded start, overlapping",
        "unbounded start, after it",
        "unbounded end, touching an open end",
        "unbounded end, touching a closed end",
        "open end touching a closed start",
        "closed end touching a closed start",
        "an instant on an open start",
        "an instant on a closed start",
        "an instant on an open end",
        "an instant on a closed end",
        "an open start on a closed instant",
        "an open end on a closed instant",
    ],
)
def test_a_span_meets_an_interval_when_they_share_a_point(
    span: Span, interval: tuple[int, int | None] | tuple[int, int | None, bool, bool], meets: bool
):
    assert span.meets(*interval) is meets


def test_the_time_elapsed_from_a_start_known_to_no_bound_runs_from_zero_to_no_bound():
    assert elapsed_until(Span(None, None), 100) == Span(0, None)


def test_it_ends_a_date_just_before_the_next_midnight_at_utc_minus_12(kb: KnowledgeBase):
    # 2026-11-20 ends (exclusive) at 2026-11-21T12:00Z: at 2026-11-22T12:00Z the burn is more
    # than 24 h old whatever its time; a microsecond earlier it may be just under 24 h old.
    # (It began at 2026-11-19T10:00Z, so it may also be over 72 h old either way.)
    patient = state(burn(dt.date(2026, 11, 20)))
    at_noon = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    just_before = at_noon - dt.timedelta(microseconds=1)

    at_noon_caution = evaluate(patient, ["succinylcholine"], at_noon, kb).cautions[0]
    just_before_caution = evaluate(patient, ["succinylcholine"], just_before, kb).cautions[0]

    assert "phases 24 to 72 hours, from 72 hours (ongoing) are" in at_noon_caution.assumptions[-1]
    all_three = "phases 0 to 24 hours, 24 to 72 hours, from 72 hours (ongoing) are"
    assert all_three in just_before_caution.assumptions[-1]


def test_it_reports_no_phase_assumption_when_a_whole_date_falls_in_one_phase(kb: KnowledgeBase):
    evaluation = evaluate(state(burn(dt.date(2026, 11, 1))), ["succinylcholine"], AT, kb)

    assert evaluation.cautions[0].level is Level.CONTRAINDICATED
    assert evaluation.cautions[0].assumptions == ()
    assert evaluation.assumptions == (
        "Burn injury: onset given as a date (2026-11-01); evaluated over every time of that day.",
    )


def test_it_takes_the_most_cautious_phase_over_every_possible_unknown_onset(kb: KnowledgeBase):
    caution = caution_for(kb, state(burn(None)), "succinylcholine")

    assert caution.level is Level.CONTRAINDICATED
    assert caution.assumptions[0] == (
        "Burn injury: onset unknown; the most cautious level over all possible onsets is used."
    )
    all_three = "phases 0 to 24 hours, 24 to 72 hours, from 72 hours (ongoing) are possible"
    assert all_three in caution.assumptions[1]


def test_it_uses_the_resolved_phases_once_the_condition_has_resolved(kb: KnowledgeBase):
    healed = burn(hours_before(24 * 100), resolved=hours_before(24 * 10))

    caution = caution_for(kb, state(healed), "succinylcholine")

    assert caution.level is Level.CONTRAINDICATED
    assert caution.summary == "Healed less than two years ago."


def test_it_gives_no_finding_for_a_phase_of_level_none(kb: KnowledgeBase):
    healed_long_ago = burn(hours_before(TWO_YEARS + 1000), resolved=hours_before(TWO_YEARS))

    caution = caution_for(kb, state(healed_long_ago), "succinylcholine")

    assert caution.level is Level.NONE
    assert caution.findings == ()
    assert caution.summary == "No specific caution."


def test_it_takes_both_statuses_when_a_resolution_date_straddles_the_evaluation(
    kb: KnowledgeBase,
):
    maybe_healed = burn(hours_before(TWO_YEARS + 1000), resolved=dt.date(2026, 11, 22))

    caution = caution_for(kb, state(maybe_healed), "succinylcholine")

    assert caution.level is Level.CONTRAINDICATED
    assert caution.summary == "From 72 h until healed."
    assert (
        "Burn injury: resolution given as a date (2026-11-22); evaluated over every time of "
        "that day." in caution.assumptions
    )
    assert any("may or may not be resolved" in note for note in caution.assumptions)


def test_it_fires_an_active_rule_only_while_the_condition_is_not_resolved(kb: KnowledgeBase):
    healed = state(burn(hours_before(500), resolved=hours_before(100)))
    open_wound = state(burn(hours_before(500), resolved=hours_before(-100)))

    assert [f.rule for f in caution_for(kb, healed, "rocuronium").findings] == ["roc-any-burn"]
    assert [f.rule for f in caution_for(kb, open_wound, "rocuronium").findings] == [
        "roc-active-burn",
        "roc-any-burn",
    ]


def test_it_treats_a_condition_resolved_exactly_at_the_evaluation_as_resolved(kb: KnowledgeBase):
    patient = state(burn(hours_before(500), resolved=AT))

    assert [f.rule for f in caution_for(kb, patient, "rocuronium").findings] == ["roc-any-burn"]


def test_it_counts_a_possibly_resolved_condition_as_active_and_says_so(kb: KnowledgeBase):
    patient = state(burn(hours_before(500), resolved=dt.date(2026, 11, 22)))

    caution = caution_for(kb, patient, "rocuronium")

    assert [f.rule for f in caution.findings] == ["roc-active-burn", "roc-any-burn"]
    assert "Burn injury: may not be active at the planned time; counted." in caution.assumptions


def test_it_takes_the_worst_phase_over_several_episodes_and_names_what_set_it(kb: KnowledgeBase):
    patient = state(
        burn(hours_before(2)),
        ConditionInput("stroke", onset=hours_before(200)),
        burn(hours_before(30)),
    )

    finding = caution_for(kb, patient, "succinylcholine").findings

    assert [(f.rule, f.level, f.triggered_by) for f in finding] == [
        ("sux-stroke-window", Level.CONTRAINDICATED, ("condition:stroke",)),
        ("sux-burn-window", Level.AVOID, ("condition:burn",)),
    ]
