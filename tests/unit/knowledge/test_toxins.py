"""Botulism and organophosphate rows of the §5 matrix."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    MONITOR,
    ago,
    assert_matrix_cell,
    caution_alone,
    condition,
    patient,
)

BOTULISM_ROW = [
    ("SUX", AVOID, {"hyperkalemia"}),
    ("AMINO", ADJUST, {"unpredictable"}),
    ("BENZ", ADJUST, {"unpredictable"}),
    ("MIVA", ADJUST, {"unpredictable"}),
    ("AG/PMX", AVOID, {"increased_sensitivity"}),
    ("Mg", AVOID, {"increased_sensitivity"}),
    ("NEO", AVOID, {"reduced_reversal"}),
    ("SUG", MONITOR, set()),
]
ORGANOPHOSPHATE_ROW = [
    ("SUX", AVOID, {"prolonged"}),
    ("AMINO", MONITOR, {"unpredictable"}),
    ("BENZ", MONITOR, set()),
    ("MIVA", AVOID, {"prolonged"}),
    ("AG/PMX", MONITOR, set()),
    ("Mg", MONITOR, set()),
    ("NEO", AVOID, {"cholinergic"}),
    ("SUG", MONITOR, set()),
]


@pytest.mark.parametrize(("column", "level", "effects"), BOTULISM_ROW)
def test_botulism_gives_the_matrix_row(kb, column, level, effects):
    assert_matrix_cell(kb, patient(condition("botulism", ago(days=20))), column, level, effects)


def test_every_botulism_rule_is_flagged_unconfirmed_for_lack_of_human_data(kb):
    state = patient(condition("botulism", ago(days=20)))

    for drug in ("succinylcholine", "rocuronium", "neostigmine", "sugammadex"):
        assert all(finding.unconfirmed for finding in caution_alone(kb, state, drug).findings)


@pytest.mark.parametrize(("column", "level", "effects"), ORGANOPHOSPHATE_ROW)
def test_organophosphate_toxicity_gives_the_matrix_row(kb, column, level, effects):
    state = patient(condition("organophosphate-poisoning", ago(days=3)))

    assert_matrix_cell(kb, state, column, level, effects)


@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium"])
def test_succinylcholine_and_mivacurium_stay_avoided_38_days_after_resolved_poisoning(kb, drug):
    poisoning = condition("organophosphate-poisoning", ago(days=38), resolved=ago(days=30))

    caution = caution_alone(kb, patient(poisoning), drug)

    assert caution.level == AVOID
    assert caution.effects == ("prolonged",)
    assert "cholinesterase" in caution.monitoring


# §6.11 and §7: apnoea 38 days after exposure with very low cholinesterase; "check BChE
# regardless of time since exposure" (S73, A). Citation audit 2026-11-29: nothing let a normal
# result end the avoid.
@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium"])
def test_a_normal_cholinesterase_after_resolved_poisoning_lowers_the_avoid_to_monitor(kb, drug):
    poisoning = condition(
        "organophosphate-poisoning",
        ago(days=38),
        resolved=ago(days=30),
        cholinesterase_activity="normal",
    )

    caution = caution_alone(kb, patient(poisoning), drug)

    assert caution.level == MONITOR
    assert caution.effects == ()
    assert all(finding.unconfirmed for finding in caution.findings)


@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium"])
def test_a_normal_cholinesterase_during_active_toxicity_keeps_the_avoid(kb, drug):
    poisoning = condition(
        "organophosphate-poisoning", ago(days=3), cholinesterase_activity="normal"
    )

    assert caution_alone(kb, patient(poisoning), drug).level == AVOID


@pytest.mark.parametrize("activity", ["low", "unknown"])
@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium"])
def test_a_low_or_unknown_cholinesterase_keeps_the_avoid_after_resolution(kb, drug, activity):
    poisoning = condition(
        "organophosphate-poisoning",
        ago(days=400),
        resolved=ago(days=300),
        cholinesterase_activity=activity,
    )

    caution = caution_alone(kb, patient(poisoning), drug)

    assert caution.level == AVOID
    assert caution.effects == ("prolonged",)


def test_the_mivacurium_caution_after_organophosphates_is_unconfirmed(kb):
    # §5: "AV PROLONG (B: S66; U specific)".
    state = patient(condition("organophosphate-poisoning", ago(days=3)))

    assert all(f.unconfirmed for f in caution_alone(kb, state, "mivacurium").findings)
