"""Attributes that must be used, and attributes that imply or contradict each other."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    Evaluation,
    KnowledgeBase,
    KnowledgeBaseError,
    Level,
    PatientState,
    evaluate,
    load_knowledge_base,
)
from periop.drugs.engine.attribute_readings import attribute_label
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, hours_before, state
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY

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
        ({"references": []}, "references"),
        ({"then": {"dialysis": ["yes"]}}, "'yes' is not true or false"),
    ],
)
def test_it_refuses_an_invalid_implication(kb_files: KnowledgeFiles, implication, message):
    add_dialysis_implication(kb_files)
    kb_files.condition("renal-impairment")["implications"][0].update(implication)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert message in raised.value.message
    assert raised.value.entry == "condition 'renal-impairment' implications #1"


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


def with_general_rule_superseded_by(kb_files: KnowledgeFiles, rule_id: str) -> KnowledgeBase:
    """The dialysis implication, and a general adjust rule for sugammadex on renal impairment
    that `rule_id` supersedes."""
    add_dialysis_implication(kb_files)
    kb_files.add_rule(
        "renal-sugammadex-general",
        drugs=["sugammadex"],
        level="adjust",
        when={"conditions": ["renal-impairment"]},
    )
    rules = kb_files.documents["rules/base.toml"]["rules"]
    next(r for r in rules if r["id"] == rule_id)["supersedes"] = ["renal-sugammadex-general"]
    return kb_files.load()


def test_a_contradicted_match_cannot_supersede_another_rule(kb_files: KnowledgeFiles):
    kb = with_general_rule_superseded_by(kb_files, "no-dialysis-sugammadex-monitor")

    certain = caution_for(kb, state(renal(crcl_ml_min=50, dialysis=False)), "sugammadex")
    contradicted = caution_for(kb, state(renal(crcl_ml_min=10, dialysis=False)), "sugammadex")

    assert certain.level == Level.MONITOR
    assert "renal-sugammadex-general" in {f.rule for f in contradicted.findings}


# ---------------------------------------------------------------------------------------------
# Readings on the real knowledge base: the dibucaine number implies the genotype
# ---------------------------------------------------------------------------------------------

REAL = load_knowledge_base(KNOWLEDGE_DIRECTORY)
DEFICIENCY = "butyrylcholinesterase-deficiency"
GENOTYPES = REAL.conditions[DEFICIENCY].attributes["genotype"].choices
IMPLICATIONS = REAL.conditions[DEFICIENCY].implications
DRUGS = ("succinylcholine", "mivacurium", "neostigmine")


def deficiency(drug: str, **attributes: object) -> Evaluation:
    state = PatientState(
        conditions=(
            ConditionInput(code=DEFICIENCY, onset=hours_before(48), attributes=attributes),
        ),
        medications=(),
        weight_kg=None,
        receptor_state_override=None,
    )
    return evaluate(state, (drug,), AT, REAL)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(DRUGS),
    st.one_of(st.none(), st.integers(0, 200).map(lambda n: n / 2)),
    st.one_of(st.none(), st.sampled_from(GENOTYPES)),
)
@example("succinylcholine", 85, "heterozygous")  # both readings meet the partial rule
@example("succinylcholine", 10, "heterozygous")  # the readings meet different rules
@example("neostigmine", 29.5, None)  # between the cut-offs: nothing implied
def test_a_genotype_read_from_the_dibucaine_number_or_contradicting_it_applies_every_reading(
    drug, dibucaine, genotype
):
    """Whatever the dibucaine number and the recorded genotype: the genotypes the number implies
    are read when none is recorded; a recorded genotype outside them is read alongside them.
    The caution is the most cautious of the readings, with the rules of each, and it names the
    contradiction exactly when its readings differ in the rules they meet."""
    attributes: dict[str, object] = {}
    if dibucaine is not None:
        attributes["dibucaine_number"] = dibucaine
    if genotype is not None:
        attributes["genotype"] = genotype
    evaluation = deficiency(drug, **attributes)
    (caution,) = evaluation.cautions

    implied = [
        value
        for implication in IMPLICATIONS
        if dibucaine is not None and implication.when["dibucaine_number"].allows(dibucaine)
        for value in implication.values
    ]
    recorded = None if genotype in (None, "unknown") else genotype
    if recorded is None:
        readings = implied
    elif implied and recorded not in implied:
        readings = [recorded, *implied]
    else:
        readings = [recorded]
    alone = [deficiency(drug, genotype=reading).cautions[0] for reading in readings] or [
        deficiency(drug).cautions[0]
    ]
    rules = [{f.rule for f in each.findings} for each in alone]
    assert caution.level == max(each.level for each in alone)
    assert {f.rule for f in caution.findings} == set().union(*rules)
    contradiction = [note for note in caution.assumptions if "contradicts" in note]
    differ = set().union(*rules) != set.intersection(*rules)
    assert bool(contradiction) == differ
    named = [note for note in evaluation.assumptions if "contradicts" in note]
    assert bool(named) == (len(readings) > 1)
    if recorded is None and implied:
        shown = " or ".join(f"'{value}'" for value in implied)
        assert (
            f"deficiency: genotype not recorded; read as {shown} from dibucaine number"
            in " ".join(evaluation.assumptions)
        )


def test_a_rule_met_by_an_implied_value_names_the_reading_and_still_supersedes(
    kb_files: KnowledgeFiles,
):
    """Dialysis implied by a clearance of 10 is a definite reading: the rule on dialysis is
    certain (it supersedes the general rule) and its caution says how dialysis was read."""
    kb = with_general_rule_superseded_by(kb_files, "dialysis-sugammadex-avoid")

    caution = caution_for(kb, state(renal(crcl_ml_min=10)), "sugammadex")

    assert [f.rule for f in caution.findings] == ["dialysis-sugammadex-avoid"]
    assert caution.assumptions == (
        "Renal impairment: on dialysis not recorded; read as true from creatinine clearance 10.",
    )


def test_a_contradiction_that_every_reading_meets_still_supersedes(kb_files: KnowledgeFiles):
    """A clearance of 10 implies dialysis, contradicting the recorded false: a rule that holds
    on or off dialysis is met by both readings, so it is certain and supersedes."""
    add_dialysis_implication(kb_files)
    kb_files.add_rule(
        "renal-sugammadex-general",
        drugs=["sugammadex"],
        level="adjust",
        when={"conditions": ["renal-impairment"]},
    )
    kb_files.add_rule(
        "renal-sugammadex-dialysis-known",
        drugs=["sugammadex"],
        level="monitor",
        when={"conditions": ["renal-impairment"], "attributes": {"dialysis": [True, False]}},
        supersedes=["renal-sugammadex-general"],
    )
    kb = kb_files.load()

    caution = caution_for(kb, state(renal(crcl_ml_min=10, dialysis=False)), "sugammadex")

    assert "renal-sugammadex-general" not in {f.rule for f in caution.findings}
    assert "renal-sugammadex-dialysis-known" in {f.rule for f in caution.findings}


def test_an_implication_chain_makes_each_attribute_along_it_used(kb_files: KnowledgeFiles):
    """A clearance under 15 implies stage 5, stage 5 implies dialysis, a rule reads dialysis: the
    clearance and the stage are used, whichever implication is listed first."""
    add_dialysis_implication(kb_files)
    condition = kb_files.condition("renal-impairment")
    condition["attributes"]["stage"] = {"type": "choice", "choices": ["4", "5"], "label": "Stage"}
    first, *_ = condition["implications"]
    condition["implications"] = [
        {**first, "then": {"stage": ["5"]}},
        {**first, "when": {"stage": ["5"]}, "then": {"dialysis": [True]}},
    ]

    for order in (1, -1):
        condition["implications"] = condition["implications"][::order]
        kb = kb_files.load()
        attributes = kb.conditions["renal-impairment"].attributes
        assert attributes["crcl_ml_min"].informational is None
        assert attributes["stage"].informational is None


def test_an_implication_holds_only_when_every_attribute_of_its_when_holds(
    kb_files: KnowledgeFiles,
):
    add_dialysis_implication(kb_files)
    condition = kb_files.condition("renal-impairment")
    condition["attributes"]["anuric"] = {"type": "boolean", "label": "Anuric"}
    condition["implications"][0]["when"] = {"anuric": [True], "crcl_ml_min": {"max": 14}}
    kb = kb_files.load()

    neither = evaluate(state(renal(crcl_ml_min=10, anuric=False)), ("sugammadex",), AT, kb)
    both = evaluate(state(renal(crcl_ml_min=10, anuric=True)), ("sugammadex",), AT, kb)

    assert not [note for note in neither.assumptions if "read as" in note]
    assert (
        "Renal impairment: on dialysis not recorded; read as true from anuric true and "
        "creatinine clearance 10." in both.assumptions
    )


def test_a_single_implied_value_selects_a_receptor_effect_override(kb_files: KnowledgeFiles):
    """An implied value is read as if recorded, by the receptor effect overrides too."""
    injury = kb_files.condition("spinal-cord-injury")
    injury["attributes"]["recovered"] = {"type": "boolean", "label": "Recovered"}
    injury["implications"] = [
        {
            "when": {"recovered": [True]},
            "then": {"motor_deficit": [False]},
            "reason": "Test: recovered.",
            "references": ["R2"],
        }
    ]
    kb = kb_files.load()
    onset = hours_before(240)

    recovered = evaluate(
        state(ConditionInput("spinal-cord-injury", onset=onset, attributes={"recovered": True})),
        ("rocuronium",),
        AT,
        kb,
    )
    recorded = evaluate(
        state(
            ConditionInput("spinal-cord-injury", onset=onset, attributes={"motor_deficit": False})
        ),
        ("rocuronium",),
        AT,
        kb,
    )

    assert recovered.receptor_state == recorded.receptor_state
    assert recovered.receptor_state.value == "normal"


def test_a_caution_met_by_some_implied_values_names_their_reading(kb_files: KnowledgeFiles):
    """A clearance under 15 implies dialysis, and a stage of 4 or 5: a rule for stage 5 alone is
    uncertain and names the stage's reading; the avoid rule on dialysis is certain and names how
    dialysis was read."""
    add_dialysis_implication(kb_files)
    condition = kb_files.condition("renal-impairment")
    condition["attributes"]["stage"] = {"type": "choice", "choices": ["4", "5"], "label": "Stage"}
    first = condition["implications"][0]
    condition["implications"].append({**first, "then": {"stage": ["4", "5"]}})
    kb_files.add_rule(
        "stage-5-sugammadex",
        drugs=["sugammadex"],
        level="adjust",
        when={"conditions": ["renal-impairment"], "attributes": {"stage": ["5"]}},
    )
    kb = kb_files.load()

    caution = caution_for(kb, state(renal(crcl_ml_min=10)), "sugammadex")

    assert {"dialysis-sugammadex-avoid", "stage-5-sugammadex"} <= {f.rule for f in caution.findings}
    dialysis = (
        "Renal impairment: on dialysis not recorded; read as true from creatinine clearance 10."
    )
    stage = "Renal impairment: stage not recorded; read as '4' or '5' from creatinine clearance 10."
    assert caution.assumptions == (dialysis, stage)


@pytest.mark.parametrize(
    ("label", "mid_sentence"),
    [
        ("Time since burn", "time since burn"),
        ("Antibody", "antibody"),
        ("Dibucaine-number genotype", "dibucaine-number genotype"),
        ("IgG antibody", "IgG antibody"),
        ("AChR antibody", "AChR antibody"),
        ("Anti-MuSK titre", "anti-MuSK titre"),
        ("MuSK-antibody titre", "MuSK-antibody titre"),
        ("ECG changes", "ECG changes"),
        ("A or B", "A or B"),
        ("X", "X"),
    ],
)
def test_a_label_mid_sentence_lower_cases_only_an_ordinary_first_word(label, mid_sentence):
    definition = SimpleNamespace(attributes={"measure": SimpleNamespace(label=label)})

    assert attribute_label(definition, "measure") == mid_sentence  # type: ignore[arg-type]
