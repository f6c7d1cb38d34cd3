"""Combining findings per drug: levels, conflict, supersession, dose, monitoring, determinism."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

import pytest

from periop.drugs.engine import (
    ConditionInput,
    DoseGuidance,
    DoseRange,
    KnowledgeBase,
    Level,
    MedicationInput,
    evaluate,
)
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, hours_before, state

MG = ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes={"antibody": "achr"})
STROKE = ConditionInput("stroke", onset=hours_before(240))
PYRIDOSTIGMINE = MedicationInput("pyridostigmine", started=dt.date(2020, 2, 1))


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    add = kb_files.add_rule
    add(
        "sux-mg-resistance",
        drugs=["succinylcholine"],
        level="adjust",
        effects=["resistance", "prolonged"],
        monitoring="Expect resistance.",
        when={"conditions": ["myasthenia-gravis"]},
    )
    add(
        "sux-stroke",
        drugs=["succinylcholine"],
        level="contraindicated",
        effects=["hyperkalemia"],
        summary="Stroke: lethal hyperkalaemia.",
        when={"conditions": ["stroke"]},
    )
    add(
        "roc-mg-sensitivity",
        drugs=["group:aminosteroid"],
        level="adjust",
        effects=["increased_sensitivity"],
        monitoring="Quantitative TOF.",
        reversal="Prefer sugammadex.",
        summary="MG: sensitive to rocuronium.",
        when={"conditions": ["myasthenia-gravis"]},
        doses=[
            {
                "drugs": ["vecuronium"],
                "text": "Vecuronium: a tenth.",
                "fixed_mg": {"min": "1", "max": "2"},
            },
            {
                "text": "Half the usual dose.",
                "per_kg_mg": {"min": "0.5", "max": "0.6"},
                "max_mg": "40",
            },
        ],
    )
    add(
        "roc-stroke-resistance",
        drugs=["rocuronium"],
        level="monitor",
        effects=["resistance"],
        summary="Hemiparesis: resistance on the paretic side.",
        when={"conditions": ["stroke"]},
    )
    add(
        "roc-renal",
        drugs=["rocuronium"],
        level="monitor",
        effects=["prolonged"],
        reversal="Prefer sugammadex.",
        when={"conditions": ["renal-impairment"]},
        doses=[{"text": "Renal dose.", "fixed_mg": {"min": "5", "max": "5"}}],
    )
    add(
        "vec-general",
        drugs=["vecuronium"],
        level="avoid",
        summary="General vecuronium caution.",
        when={"conditions": ["myasthenia-gravis"]},
    )
    add(
        "vec-ocular",
        drugs=["vecuronium"],
        level="monitor",
        supersedes=["vec-general"],
        when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["seronegative"]}},
    )
    add(
        "gent-renal-general",
        drugs=["gentamicin"],
        level="adjust",
        when={"conditions": ["renal-impairment"]},
    )
    add(
        "gent-renal-mild",
        drugs=["gentamicin"],
        level="none",
        supersedes=["gent-renal-general"],
        when={"conditions": ["renal-impairment"], "attributes": {"crcl_ml_min": {"min": 60}}},
    )
    return kb_files.load()


def test_the_most_restrictive_finding_sets_the_level_and_summary(kb: KnowledgeBase):
    caution = caution_for(kb, state(MG, STROKE), "succinylcholine")

    assert caution.level is Level.CONTRAINDICATED
    assert caution.summary == "Stroke: lethal hyperkalaemia."
    assert [(f.rule, f.level) for f in caution.findings] == [
        ("sux-stroke", Level.CONTRAINDICATED),
        ("sux-mg-resistance", Level.ADJUST),
    ]
    assert caution.effects == ("resistance", "prolonged", "hyperkalemia")
    assert caution.conflict is False


def test_findings_of_equal_level_are_ordered_by_rule_id(kb: KnowledgeBase):
    renal = ConditionInput("renal-impairment", onset=None)
    caution = caution_for(kb, state(renal, STROKE), "rocuronium")

    assert [f.rule for f in caution.findings] == ["roc-renal", "roc-stroke-resistance"]


def test_opposite_effects_set_conflict_unpredictable_and_no_single_dose(kb: KnowledgeBase):
    caution = caution_for(kb, state(MG, STROKE, weight_kg=Decimal(70)), "rocuronium")

    assert caution.conflict is True
    assert caution.effects == ("increased_sensitivity", "resistance", "unpredictable")
    # Both sides are named, sensitivity first; neither is netted against the other
    # (clinical reference, section 1.3, rule 2).
    assert caution.summary == (
        "Opposing effects: response unpredictable; titrate to quantitative TOF. "
        "MG: sensitive to rocuronium. Hemiparesis: resistance on the paretic side."
    )
    assert caution.dose == DoseGuidance(
        text="Findings pull in opposite directions; no single dose applies: give small "
        "increments titrated to quantitative TOF.",
        rule="conflict",
    )


@pytest.mark.parametrize(
    ("weight", "total"),
    [
        (None, None),
        (Decimal(62), DoseRange(Decimal("31.0"), Decimal("37.2"))),
        (Decimal("62.25"), DoseRange(Decimal("31.1"), Decimal("37.4"))),
        (Decimal(75), DoseRange(Decimal("37.5"), Decimal("40.0"))),
        (Decimal(90), DoseRange(Decimal("40.0"), Decimal("40.0"))),
    ],
    ids=["no weight", "62 kg", "62.25 kg rounds half to even", "75 kg reaches the cap", "90 kg"],
)
def test_it_gives_the_per_kg_dose_in_mg_from_the_weight_capped_at_max_mg(
    kb: KnowledgeBase, weight: Decimal | None, total: DoseRange | None
):
    dose = caution_for(kb, state(MG, weight_kg=weight), "rocuronium").dose

    assert dose is not None
    assert (dose.rule, dose.text) == ("roc-mg-sensitivity", "Half the usual dose.")
    assert dose.per_kg_mg == DoseRange(Decimal("0.5"), Decimal("0.6"))
    assert dose.max_mg == Decimal(40)
    assert dose.total_mg == total


@pytest.mark.parametrize("rounding", [decimal.ROUND_UP, decimal.ROUND_DOWN])
def test_the_callers_decimal_context_never_changes_a_dose(kb: KnowledgeBase, rounding: str):
    # 0.5 x 62.25 = 31.125 and 0.6 x 62.25 = 37.35: half to even gives 31.1 and 37.4, which
    # a caller's rounding mode or a three-digit precision would change.
    with decimal.localcontext(prec=3, rounding=rounding):
        dose = caution_for(kb, state(MG, weight_kg=Decimal("62.25")), "rocuronium").dose

    assert dose is not None
    assert dose.total_mg == DoseRange(Decimal("31.1"), Decimal("37.4"))


def test_it_uses_the_first_dose_entry_that_names_the_drug(kb: KnowledgeBase):
    # Seronegative: the ocular rule supersedes the general avoid, so the adjust finding with
    # its dose entries is the most restrictive one.
    seronegative = ConditionInput("myasthenia-gravis", attributes={"antibody": "seronegative"})

    dose = caution_for(kb, state(seronegative, weight_kg=Decimal(70)), "vecuronium").dose

    assert dose is not None
    assert dose.text == "Vecuronium: a tenth."
    assert dose.per_kg_mg is None
    assert dose.total_mg == DoseRange(Decimal(1), Decimal(2))


def test_it_takes_the_dose_of_the_most_restrictive_finding_that_has_one(kb: KnowledgeBase):
    renal = ConditionInput("renal-impairment", onset=None)

    assert caution_for(kb, state(renal), "rocuronium").dose.rule == "roc-renal"  # type: ignore[union-attr]
    assert caution_for(kb, state(renal, MG), "rocuronium").dose.rule == "roc-mg-sensitivity"  # type: ignore[union-attr]


def test_a_milder_findings_dose_is_never_shown_with_a_more_restrictive_level(kb: KnowledgeBase):
    caution = caution_for(kb, state(MG, weight_kg=Decimal(70)), "vecuronium")

    assert caution.level == Level.AVOID
    assert caution.dose is None


def test_it_has_no_dose_when_no_finding_gives_one(kb: KnowledgeBase):
    assert caution_for(kb, state(STROKE), "succinylcholine").dose is None


def test_it_joins_distinct_monitoring_then_the_blocker_guidance(kb: KnowledgeBase):
    rocuronium = caution_for(kb, state(MG), "rocuronium")
    gentamicin = caution_for(kb, state(ConditionInput("renal-impairment")), "gentamicin")
    sugammadex = caution_for(kb, state(), "sugammadex")

    # "Quantitative TOF." says nothing the guidance sentence does not: it is left out.
    assert rocuronium.monitoring == "Quantitative TOF for every blocker."
    assert rocuronium.reversal == "Prefer sugammadex."
    assert gentamicin.monitoring == ""
    assert sugammadex.monitoring == "Quantitative TOF for every blocker."


def test_it_deduplicates_reversal_advice(kb: KnowledgeBase):
    renal = ConditionInput("renal-impairment")

    assert caution_for(kb, state(renal, MG), "rocuronium").reversal == "Prefer sugammadex."


def test_a_superseding_rule_removes_the_rule_it_names(kb: KnowledgeBase):
    seronegative = ConditionInput("myasthenia-gravis", attributes={"antibody": "seronegative"})

    caution = caution_for(kb, state(seronegative), "vecuronium")

    assert [f.rule for f in caution.findings] == ["roc-mg-sensitivity", "vec-ocular"]


def test_a_superseding_rule_of_level_none_lowers_the_caution_to_none(kb: KnowledgeBase):
    mild = ConditionInput("renal-impairment", attributes={"crcl_ml_min": 75})
    severe = ConditionInput("renal-impairment", attributes={"crcl_ml_min": 20})

    assert caution_for(kb, state(mild), "gentamicin").level is Level.NONE
    assert caution_for(kb, state(severe), "gentamicin").level is Level.ADJUST


def test_a_rule_made_certain_by_a_planned_drug_supersedes_but_not_by_a_possibly_stopped_one(
    kb_files: KnowledgeFiles,
):
    kb_files.add_rule("roc-general", drugs=["rocuronium"], level="avoid")
    kb_files.add_rule(
        "roc-with-sugammadex",
        drugs=["rocuronium"],
        level="monitor",
        supersedes=["roc-general"],
        when={"present": ["sugammadex"]},
    )
    kb = kb_files.load()
    maybe_stopped = MedicationInput(
        "sugammadex", started=hours_before(48), stopped=dt.date(2026, 11, 22)
    )

    planned = caution_for(kb, state(), "rocuronium", "sugammadex")
    recorded = caution_for(kb, state(medications=(maybe_stopped,)), "rocuronium")

    assert [f.rule for f in planned.findings] == ["roc-with-sugammadex"]
    assert [f.rule for f in recorded.findings] == ["roc-general", "roc-with-sugammadex"]


def test_a_rule_without_attribute_constraints_supersedes_when_its_condition_is_certain(
    kb_files: KnowledgeFiles,
):
    kb_files.add_rule("roc-general", drugs=["rocuronium"], level="avoid")
    kb_files.add_rule(
        "roc-in-myasthenia",
        drugs=["rocuronium"],
        level="adjust",
        supersedes=["roc-general"],
        when={"conditions": ["myasthenia-gravis"]},
    )
    kb = kb_files.load()

    caution = caution_for(kb, state(MG), "rocuronium")

    assert [f.rule for f in caution.findings] == ["roc-in-myasthenia"]


def test_a_rule_met_by_a_possibly_stopped_medication_never_supersedes(kb_files: KnowledgeFiles):
    kb_files.add_rule("roc-general", drugs=["rocuronium"], level="avoid")
    kb_files.add_rule(
        "roc-on-phenytoin",
        drugs=["rocuronium"],
        level="adjust",
        supersedes=["roc-general"],
        when={"medications": ["phenytoin"]},
    )
    kb = kb_files.load()
    running = MedicationInput("phenytoin", started=hours_before(24 * 30))
    maybe_stopped = MedicationInput(
        "phenytoin", started=hours_before(24 * 30), stopped=dt.date(2026, 11, 22)
    )

    # Stopping the day after the evaluation (at 08:00): certainly still taken.
    stops_later = MedicationInput(
        "phenytoin", started=hours_before(24 * 30), stopped=dt.date(2026, 11, 23)
    )

    certain = caution_for(kb, state(medications=(running,)), "rocuronium")
    uncertain = caution_for(kb, state(medications=(maybe_stopped,)), "rocuronium")
    still_taken = caution_for(kb, state(medications=(stops_later,)), "rocuronium")

    assert [f.rule for f in certain.findings] == ["roc-on-phenytoin"]
    assert [f.rule for f in uncertain.findings] == ["roc-general", "roc-on-phenytoin"]
    assert [f.rule for f in still_taken.findings] == ["roc-on-phenytoin"]


def test_a_rule_that_fires_only_on_an_unknown_value_never_supersedes(kb: KnowledgeBase):
    unknown_antibody = ConditionInput("myasthenia-gravis", attributes={"antibody": "unknown"})
    unknown_clearance = ConditionInput("renal-impairment")

    vecuronium = caution_for(kb, state(unknown_antibody), "vecuronium")
    gentamicin = caution_for(kb, state(unknown_clearance), "gentamicin")

    assert [f.rule for f in vecuronium.findings] == [
        "vec-general",
        "roc-mg-sensitivity",
        "vec-ocular",
    ]
    assert gentamicin.level is Level.ADJUST


def test_it_gives_one_caution_per_drug_in_request_order_and_the_highest_level(kb: KnowledgeBase):
    evaluation = evaluate(
        state(MG, STROKE), ["sugammadex", "succinylcholine", "rocuronium"], AT, kb
    )

    assert [c.drug for c in evaluation.cautions] == ["sugammadex", "succinylcholine", "rocuronium"]
    assert evaluation.cautions[0].level is Level.NONE
    assert evaluation.cautions[0].summary == "No specific caution."
    assert evaluation.cautions[1].drug_class == "depolarizing-blocker"
    assert evaluation.highest_level is Level.CONTRAINDICATED
    assert (evaluation.knowledge_base_version, evaluation.knowledge_base_digest, evaluation.at) == (
        kb.version,
        kb.digest,
        AT,
    )


def test_a_finding_carries_its_rule_rationale_references_and_trigger(kb: KnowledgeBase):
    finding = caution_for(kb, state(MG, medications=(PYRIDOSTIGMINE,)), "succinylcholine").findings[
        0
    ]

    assert finding.rule == "sux-mg-resistance"
    assert finding.rationale == "Rationale of sux-mg-resistance."
    assert finding.references == ("R1",)
    assert finding.triggered_by == ("condition:myasthenia-gravis",)
    assert finding.unconfirmed is False


def test_it_gives_the_same_answer_every_time(kb: KnowledgeBase):
    patient = state(
        MG, STROKE, ConditionInput("burn"), medications=(PYRIDOSTIGMINE,), weight_kg=Decimal("70.5")
    )
    drugs = ["rocuronium", "succinylcholine", "vecuronium", "gentamicin", "sugammadex"]

    first = evaluate(patient, drugs, AT, kb)

    assert all(evaluate(patient, drugs, AT, kb) == first for _ in range(5))
    assert repr(evaluate(patient, drugs, AT, kb)) == repr(first)
