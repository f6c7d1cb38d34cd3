"""Rules that apply only when a clinician overrides the receptor state."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    CONTRAINDICATED,
    NONE,
    ago,
    assert_matrix_cell,
    caution_alone,
    check,
    condition,
    patient,
)


@pytest.mark.parametrize("state", ["up", "mixed"])
def test_recorded_up_regulation_contraindicates_succinylcholine(kb, state):
    caution = caution_alone(kb, patient(receptor_state=state), "succinylcholine")

    assert caution.level == CONTRAINDICATED
    assert caution.effects == ("hyperkalemia",)
    assert caution.findings[0].triggered_by == (f"receptor-state:{state}",)


def test_recorded_up_regulation_gives_non_depolariser_resistance(kb):
    assert_matrix_cell(kb, patient(receptor_state="up"), "AMINO", ADJUST, {"resistance"})
    assert_matrix_cell(kb, patient(receptor_state="up"), "BENZ", ADJUST, {"resistance"})


def test_recorded_down_regulation_gives_succinylcholine_resistance(kb):
    assert_matrix_cell(kb, patient(receptor_state="down"), "SUX", ADJUST, {"resistance"})


def test_recorded_down_regulation_gives_non_depolariser_sensitivity(kb):
    assert_matrix_cell(
        kb, patient(receptor_state="down"), "AMINO", ADJUST, {"increased_sensitivity"}
    )


def test_recorded_normal_state_adds_no_caution(kb):
    for drug in ("succinylcholine", "rocuronium", "sugammadex"):
        assert caution_alone(kb, patient(receptor_state="normal"), drug).level == NONE


def test_derived_receptor_state_alone_never_triggers_the_override_rules(kb):
    evaluation = check(kb, patient(condition("immobilization", ago(days=30))), ("rocuronium",))

    assert evaluation.receptor_state.value == "up"
    assert not any(
        finding.rule.startswith("receptor-override") for finding in evaluation.cautions[0].findings
    )


def test_override_rules_are_flagged_unconfirmed(kb):
    caution = caution_alone(kb, patient(receptor_state="down"), "rocuronium")

    assert all(finding.unconfirmed for finding in caution.findings)
