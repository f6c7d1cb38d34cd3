"""Local tuning's safety floors, for every rule of the real knowledge base, and the overlay's
marks (pure: no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
