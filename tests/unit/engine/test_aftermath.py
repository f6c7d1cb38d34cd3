"""Aftermath: a resolved condition or a stopped medication keeps counting for as long as its
definition declares, and phases can count hours since the resolution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from periop.drugs.engine import (
    ConditionInput,
    KnowledgeBase,
    KnowledgeBaseError,
    Level,
    MedicationInput,
    evaluate,
)
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, hours_before, state

# Gentamicin's aftermath in these tests.
EIGHT_HOURS = {
    "aftermath_hours": 8,
    "aftermath_references": ["R2"],
    "aftermath_basis": "Reference two: eight hours.",
}
UNSTATED = {
    "aftermath": "unstated",
    "aftermath_basis": "Nothing read says how long.",
    "aftermath_hours": None,
    "aftermath_references": None,
}


def declare(item: dict[str, object], **declaration: object) -> None:
    """Replaces an item's aftermath declaration; a None value removes the key."""
    for key in ("aftermath", "aftermath_hours", "aftermath_references", "aftermath_basis"):
        item.pop(key, None)
    item.update({key: value for key, value in declaration.items() if value is not None})


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    declare(kb_files.drug("gentamicin"), **EIGHT_HOURS)
    declare(kb_files.drug("phenytoin"), **UNSTATED)
    declare(
        kb_files.condition("myasthenia-gravis"),
        aftermath="unbounded",
        aftermath_references=["R1"],
        aftermath_basis="Reference one: lifelong.",
    )
    declare(kb_files.condition("stroke"), **UNSTATED)
    kb_files.add_rule(
        "roc-aminoglycoside",
        level="adjust",
        when={"present": ["group:aminoglycoside"]},
    )
    kb_files.add_rule(
        "roc-phenytoin-chronic",
        level="adjust",
        when={"medications": ["phenytoin"], "medication_hours": {"min": 240}},
    )
    kb_files.add_rule("roc-myasthenia", level="adjust", when={"conditions": ["myasthenia-gravis"]})
    kb_files.add_rule(
        "sux-stroke-window",
        drugs=["succinylcholine"],
        when={"conditions": ["stroke"]},
        phases=[
            {"from_hours": 0, "to_hours": 72, "level": "monitor", "summary": "Under 72 h."},
            {"from_hours": 72, "level": "contraindicated", "summary": "From 72 h."},
        ],
    )
    kb_files.add_rule(
        "sux-burn-recovery",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"], "condition_status": "any"},
        phases=[
            {"from_hours": 0, "status": "ongoing", "level": "contraindicated", "summary": "Open."},
            {
                "from_hours": 0,
                "to_hours": 720,
                "since": "resolution",
                "status": "resolved",
                "level": "avoid",
                "summary": "Healed under a month ago.",
            },
            {
                "from_hours": 720,
                "since": "resolution",
                "status": "resolved",
                "level": "monitor",
                "summary": "Healed a month ago or more.",
            },
        ],
    )
    return kb_files.load()


def gentamicin(stopped: object) -> MedicationInput:
    return MedicationInput("gentamicin", started=hours_before(100), stopped=stopped)  # type: ignore[arg-type]


def test_it_counts_a_stopped_medication_inside_its_stated_aftermath_and_names_the_source(
    kb: KnowledgeBase,
):
    caution = caution_for(kb, state(medications=(gentamicin(hours_before(5)),)), "rocuronium")

    assert [finding.rule for finding in caution.findings] == ["roc-aminoglycoside"]
    assert caution.assumptions == (
        f"Gentamicin: stopped ({hours_before(5).isoformat()}); its effect lasts 8 hours after that "
        "(R2); counted as active within that time.",
    )


@pytest.mark.parametrize(
    ("hours", "counted"),
    [(8 - 1e-6, True), (8, False), (30, False)],
    ids=["a microsecond inside", "exactly at the end", "long after"],
)
def test_it_ends_a_stated_aftermath_exactly_at_its_last_hour(
    kb: KnowledgeBase, hours: float, counted: bool
):
    caution = caution_for(kb, state(medications=(gentamicin(hours_before(hours)),)), "rocuronium")

    assert (caution.level is Level.ADJUST) is counted


def test_it_counts_a_date_only_stop_whose_aftermath_may_still_run_and_says_so(kb: KnowledgeBase):
    # Stopped some time on 21 November: with 8 hours of aftermath it may still act at 08:00Z on
    # the 22nd (a stop late that day in a western time zone), or may not.
    caution = caution_for(kb, state(medications=(gentamicin(dt.date(2026, 11, 21)),)), "rocuronium")

    assert caution.level is Level.ADJUST
    assert (
        "Gentamicin: stop given as a date (2026-11-21); evaluated over every time of that day."
        in caution.assumptions
    )


def test_it_keeps_counting_an_item_without_a_sourced_aftermath_and_says_so(kb: KnowledgeBase):
    phenytoin = MedicationInput(
        "phenytoin", started=hours_before(24 * 700), stopped=hours_before(1)
    )
    long_ago = MedicationInput(
        "phenytoin", started=hours_before(24 * 7000), stopped=hours_before(24 * 3000)
    )

    for medication in (phenytoin, long_ago):
        caution = caution_for(kb, state(medications=(medication,)), "rocuronium")

        assert caution.level is Level.ADJUST
        assert caution.assumptions == (
            f"Phenytoin: stopped ({medication.stopped.isoformat()}); no source states how "  # type: ignore[union-attr]
            "long its effect lasts after that, so it is counted as still active (the most "
            "cautious reading).",
        )


def test_a_medication_started_and_stopped_at_the_same_minute_counts_through_its_aftermath(
    kb: KnowledgeBase,
):
    bolus = MedicationInput("gentamicin", started=hours_before(1), stopped=hours_before(1))

    assert caution_for(kb, state(medications=(bolus,)), "rocuronium").level is Level.ADJUST


def test_it_keeps_a_condition_with_no_stated_end_active(kb: KnowledgeBase):
    resolved = ConditionInput(
        "myasthenia-gravis", onset=hours_before(9000), resolved=hours_before(10)
    )

    caution = caution_for(kb, state(resolved), "rocuronium")

    assert caution.level is Level.ADJUST
    assert caution.assumptions == (
        f"Myasthenia gravis: resolved ({hours_before(10).isoformat()}); its effect has no "
        "stated end (R1); counted as still active.",
    )


def test_a_phased_rule_sees_a_condition_inside_its_aftermath_as_ongoing(kb: KnowledgeBase):
    resolved = ConditionInput("stroke", onset=hours_before(200), resolved=hours_before(100))

    caution = caution_for(kb, state(resolved), "succinylcholine")

    assert caution.level is Level.CONTRAINDICATED
    assert any("Stroke: resolved" in note for note in caution.assumptions)


def test_it_counts_receptor_effects_through_the_aftermath(kb: KnowledgeBase):
    resolved = ConditionInput("stroke", onset=hours_before(200), resolved=hours_before(100))

    evaluation = evaluate(state(resolved), ("rocuronium",), AT, kb)

    assert evaluation.receptor_state.value == "up"
    assert any("Stroke: resolved" in note for note in evaluation.assumptions)


@pytest.mark.parametrize(
    ("resolved", "level", "summary"),
    [
        (None, Level.CONTRAINDICATED, "Open."),
        (hours_before(1), Level.AVOID, "Healed under a month ago."),
        (hours_before(720 - 1e-6), Level.AVOID, "Healed under a month ago."),
        (hours_before(720), Level.MONITOR, "Healed a month ago or more."),
    ],
    ids=["open", "healed an hour ago", "a microsecond under a month", "exactly a month"],
)
def test_a_phase_counts_hours_since_the_resolution(
    kb: KnowledgeBase, resolved: dt.datetime | None, level: Level, summary: str
):
    burn = ConditionInput("burn", onset=hours_before(24 * 400), resolved=resolved)

    caution = caution_for(kb, state(burn), "succinylcholine")

    assert caution.level is level
    assert caution.summary == summary


def test_a_date_only_resolution_takes_the_worst_phase_since_resolution(kb: KnowledgeBase):
    burn = ConditionInput("burn", onset=hours_before(24 * 400), resolved=dt.date(2026, 10, 23))

    caution = caution_for(kb, state(burn), "succinylcholine")

    assert caution.level is Level.AVOID
    assert any("time since resolution uncertain" in note for note in caution.assumptions)


def test_a_rule_firing_only_through_an_aftermath_never_supersedes_another(
    kb_files: KnowledgeFiles,
):
    declare(kb_files.drug("phenytoin"), **UNSTATED)
    kb_files.add_rule("roc-general", level="adjust", when={"conditions": ["burn"]})
    kb_files.add_rule(
        "roc-specific",
        level="monitor",
        supersedes=["roc-general"],
        when={"medications": ["phenytoin"]},
    )
    kb = kb_files.load()
    burn = ConditionInput("burn", onset=hours_before(100))
    taking = MedicationInput("phenytoin", started=hours_before(50))
    stopped = MedicationInput("phenytoin", started=hours_before(50), stopped=hours_before(10))

    assert caution_for(kb, state(burn, medications=(taking,)), "rocuronium").level is Level.MONITOR
    assert caution_for(kb, state(burn, medications=(stopped,)), "rocuronium").level is Level.ADJUST


INVALID: dict[str, tuple[Callable[[KnowledgeFiles], None], str, str, str]] = {
    "condition without a declaration": (
        lambda files: declare(files.condition("burn")),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "missing aftermath declaration",
    ),
    "drug without a declaration": (
        lambda files: declare(files.drug("gentamicin")),
        "knowledge/drugs.toml",
        "drug 'gentamicin'",
        "missing aftermath declaration",
    ),
    "hours without references": (
        lambda files: declare(files.drug("gentamicin"), aftermath_hours=8, aftermath_basis="X."),
        "knowledge/drugs.toml",
        "drug 'gentamicin'",
        "aftermath_hours needs aftermath_references",
    ),
    "unbounded without references": (
        lambda files: declare(
            files.drug("gentamicin"), aftermath="unbounded", aftermath_basis="X."
        ),
        "knowledge/drugs.toml",
        "drug 'gentamicin'",
        "needs aftermath_references",
    ),
    "negative hours": (
        lambda files: declare(
            files.drug("gentamicin"),
            aftermath_hours=-1,
            aftermath_references=["R1"],
            aftermath_basis="X.",
        ),
        "knowledge/drugs.toml",
        "drug 'gentamicin'",
        "aftermath_hours -1 must not be below 0",
    ),
    "both forms": (
        lambda files: declare(
            files.condition("burn"),
            aftermath="unstated",
            aftermath_hours=8,
            aftermath_references=["R1"],
            aftermath_basis="X.",
        ),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "not both",
    ),
    "no basis": (
        lambda files: declare(files.condition("burn"), aftermath="unstated"),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "missing required key 'aftermath_basis'",
    ),
    "unknown marker": (
        lambda files: declare(files.condition("burn"), aftermath="forever", aftermath_basis="X."),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "aftermath 'forever' is not one of unbounded, unstated",
    ),
    "unknown reference": (
        lambda files: declare(
            files.condition("burn"),
            aftermath="unbounded",
            aftermath_references=["R9"],
            aftermath_basis="X.",
        ),
        "knowledge/conditions.toml",
        "condition 'burn'",
        "unknown reference id 'R9'",
    ),
    "since resolution without the resolved status": (
        lambda files: files.add_rule(
            "sux-burn",
            drugs=["succinylcholine"],
            when={"conditions": ["burn"]},
            phases=[
                {"from_hours": 0, "since": "resolution", "level": "avoid", "summary": "S."},
            ],
        ),
        "knowledge/rules/base.toml",
        "rule 'sux-burn' phase #1",
        'needs status = "resolved"',
    ),
}


@pytest.mark.parametrize(
    ("change", "path", "entry", "message"), INVALID.values(), ids=list(INVALID)
)
def test_it_rejects_an_invalid_aftermath_naming_the_file_and_entry(
    kb_files: KnowledgeFiles,
    change: Callable[[KnowledgeFiles], None],
    path: str,
    entry: str,
    message: str,
):
    change(kb_files)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == path
    assert raised.value.entry == entry
    assert message in raised.value.message


def test_it_loads_each_form_of_declaration(kb: KnowledgeBase):
    assert kb.drugs["gentamicin"].aftermath.hours == 8
    assert kb.drugs["gentamicin"].aftermath.references == ("R2",)
    assert kb.drugs["phenytoin"].aftermath.sourced is False
    assert kb.conditions["myasthenia-gravis"].aftermath.kind == "unbounded"
    assert kb.conditions["myasthenia-gravis"].aftermath.sourced is True


@pytest.fixture
def kb_with_stop_window(kb_files: KnowledgeFiles) -> KnowledgeBase:
    declare(kb_files.drug("pyridostigmine"), **UNSTATED)
    kb_files.add_rule(
        "sux-pyridostigmine-recent-dose",
        drugs=["succinylcholine"],
        level="avoid",
        when={"medications": ["pyridostigmine"], "medication_hours": {"max": 2, "since": "stop"}},
    )
    return kb_files.load()


@pytest.mark.parametrize(
    ("stopped", "fires"),
    [
        (None, False),
        (hours_before(1), True),
        (hours_before(2 - 1e-6), True),
        (hours_before(2), False),
        (dt.date(2026, 11, 21), True),
    ],
    ids=["still taken", "an hour ago", "a microsecond inside", "exactly 2 h", "date straddles"],
)
def test_a_medication_window_can_count_hours_since_the_stop(
    kb_with_stop_window: KnowledgeBase, stopped: object, fires: bool
):
    dose = MedicationInput("pyridostigmine", started=hours_before(5), stopped=stopped)  # type: ignore[arg-type]

    caution = caution_for(kb_with_stop_window, state(medications=(dose,)), "succinylcholine")

    assert (caution.level is Level.AVOID) is fires


def test_it_rejects_an_unknown_medication_clock(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "roc-pyridostigmine",
        when={"medications": ["pyridostigmine"], "medication_hours": {"max": 2, "since": "dose"}},
    )

    with pytest.raises(KnowledgeBaseError, match="since 'dose' is not one of start, stop"):
        kb_files.load()


@pytest.fixture
def kb_with_duration_window(kb_files: KnowledgeFiles) -> KnowledgeBase:
    declare(kb_files.condition("stroke"), **UNSTATED)
    kb_files.add_rule(
        "sux-stroke-duration",
        drugs=["succinylcholine"],
        when={"conditions": ["stroke"]},
        phases=[
            {
                "from_hours": 0,
                "to_hours": 72,
                "until": "resolution",
                "level": "monitor",
                "summary": "Lasted under 72 h.",
            },
            {
                "from_hours": 72,
                "until": "resolution",
                "level": "avoid",
                "summary": "Lasted 72 h or more.",
            },
        ],
    )
    return kb_files.load()


@pytest.mark.parametrize(
    ("onset", "resolved", "level"),
    [
        (100, None, Level.AVOID),
        (1000, 990, Level.MONITOR),
        (1000, 928, Level.AVOID),
        (1000, dt.date(2026, 10, 14), Level.AVOID),  # lasted 42 to 92 h
    ],
    ids=["still going after 100 h", "lasted 10 h", "lasted exactly 72 h", "uncertain end"],
)
def test_a_phase_can_count_how_long_the_condition_lasted(
    kb_with_duration_window: KnowledgeBase,
    onset: float,
    resolved: float | dt.date | None,
    level: Level,
):
    end = hours_before(resolved) if isinstance(resolved, float | int) else resolved
    stroke = ConditionInput("stroke", onset=hours_before(onset), resolved=end)

    assert caution_for(kb_with_duration_window, state(stroke), "succinylcholine").level is level


def test_it_rejects_a_duration_counted_from_the_resolution(kb_files: KnowledgeFiles):
    kb_files.add_rule(
        "sux-burn",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"]},
        phases=[
            {
                "from_hours": 0,
                "since": "resolution",
                "until": "resolution",
                "status": "resolved",
                "level": "avoid",
                "summary": "S.",
            },
        ],
    )

    with pytest.raises(KnowledgeBaseError, match='needs since = "onset"'):
        kb_files.load()


def test_the_phases_note_names_only_the_clocks_that_are_uncertain(kb_files: KnowledgeFiles):
    # Phases on two clocks overlap: the time since the onset is uncertain (a date), the time
    # since the resolution is not (an instant), so only the first is named.
    kb_files.add_rule(
        "sux-burn-two-clocks",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"], "condition_status": "any"},
        phases=[
            {"from_hours": 0, "to_hours": 168, "level": "monitor", "summary": "First week."},
            {
                "from_hours": 0,
                "to_hours": 720,
                "since": "resolution",
                "status": "resolved",
                "level": "avoid",
                "summary": "Healed under a month ago.",
            },
        ],
    )
    kb = kb_files.load()
    burn = ConditionInput("burn", onset=dt.date(2026, 11, 19), resolved=hours_before(10))

    caution = caution_for(kb, state(burn), "succinylcholine")

    assert caution.level is Level.AVOID
    assert (
        "Burn injury: time since onset uncertain; phases 0 to 7 days, 0 to 30 days after "
        "resolution (resolved) are possible; the most restrictive applies."
    ) in caution.assumptions


def test_a_phased_rule_firing_only_through_an_aftermath_never_supersedes_another(
    kb_files: KnowledgeFiles,
):
    # A phased rule for an active condition sees a resolved burn inside its aftermath as
    # ongoing; it may fire, but it holds only through that assumption, so it lowers nothing.
    declare(kb_files.condition("burn"), **UNSTATED)
    kb_files.add_rule("roc-general", level="adjust", when={"conditions": ["burn"]})
    kb_files.add_rule(
        "roc-phased",
        supersedes=["roc-general"],
        when={"conditions": ["burn"]},
        phases=[{"from_hours": 0, "level": "monitor", "summary": "Burn."}],
    )
    kb = kb_files.load()
    ongoing = ConditionInput("burn", onset=hours_before(100))
    healed = ConditionInput("burn", onset=hours_before(100), resolved=hours_before(10))

    assert [f.rule for f in caution_for(kb, state(ongoing), "rocuronium").findings] == [
        "roc-phased"
    ]
    assert caution_for(kb, state(healed), "rocuronium").level is Level.ADJUST


def test_a_medication_with_an_aftermath_that_stops_later_is_certain_and_supersedes(
    kb_files: KnowledgeFiles,
):
    """Gentamicin (8 hours of aftermath) stopping in 5 hours is certainly still taken: its rule
    lowers the rule it supersedes. Stopped 5 hours ago it acts only through its aftermath, so
    it never supersedes."""
    declare(kb_files.drug("gentamicin"), **EIGHT_HOURS)
    kb_files.add_rule("roc-general", level="avoid")
    kb_files.add_rule(
        "roc-on-gentamicin",
        level="adjust",
        supersedes=["roc-general"],
        when={"medications": ["gentamicin"]},
    )
    kb = kb_files.load()

    later = caution_for(kb, state(medications=(gentamicin(hours_before(-5)),)), "rocuronium")
    lingering = caution_for(kb, state(medications=(gentamicin(hours_before(5)),)), "rocuronium")

    assert [finding.rule for finding in later.findings] == ["roc-on-gentamicin"]
    assert later.assumptions == ()
    assert [finding.rule for finding in lingering.findings] == ["roc-general", "roc-on-gentamicin"]
