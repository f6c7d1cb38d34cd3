"""Local tuning's safety floors, for every rule of the real knowledge base, and the overlay's
marks (pure: no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from periop.drugs.engine import Level, load_knowledge_base
from periop.drugs.engine.tuning import (
    LOCAL_TEXT,
    MONITOR_TO_NONE,
    NEVER_LOWERED,
    RAISE,
    Tuning,
    TuningRefused,
    evaluation_tune,
    rule_levels,
    tune_cautions,
    tuning_check,
)

KB = load_knowledge_base(Path(__file__).resolve().parents[3] / "fixtures" / "knowledge")
RULES = {rule.id: rule for rule in KB.rules}
WHO = {"who": "dr-local", "when": "2026-12-01T09:00:00+00:00", "why": "alert fatigue"}


def _caution(rule_id: str, level: Level) -> dict:
    return {
        "drug": "rocuronium",
        "level": level.code,
        "findings": [{"rule": rule_id, "level": level.code, "summary": "as written"}],
    }


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_no_rule_is_lowered_below_its_floor(rule_id):
    rule = RULES[rule_id]
    levels = rule_levels(rule)
    floor = levels & set(NEVER_LOWERED)

    if floor or Level.MONITOR not in levels:
        with pytest.raises(TuningRefused) as refused:
            tuning_check(rule, MONITOR_TO_NONE)
        assert rule_id in str(refused.value)
        if floor:
            assert "never lowered" in str(refused.value)
    else:
        tuning_check(rule, MONITOR_TO_NONE)
    with pytest.raises(TuningRefused, match="raises nothing"):
        tuning_check(rule, RAISE, min(levels))
    # The overlay holds the floor whatever it is given: a forged lowering changes no level
    # above monitor, and the finding stays in the caution.
    forged = {rule_id: [Tuning(rule_id, MONITOR_TO_NONE, **WHO)]}
    for level in levels - {Level.NONE, Level.MONITOR}:
        (tuned,) = tune_cautions([_caution(rule_id, level)], forged)
        assert tuned["level"] == level.code
        assert tuned["findings"][0]["level"] == level.code


def test_monitor_lowered_to_none_stays_visible_and_marked():
    rule_id = "mg-sugammadex-preferred"
    assert rule_levels(RULES[rule_id]) == {Level.MONITOR}
    tuning_check(RULES[rule_id], MONITOR_TO_NONE)

    (tuned,) = tune_cautions(
        [_caution(rule_id, Level.MONITOR)], {rule_id: [Tuning(rule_id, MONITOR_TO_NONE, **WHO)]}
    )

    assert tuned["level"] == "none"
    assert tuned["locally_tuned"] is True
    (finding,) = tuned["findings"]
    assert finding["rule"] == rule_id
    assert finding["level"] == "none"
    assert finding["locally_tuned"] == [
        {"change": "monitor-to-none", "from_level": "monitor", "to_level": "none", **WHO}
    ]


def test_a_lowered_monitor_finding_leaves_a_higher_caution_alone():
    caution = {
        "drug": "sugammadex",
        "level": "adjust",
        "findings": [
            {"rule": "mg-sugammadex-preferred", "level": "monitor"},
            {"rule": "other", "level": "adjust"},
        ],
    }
    tunings = {"mg-sugammadex-preferred": [Tuning("mg-sugammadex-preferred", MONITOR_TO_NONE)]}

    (tuned,) = tune_cautions([caution], tunings)

    assert tuned["level"] == "adjust"
    assert [f["level"] for f in tuned["findings"]] == ["none", "adjust"]


def test_raising_and_local_text_are_marked():
    rule_id = "mg-sugammadex-preferred"
    tuning_check(RULES[rule_id], RAISE, Level.ADJUST)
    tuning_check(RULES[rule_id], LOCAL_TEXT, text="Call the on-call specialist, bleep 1234.")
    tunings = {
        rule_id: [
            Tuning(rule_id, RAISE, level=Level.ADJUST, **WHO),
            Tuning(rule_id, LOCAL_TEXT, text="Call the on-call specialist, bleep 1234.", **WHO),
        ]
    }

    (tuned,) = tune_cautions([_caution(rule_id, Level.MONITOR)], tunings)

    assert tuned["level"] == "adjust"
    marks = tuned["findings"][0]["locally_tuned"]
    assert [mark["change"] for mark in marks] == ["raise", "local-text"]
    assert marks[1]["text"] == "Call the on-call specialist, bleep 1234."


def test_an_untuned_caution_is_returned_as_it_was():
    caution = _caution("mg-sugammadex-preferred", Level.MONITOR)
    assert tune_cautions([caution], {}) == [caution]


def test_empty_local_text_and_unknown_changes_are_refused():
    rule = RULES["mg-sugammadex-preferred"]
    with pytest.raises(TuningRefused, match="Write the local text"):
        tuning_check(rule, LOCAL_TEXT, text=" ")
    with pytest.raises(TuningRefused, match="Unknown tuning"):
        tuning_check(rule, "hide")


def test_an_evaluation_takes_its_highest_level_again_and_names_the_tunings_applied():
    monitor, adjust = "mg-sugammadex-preferred", "mg-aminosteroid-sensitivity"
    body = {
        "highest_level": "adjust",
        "cautions": [
            {**_caution(adjust, Level.ADJUST), "drug": "rocuronium"},
            {**_caution(monitor, Level.MONITOR), "drug": "sugammadex"},
        ],
    }
    raised = Tuning(adjust, RAISE, level=Level.AVOID, id=7, signed_by=("a", "b"), **WHO)
    unused = Tuning("some-other-rule", LOCAL_TEXT, text="Not shown.", id=9, **WHO)

    tuned = evaluation_tune(body, {adjust: [raised], "some-other-rule": [unused]})

    assert tuned["highest_level"] == "avoid"
    assert tuned["tunings"] == [7]
    (mark,) = tuned["cautions"][0]["findings"][0]["locally_tuned"]
    assert (mark["tuning"], mark["signed_by"]) == (7, ["a", "b"])
    assert tuned["cautions"][1] == body["cautions"][1]
    # No tuning that changes a finding: the evaluation as it was, without `tunings`.
    assert evaluation_tune(body, {"some-other-rule": [unused]}) == body
    assert evaluation_tune(body, {}) == body


def test_a_refused_lowering_names_the_most_restrictive_level_the_rule_gives():
    rule = RULES["sux-guillain-barre-window"]
    assert {Level.CONTRAINDICATED, Level.AVOID} <= rule_levels(rule)

    with pytest.raises(TuningRefused, match="gives contraindicated: contraindicated and avoid"):
        tuning_check(rule, MONITOR_TO_NONE)


TUNABLE_LEVELS = [Level.NONE, Level.MONITOR, Level.ADJUST, Level.AVOID, Level.CONTRAINDICATED]


@st.composite
def cautions_and_tunings(draw: st.DrawFn) -> tuple[list[dict], dict[str, list[Tuning]]]:
    """Cautions as the API gives them (a level no lower than any finding's), and tunings of
    any change for some of their rules, whether or not `tuning_check` would accept them."""
    rule_ids = st.sampled_from(sorted(RULES))
    cautions = []
    for index in range(draw(st.integers(1, 5))):
        findings = [
            {"rule": rule_id, "level": draw(st.sampled_from(TUNABLE_LEVELS)).code}
            for rule_id in draw(st.lists(rule_ids, max_size=4, unique=True))
        ]
        floor = max((Level.from_code(f["level"]) for f in findings), default=Level.NONE)
        level = draw(st.sampled_from([lvl for lvl in TUNABLE_LEVELS if lvl >= floor]))
        cautions.append({"drug": f"drug-{index}", "level": level.code, "findings": findings})
    named = sorted({f["rule"] for c in cautions for f in c["findings"]})
    tunings: dict[str, list[Tuning]] = {}
    for rule_id in draw(st.lists(st.sampled_from(named), unique=True)) if named else []:
        change = draw(st.sampled_from([RAISE, MONITOR_TO_NONE, LOCAL_TEXT]))
        level = draw(st.sampled_from(TUNABLE_LEVELS)) if change == RAISE else None
        tunings[rule_id] = [Tuning(rule_id, change, level=level, text="Local text.", **WHO)]
    return cautions, tunings


@settings(max_examples=300, deadline=None)
@given(case=cautions_and_tunings())
def test_tuning_keeps_every_caution_and_finding_and_lowers_only_monitor_to_none(case):
    cautions, tunings = case

    tuned = tune_cautions(cautions, tunings)

    # Every caution, in order, with every finding in its place: nothing is dropped or hidden.
    assert [c["drug"] for c in tuned] == [c["drug"] for c in cautions]
    for before, after in zip(cautions, tuned, strict=True):
        assert [f["rule"] for f in after["findings"]] == [f["rule"] for f in before["findings"]]
        old, new = Level.from_code(before["level"]), Level.from_code(after["level"])
        if not any(f["rule"] in tunings for f in before["findings"]):
            assert after == before
            continue
        findings = [Level.from_code(f["level"]) for f in after["findings"]]
        if new < old:
            # The only lowering: a monitor caution to none, by a monitor-to-none tuning, once
            # no finding is left at monitor or above.
            assert (old, new) == (Level.MONITOR, Level.NONE)
            assert max(findings, default=Level.NONE) == Level.NONE
            assert any(
                tuning.change == MONITOR_TO_NONE
                for f in before["findings"]
                for tuning in tunings.get(f["rule"], ())
            )
        else:
            assert new == max([old, *findings])
        for f_before, f_after in zip(before["findings"], after["findings"], strict=True):
            level_before = Level.from_code(f_before["level"])
            if level_before in (*NEVER_LOWERED, Level.ADJUST):
                assert Level.from_code(f_after["level"]) >= level_before
            # Every mark is true: it names the change of a tuning of this rule, and a level
            # mark says how the level moved (a raise only upwards, a lowering only from
            # monitor); a tuning that changed nothing leaves no mark.
            (tuning,) = tunings.get(f_before["rule"], [None])
            marks = f_after.get("locally_tuned", [])
            assert len(marks) <= 1
            for mark in marks:
                assert tuning is not None
                assert mark["change"] == tuning.change
                if tuning.change == RAISE:
                    assert Level.from_code(mark["to_level"]) > Level.from_code(mark["from_level"])
                    assert mark["from_level"] == f_before["level"]
                elif tuning.change == MONITOR_TO_NONE:
                    assert (mark["from_level"], mark["to_level"]) == ("monitor", "none")
            if tuning is not None and tuning.change == RAISE and tuning.level is not None:
                assert bool(marks) == (tuning.level > level_before)


def test_only_a_monitor_to_none_tuning_lowers_a_caution():
    # A monitor caution whose level none of its findings gives (any other reason the engine
    # may have): local text or a raise that raises nothing never takes it to none.
    caution = {
        "drug": "sugammadex",
        "level": "monitor",
        "findings": [{"rule": "mg-sugammadex-preferred", "level": "none"}],
    }
    for tuning in (
        Tuning("mg-sugammadex-preferred", LOCAL_TEXT, text="Call the on-call specialist."),
        Tuning("mg-sugammadex-preferred", RAISE, level=Level.NONE),
    ):
        (tuned,) = tune_cautions([caution], {"mg-sugammadex-preferred": [tuning]})
        assert tuned["level"] == "monitor"
