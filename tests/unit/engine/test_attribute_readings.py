"""Attributes that must be used, and attributes that imply or contradict each other."""

from __future__ import annotations

import pytest

from periop.drugs.engine import ConditionInput, KnowledgeBaseError, Level, evaluate
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, state

CONDITIONS = "knowledge/conditions.toml"


def renal(**attributes: object) -> ConditionInput:
    return ConditionInput(code="renal-impairment", attributes=attributes)


def add_dialysis_implication(kb_files: KnowledgeFiles) -> None:
    """A clearance under 15 mL/min implies dialysis; sugammadex is avoided on dialysis."""
    condition = kb_files.condition("renal-impairment")
    condition["attributes"]["dialysis"] = {"type": "boolean", "label": "On dialysis"}
    condition["implications"] = [
        {
            "when": {"crcl_ml_min": {"max": 14}},
            "then": {"dialysis": [True]},
            "reason": "Test: end-stage clearance.",
            "references": ["R2"],
        }
    ]
    kb_files.add_rule(
        "dialysis-sugammadex-avoid",
        drugs=["sugammadex"],
        level="avoid",
        when={"conditions": ["renal-impairment"], "attributes": {"dialysis": [True]}},
    )
    kb_files.add_rule(
        "no-dialysis-sugammadex-monitor",
        drugs=["sugammadex"],
        level="monitor",
        when={"conditions": ["renal-impairment"], "attributes": {"dialysis": [False]}},
    )


def test_it_refuses_an_attribute_that_no_rule_uses(kb_files: KnowledgeFiles):
    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load(mark_unused=False)

    assert raised.value.path == CONDITIONS
    assert "is accepted but used by no rule" in raised.value.message
    assert 'informational = "reason"' in raised.value.message


def test_it_accepts_an_unused_attribute_marked_informational(kb_files: KnowledgeFiles):
    kb = kb_files.load()

    remission = kb.conditions["myasthenia-gravis"].attributes["in_remission"]
    assert remission.informational == "Used by no rule of this test knowledge base."


def test_it_refuses_an_informational_attribute_that_a_rule_uses(kb_files: KnowledgeFiles):
    burn = kb_files.condition("burn")
    burn["attributes"]["tbsa_percent"]["informational"] = "Said to be unused."
    kb_files.add_rule(
        "big-burn",
        when={"conditions": ["burn"], "attributes": {"tbsa_percent": {"min": 30}}},
    )

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert "'tbsa_percent' is marked informational but is used by big-burn" in raised.value.message


def test_a_receptor_effect_override_counts_as_a_use(kb_files: KnowledgeFiles):
    kb = kb_files.load()

    assert kb.conditions["stroke"].attributes["motor_deficit"].informational is None


def test_an_attribute_that_implies_a_used_attribute_counts_as_used(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)

    kb = kb_files.load()

    assert kb.conditions["renal-impairment"].attributes["crcl_ml_min"].informational is None
    (implication,) = kb.conditions["renal-impairment"].implications
    assert (implication.attribute, implication.values) == ("dialysis", (True,))


@pytest.mark.parametrize(
    ("implication", "message"),
    [
        ({"when": {"potassium": {"max": 1}}}, "unknown attribute 'potassium'"),
        ({"then": {"crcl_ml_min": [1]}}, "cannot imply itself"),
        ({"then": {"dialysis": [True], "crcl_ml_min": [1]}}, "exactly one attribute"),
        ({"references": ["R9"]}, "unknown reference id 'R9'"),
        ({"then": {"dialysis": ["yes"]}}, "'yes' is not true or false"),
    ],
)
def test_it_refuses_an_invalid_implication(kb_files: KnowledgeFiles, implication, message):
    add_dialysis_implication(kb_files)
    kb_files.condition("renal-impairment")["implications"][0].update(implication)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert message in raised.value.message


def test_an_unrecorded_implied_attribute_takes_the_implied_value(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)
    kb = kb_files.load()

    evaluation = evaluate(state(renal(crcl_ml_min=10)), ("sugammadex",), AT, kb)

    assert evaluation.cautions[0].level == Level.AVOID
    assert [f.rule for f in evaluation.cautions[0].findings] == ["dialysis-sugammadex-avoid"]
    assert (
        "Renal impairment: on dialysis not recorded; read as true from creatinine clearance 10."
        in evaluation.assumptions
    )


def test_a_contradiction_keeps_both_readings_and_the_most_cautious_level(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)
    kb = kb_files.load()

    caution = caution_for(kb, state(renal(crcl_ml_min=10, dialysis=False)), "sugammadex")

    assert caution.level == Level.AVOID
    assert {f.rule for f in caution.findings} == {
        "dialysis-sugammadex-avoid",
        "no-dialysis-sugammadex-monitor",
    }
    note = (
        "Renal impairment: on dialysis false contradicts creatinine clearance 10; "
        "both readings are kept and the most cautious applies."
    )
    assert note in caution.assumptions


def test_values_that_agree_are_not_a_contradiction(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)
    kb = kb_files.load()

    evaluation = evaluate(state(renal(crcl_ml_min=10, dialysis=True)), ("sugammadex",), AT, kb)

    assert [f.rule for f in evaluation.cautions[0].findings] == ["dialysis-sugammadex-avoid"]
    assert not [note for note in evaluation.assumptions if "dialysis" in note.lower()]


def test_an_implication_whose_condition_does_not_hold_changes_nothing(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)
    kb = kb_files.load()

    caution = caution_for(kb, state(renal(crcl_ml_min=50, dialysis=False)), "sugammadex")

    assert caution.level == Level.MONITOR
    assert caution.assumptions == ()


def test_a_contradicted_match_cannot_supersede_another_rule(kb_files: KnowledgeFiles):
    add_dialysis_implication(kb_files)
    kb_files.add_rule(
        "renal-sugammadex-general",
        drugs=["sugammadex"],
        level="adjust",
        when={"conditions": ["renal-impairment"]},
    )
    rules = kb_files.documents["rules/base.toml"]["rules"]
    next(r for r in rules if r["id"] == "no-dialysis-sugammadex-monitor")["supersedes"] = [
        "renal-sugammadex-general"
    ]
    kb = kb_files.load()

    certain = caution_for(kb, state(renal(crcl_ml_min=50, dialysis=False)), "sugammadex")
    contradicted = caution_for(kb, state(renal(crcl_ml_min=10, dialysis=False)), "sugammadex")

    assert certain.level == Level.MONITOR
    assert "renal-sugammadex-general" in {f.rule for f in contradicted.findings}
