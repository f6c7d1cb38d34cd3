"""The drugs a restrictive caution names to give instead (`alternatives`), over a synthetic
knowledge base and, as a property, over the real one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import ConditionInput, KnowledgeBase, Level, PatientState, evaluate
from tests.unit.engine import test_properties
from tests.unit.engine.builders import AT, KnowledgeFiles, hours_before, state

BURN = ConditionInput("burn", onset=hours_before(240), attributes={"tbsa_percent": 40})
MG = ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes={"antibody": "achr"})
STROKE = ConditionInput("stroke", onset=hours_before(240))


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    add = kb_files.add_rule
    add(
        "sux-burn",
        drugs=["succinylcholine"],
        level="contraindicated",
        when={"conditions": ["burn"]},
        alternatives=[{"drug": "rocuronium", "references": ["R1"]}],
    )
    add(
        "sux-mg-adjust",
        drugs=["succinylcholine"],
        level="adjust",
        when={"conditions": ["myasthenia-gravis"]},
        alternatives=[{"drug": "rocuronium", "references": ["R1"]}],
    )
    add(
        "sux-stroke-avoid",
        drugs=["succinylcholine"],
        level="avoid",
        when={"conditions": ["stroke"]},
        alternatives=[{"drug": "vecuronium", "references": ["R2"]}],
    )
    add(
        "roc-burn-dose",
        drugs=["rocuronium"],
        level="adjust",
        when={"conditions": ["burn"]},
        doses=[{"text": "1.2 mg/kg.", "per_kg_mg": {"min": "1.2", "max": "1.2"}}],
    )
    add(
        "roc-stroke-avoid",
        drugs=["rocuronium"],
        level="avoid",
        when={"conditions": ["stroke"]},
    )
    add(
        "vecuronium-mg-avoid",
        drugs=["vecuronium"],
        level="avoid",
        when={"conditions": ["myasthenia-gravis"]},
    )
    add(
        "gentamicin-mg-avoid",
        drugs=["gentamicin"],
        level="avoid",
        when={"conditions": ["myasthenia-gravis"]},
        alternatives=[
            {"drug": "sugammadex", "references": ["R1"], "present": ["group:aminosteroid"]}
        ],
    )
    return kb_files.load()


def _cautions(kb: KnowledgeBase, patient: PatientState, *drugs: str) -> dict[str, object]:
    evaluation = evaluate(patient, drugs, AT, kb)
    return {caution.drug: caution.alternatives for caution in evaluation.cautions}


def test_a_contraindicated_caution_names_the_alternative_with_its_dose_for_the_patient(
    kb: KnowledgeBase,
):
    evaluation = evaluate(state(BURN, weight_kg=Decimal(80)), ["succinylcholine"], AT, kb)

    assert evaluation.cautions[0].level is Level.CONTRAINDICATED
    assert evaluation.cautions[0].alternatives == ("rocuronium",)
    (rocuronium,) = evaluation.alternative_cautions
    assert rocuronium.drug == "rocuronium"
    assert rocuronium.level is Level.ADJUST
    assert rocuronium.dose is not None
    assert rocuronium.dose.total_mg is not None
    assert rocuronium.dose.total_mg.minimum == Decimal("96.0")


def test_an_alternative_already_planned_is_not_offered(kb: KnowledgeBase):
    evaluation = evaluate(state(BURN), ["succinylcholine", "rocuronium"], AT, kb)

    assert [caution.alternatives for caution in evaluation.cautions] == [(), ()]
    assert evaluation.alternative_cautions == ()


def test_an_alternative_the_patient_should_avoid_is_not_offered(kb: KnowledgeBase):
    # The stroke names vecuronium, which myasthenia gravis rates avoid.
    evaluation = evaluate(state(STROKE, MG), ["succinylcholine"], AT, kb)

    assert evaluation.cautions[0].level is Level.AVOID
    assert evaluation.cautions[0].alternatives == ()
    assert evaluation.alternative_cautions == ()


def test_only_findings_at_the_caution_s_own_restrictive_level_name_alternatives(
    kb: KnowledgeBase,
):
    # Adjust: no alternative. Contraindicated after a burn over an avoid after a stroke: only
    # the contraindicating finding's alternative (rocuronium, which the stroke rates avoid) could
    # be named, never the avoid finding's vecuronium.
    assert _cautions(kb, state(MG), "succinylcholine") == {"succinylcholine": ()}
    assert _cautions(kb, state(STROKE), "succinylcholine") == {"succinylcholine": ("vecuronium",)}
    assert _cautions(kb, state(BURN, STROKE), "succinylcholine") == {"succinylcholine": ()}


def test_an_alternative_that_needs_another_drug_present_is_offered_only_with_it(
    kb: KnowledgeBase,
):
    assert _cautions(kb, state(MG), "gentamicin") == {"gentamicin": ()}
    assert _cautions(kb, state(MG), "gentamicin", "vecuronium")["gentamicin"] == ("sugammadex",)


def test_no_alternative_means_no_extra_cautions(kb: KnowledgeBase):
    evaluation = evaluate(state(), ["succinylcholine", "rocuronium"], AT, kb)

    assert all(caution.alternatives == () for caution in evaluation.cautions)
    assert evaluation.alternative_cautions == ()


# --- The real knowledge base ---------------------------------------------------------------

REAL = test_properties.KB


def _encoded_alternatives() -> list[tuple[str, str]]:
    if REAL is None:
        return []
    return sorted(
        {(rule.id, alternative.drug) for rule in REAL.rules for alternative in rule.alternatives}
    )


@pytest.mark.skipif(REAL is None, reason="The real knowledge base does not load.")
def test_the_real_knowledge_base_encodes_the_reference_s_alternatives():
    assert ("sux-burn-window", "rocuronium") in _encoded_alternatives()
    assert ("myotonic-neostigmine-avoid", "sugammadex") in _encoded_alternatives()


@pytest.mark.skipif(REAL is None, reason="The real knowledge base does not load.")
def test_a_major_burn_after_three_days_offers_rocuronium_at_1_2_mg_per_kg():
    assert REAL is not None
    burn = ConditionInput("burn", onset=hours_before(120), attributes={"tbsa_percent": 35})
    evaluation = evaluate(
        PatientState(conditions=(burn,), weight_kg=Decimal(58)), ["succinylcholine"], AT, REAL
    )

    assert evaluation.cautions[0].level is Level.CONTRAINDICATED
    assert evaluation.cautions[0].alternatives == ("rocuronium",)
    (rocuronium,) = evaluation.alternative_cautions
    assert rocuronium.level < Level.AVOID


@test_properties.SETTINGS
@given(
    patient=test_properties.patients(),
    drugs=test_properties.planned_drugs(),
    extra=st.sampled_from(["succinylcholine", "neostigmine"]),
)
@pytest.mark.skipif(REAL is None, reason="The real knowledge base does not load.")
def test_an_offered_alternative_is_never_planned_nor_rated_avoid_for_the_patient(
    patient: PatientState, drugs: list[str], extra: str
):
    assert REAL is not None
    planned = list(dict.fromkeys([extra, *drugs]))
    evaluation = evaluate(patient, planned, AT, REAL)
    for caution in evaluation.cautions:
        if caution.level < Level.AVOID:
            assert caution.alternatives == ()
        for alternative in caution.alternatives:
            assert alternative not in planned
            rated = evaluate(patient, [*planned, alternative], AT, REAL).cautions[-1]
            assert rated.drug == alternative
            assert rated.level < Level.AVOID


def _rules_with_alternatives() -> list[str]:
    return sorted(rule.id for rule in REAL.rules if rule.alternatives) if REAL else []


@pytest.mark.parametrize("rule_id", _rules_with_alternatives())
@test_properties.SETTINGS
@given(data=st.data())
def test_no_encoded_alternative_is_offered_when_the_patient_should_avoid_it(
    rule_id: str, data: st.DataObject
):
    """Patients whom each rule with alternatives fits, with other conditions and medications
    besides, and the drugs the alternatives need planned or not."""
    assert REAL is not None
    rule = REAL.index.rules_by_id[rule_id]
    fitting, companions = data.draw(test_properties.patients_firing(rule))
    others = data.draw(test_properties.patients())
    patient = PatientState(
        conditions=fitting.conditions + others.conditions,
        medications=fitting.medications + others.medications,
        weight_kg=fitting.weight_kg,
    )
    needed = sorted({code for a in rule.alternatives for code in a.present_codes})
    target = data.draw(st.sampled_from(sorted(rule.target_drugs)))
    extra = data.draw(st.lists(st.sampled_from(needed), unique=True)) if needed else []
    planned = list(dict.fromkeys([target, *companions, *extra]))
    evaluation = evaluate(patient, planned, AT, REAL)
    for caution in evaluation.cautions:
        for alternative in caution.alternatives:
            assert caution.level >= Level.AVOID
            assert alternative not in planned
            rated = evaluate(patient, [*planned, alternative], AT, REAL).cautions[-1]
            assert (rated.drug, rated.level < Level.AVOID) == (alternative, True)
