"""What makes a rule fire: attributes, medications and their timing, co-present drugs."""

from __future__ import annotations

import datetime as dt

import pytest

from periop.drugs.engine import ConditionInput, KnowledgeBase, Level, MedicationInput, evaluate
from tests.unit.engine.builders import AT, KnowledgeFiles, caution_for, hours_before, state


def fired(kb: KnowledgeBase, patient: object, drug: str, *others: str) -> list[str]:
    return [f.rule for f in caution_for(kb, patient, drug, *others).findings]  # type: ignore[arg-type]


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    add = kb_files.add_rule
    add(
        "mg-generalized",
        when={"conditions": ["myasthenia-gravis"], "attributes": {"distribution": ["generalized"]}},
    )
    add("mg-musk", when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["musk"]}})
    add(
        "mg-not-in-remission",
        when={"conditions": ["myasthenia-gravis"], "attributes": {"in_remission": [False]}},
    )
    add(
        "burn-major",
        drugs=["succinylcholine"],
        when={"conditions": ["burn"], "attributes": {"tbsa_percent": {"min": 10}}},
    )
    add(
        "musk-or-burn",
        drugs=["vecuronium"],
        when={"conditions": ["myasthenia-gravis", "burn"], "attributes": {"antibody": ["musk"]}},
    )
    add("on-pyridostigmine", drugs=["succinylcholine"], when={"medications": ["pyridostigmine"]})
    add(
        "phenytoin-acute",
        effects=["increased_sensitivity"],
        when={"medications": ["phenytoin"], "medication_hours": {"max": 168}},
    )
    add(
        "phenytoin-chronic",
        level="adjust",
        effects=["resistance"],
        when={"medications": ["phenytoin"], "medication_hours": {"min": 168}},
    )
    add(
        "nmba-with-aminoglycoside", drugs=["group:nmba"], when={"present": ["group:aminoglycoside"]}
    )
    add(
        "two-aminoglycosides",
        drugs=["group:aminoglycoside"],
        when={"present": ["group:aminoglycoside"]},
    )
    add(
        "aminoglycoside-and-magnesium",
        drugs=["vecuronium"],
        when={"present": ["group:aminoglycoside"], "also_present": ["magnesium-sulfate"]},
    )
    add(
        "up-override",
        drugs=["succinylcholine"],
        level="avoid",
        when={"receptor_state": ["up", "mixed"]},
    )
    add("label-fact", drugs=["sugammadex"], level="monitor")
    add(
        "mg-on-pyridostigmine",
        drugs=["succinylcholine"],
        level="adjust",
        when={"conditions": ["myasthenia-gravis"], "medications": ["pyridostigmine"]},
    )
    return kb_files.load()


def mg(**attributes: object) -> ConditionInput:
    return ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes=attributes)


def test_it_uses_the_schema_default_when_an_attribute_is_absent(kb: KnowledgeBase):
    caution = caution_for(kb, state(mg(antibody="achr", in_remission=True)), "rocuronium")

    assert [f.rule for f in caution.findings] == ["mg-generalized"]
    assert caution.assumptions == ()


def test_it_does_not_fire_when_a_known_value_is_not_allowed(kb: KnowledgeBase):
    patient = state(mg(distribution="ocular", antibody="achr", in_remission=True))

    assert fired(kb, patient, "rocuronium") == []


def test_it_treats_the_unknown_marker_as_matching_and_says_so(kb: KnowledgeBase):
    caution = caution_for(kb, state(mg(antibody="unknown", in_remission=True)), "rocuronium")

    assert [f.rule for f in caution.findings] == ["mg-generalized", "mg-musk"]
    assert caution.assumptions == (
        "Myasthenia gravis: antibody unknown; treated the most cautious way.",
    )


def test_it_treats_an_absent_attribute_without_a_default_as_unknown(kb: KnowledgeBase):
    caution = caution_for(kb, state(mg()), "rocuronium")

    assert [f.rule for f in caution.findings] == [
        "mg-generalized",
        "mg-musk",
        "mg-not-in-remission",
    ]
    assert caution.assumptions == (
        "Myasthenia gravis: antibody unknown; treated the most cautious way.",
        "Myasthenia gravis: in remission unknown; treated the most cautious way.",
    )


def test_it_compares_booleans_as_booleans(kb: KnowledgeBase):
    assert "mg-not-in-remission" in fired(kb, state(mg(in_remission=False)), "rocuronium")
    assert "mg-not-in-remission" not in fired(kb, state(mg(in_remission=True)), "rocuronium")


@pytest.mark.parametrize(
    ("tbsa", "fires"), [(9.9, False), (10, True), (45.5, True)], ids=["9.9", "10", "45.5"]
)
def test_it_applies_number_bounds_inclusively(kb: KnowledgeBase, tbsa: float, fires: bool):
    patient = state(
        ConditionInput("burn", onset=hours_before(1), attributes={"tbsa_percent": tbsa})
    )

    assert ("burn-major" in fired(kb, patient, "succinylcholine")) is fires


def test_it_fires_a_number_constraint_on_an_unknown_value_and_says_so(kb: KnowledgeBase):
    caution = caution_for(
        kb, state(ConditionInput("burn", onset=hours_before(1))), "succinylcholine"
    )

    assert [f.rule for f in caution.findings] == ["burn-major"]
    assert caution.assumptions == (
        "Burn injury: total body surface area burned unknown; treated the most cautious way.",
    )


def test_it_constrains_only_the_conditions_whose_schema_has_the_attribute(kb: KnowledgeBase):
    burn_only = state(ConditionInput("burn", onset=hours_before(1)))
    achr_myasthenia = state(mg(antibody="achr"))

    assert fired(kb, burn_only, "vecuronium") == ["musk-or-burn"]
    assert fired(kb, achr_myasthenia, "vecuronium") == []


def test_it_fires_on_a_current_medication_and_names_it(kb: KnowledgeBase):
    patient = state(medications=(MedicationInput("pyridostigmine", started=dt.date(2024, 5, 3)),))

    finding = caution_for(kb, patient, "succinylcholine").findings[0]

    assert finding.rule == "on-pyridostigmine"
    assert finding.triggered_by == ("medication:pyridostigmine",)


@pytest.mark.parametrize(
    ("started", "stopped", "fires"),
    [
        (None, None, True),
        (hours_before(10), hours_before(1), False),
        (hours_before(10), AT, False),
        (hours_before(10), hours_before(-1), True),
        (hours_before(-1), None, False),
        (hours_before(10), dt.date(2026, 11, 22), True),
    ],
    ids=[
        "unknown start",
        "stopped before",
        "stopped at the evaluation",
        "stops later",
        "starts later",
        "stop date straddles the evaluation",
    ],
)
def test_it_counts_a_medication_only_while_it_may_be_taken(
    kb: KnowledgeBase, started: object, stopped: object, fires: bool
):
    medication = MedicationInput("pyridostigmine", started=started, stopped=stopped)  # type: ignore[arg-type]

    assert (fired(kb, state(medications=(medication,)), "succinylcholine") != []) is fires


@pytest.mark.parametrize(
    ("hours", "rules"),
    [
        (100, ["phenytoin-acute"]),
        (168 - 1e-6, ["phenytoin-acute"]),
        (168, ["phenytoin-chronic"]),
        (2000, ["phenytoin-chronic"]),
    ],
    ids=["100 h", "just under a week", "exactly a week", "2000 h"],
)
def test_it_tells_acute_from_chronic_medication_by_hours_since_start(
    kb: KnowledgeBase, hours: float, rules: list[str]
):
    patient = state(medications=(MedicationInput("phenytoin", started=hours_before(hours)),))

    assert fired(kb, patient, "rocuronium") == rules


def test_it_applies_acute_and_chronic_rules_together_when_the_start_is_unknown(kb: KnowledgeBase):
    caution = caution_for(kb, state(medications=(MedicationInput("phenytoin"),)), "rocuronium")

    assert [f.rule for f in caution.findings] == ["phenytoin-chronic", "phenytoin-acute"]
    assert caution.conflict is True
    assert caution.assumptions == (
        "Phenytoin: start unknown; the most cautious reading over all possible starts is used.",
    )


def test_it_applies_both_when_a_start_date_spans_the_week_boundary(kb: KnowledgeBase):
    started = MedicationInput("phenytoin", started=dt.date(2026, 11, 15))

    assert fired(kb, state(medications=(started,)), "rocuronium") == [
        "phenytoin-chronic",
        "phenytoin-acute",
    ]


def test_it_counts_a_co_planned_drug_as_present(kb: KnowledgeBase):
    finding = caution_for(kb, state(), "rocuronium", "gentamicin").findings[0]

    assert finding.rule == "nmba-with-aminoglycoside"
    assert finding.triggered_by == ("drug:gentamicin",)


def test_it_counts_a_current_medication_as_present(kb: KnowledgeBase):
    patient = state(medications=(MedicationInput("tobramycin", started=hours_before(5)),))

    finding = caution_for(kb, patient, "rocuronium", "gentamicin").findings[0]

    assert finding.triggered_by == ("drug:gentamicin", "medication:tobramycin")


def test_only_an_active_medication_of_the_listed_drugs_counts_as_present(kb: KnowledgeBase):
    stopped = MedicationInput("tobramycin", started=hours_before(216), stopped=hours_before(192))
    other = MedicationInput("phenytoin", started=hours_before(24 * 30))
    patient = state(medications=(other, stopped))

    findings = caution_for(kb, patient, "rocuronium", "gentamicin").findings
    finding = next(f for f in findings if f.rule == "nmba-with-aminoglycoside")

    assert finding.triggered_by == ("drug:gentamicin",)


def test_it_never_counts_the_target_drug_as_present_for_itself(kb: KnowledgeBase):
    assert fired(kb, state(), "gentamicin") == []
    assert fired(kb, state(), "gentamicin", "tobramycin") == ["two-aminoglycosides"]
    assert fired(kb, state(), "tobramycin", "gentamicin") == ["two-aminoglycosides"]


def test_a_rule_left_out_for_want_of_another_present_drug_leaves_the_next_rules_in_play(
    kb_files: KnowledgeFiles,
):
    # The first rule could fire on what is planned (an aminoglycoside is), but only through the
    # target itself, so it is left out; the drug's later rules must still be matched.
    kb_files.add_rule(
        "two-aminoglycosides",
        drugs=["group:aminoglycoside"],
        when={"present": ["group:aminoglycoside"]},
    )
    kb_files.add_rule("gentamicin-label", drugs=["gentamicin"], level="monitor")
    kb = kb_files.load()

    assert fired(kb, state(), "gentamicin") == ["gentamicin-label"]
    assert fired(kb, state(), "gentamicin", "tobramycin") == [
        "gentamicin-label",
        "two-aminoglycosides",
    ]


def test_it_requires_also_present_independently_of_present(kb: KnowledgeBase):
    assert "aminoglycoside-and-magnesium" not in fired(kb, state(), "vecuronium", "gentamicin")
    finding = next(
        f
        for f in caution_for(kb, state(), "vecuronium", "gentamicin", "magnesium-sulfate").findings
        if f.rule == "aminoglycoside-and-magnesium"
    )
    assert finding.triggered_by == ("drug:gentamicin", "drug:magnesium-sulfate")


def test_it_fires_a_receptor_state_rule_only_on_a_recorded_override(kb: KnowledgeBase):
    recent_stroke = ConditionInput("stroke", onset=hours_before(24 * 10))
    derived_up = state(recent_stroke)
    overridden_up = state(receptor_state="up")

    assert "up-override" not in fired(kb, derived_up, "succinylcholine")
    finding = caution_for(kb, overridden_up, "succinylcholine").findings[0]
    assert (finding.rule, finding.level) == ("up-override", Level.AVOID)
    assert finding.triggered_by == ("receptor-state:up",)
    assert fired(kb, state(receptor_state="down"), "succinylcholine") == []


def test_it_fires_a_rule_without_conditions_whenever_its_drug_is_planned(kb: KnowledgeBase):
    caution = caution_for(kb, state(), "sugammadex")

    assert [f.rule for f in caution.findings] == ["label-fact"]
    assert caution.findings[0].triggered_by == ()


def test_it_requires_every_key_of_when_and_names_every_trigger(kb: KnowledgeBase):
    on_drug = MedicationInput("pyridostigmine", started=dt.date(2024, 5, 3))

    assert "mg-on-pyridostigmine" not in fired(kb, state(mg()), "succinylcholine")
    finding = next(
        f
        for f in caution_for(kb, state(mg(), medications=(on_drug,)), "succinylcholine").findings
        if f.rule == "mg-on-pyridostigmine"
    )
    assert finding.triggered_by == ("condition:myasthenia-gravis", "medication:pyridostigmine")


def test_only_an_active_medication_the_rule_lists_is_named_as_a_trigger(kb: KnowledgeBase):
    pyridostigmine = MedicationInput("pyridostigmine", started=dt.date(2024, 5, 3))
    phenytoin = MedicationInput("phenytoin", started=hours_before(24 * 30))
    patient = state(mg(), medications=(phenytoin, pyridostigmine))

    finding = next(
        f
        for f in caution_for(kb, patient, "succinylcholine").findings
        if f.rule == "mg-on-pyridostigmine"
    )

    assert finding.triggered_by == ("condition:myasthenia-gravis", "medication:pyridostigmine")


def test_a_course_outside_the_hours_window_does_not_hide_a_later_one_inside_it(
    kb: KnowledgeBase,
):
    long_running = MedicationInput("phenytoin", started=hours_before(24 * 30))
    restarted = MedicationInput("phenytoin", started=hours_before(48))

    rules = fired(kb, state(medications=(long_running, restarted)), "rocuronium")

    assert sorted(rules) == ["phenytoin-acute", "phenytoin-chronic"]


def test_it_says_when_a_present_medication_may_have_stopped(kb: KnowledgeBase):
    maybe_stopped = MedicationInput(
        "gentamicin", started=hours_before(48), stopped=dt.date(2026, 11, 22)
    )

    caution = caution_for(kb, state(medications=(maybe_stopped,)), "rocuronium")

    assert [f.rule for f in caution.findings] == ["nmba-with-aminoglycoside"]
    assert caution.assumptions == (
        "Gentamicin: stop given as a date (2026-11-22); evaluated over every time of that day.",
    )


def test_it_keeps_input_assumptions_at_patient_level_but_only_relevant_ones_per_drug(
    kb: KnowledgeBase,
):
    patient = state(
        ConditionInput("renal-impairment", onset=None),
        medications=(MedicationInput("phenytoin"),),
    )

    evaluation = evaluate(patient, ["sugammadex", "rocuronium"], AT, kb)

    assert evaluation.cautions[0].assumptions == ()
    assert evaluation.assumptions == (
        "Renal impairment: onset unknown; the most cautious level over all possible onsets "
        "is used.",
        "Phenytoin: start unknown; the most cautious reading over all possible starts is used.",
    )


def test_a_rule_joining_an_unknown_antibody_to_a_medication_spares_a_tolerated_drug(
    kb_files: KnowledgeFiles,
):
    # The rule has two parts, a condition and a medication: it holds only through the unknown
    # antibody, so a chronic medication the patient tolerates is continued, as for a rule of one
    # part (tolerated.py); a drug new to the patient takes the cautious reading.
    kb_files.add_rule(
        "mg-continue", drugs=["pyridostigmine"], when={"conditions": ["myasthenia-gravis"]}
    )
    kb_files.add_rule(
        "musk-on-phenytoin",
        drugs=["pyridostigmine"],
        level="avoid",
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"antibody": ["musk"]},
            "medications": ["phenytoin"],
        },
    )
    kb = kb_files.load()
    phenytoin = MedicationInput("phenytoin", started=hours_before(24 * 400))
    tolerated = MedicationInput("pyridostigmine", started=dt.date(2020, 2, 1))

    new = caution_for(kb, state(mg(), medications=(phenytoin,)), "pyridostigmine")
    chronic = caution_for(kb, state(mg(), medications=(phenytoin, tolerated)), "pyridostigmine")
    known = caution_for(
        kb, state(mg(antibody="musk"), medications=(phenytoin, tolerated)), "pyridostigmine"
    )

    assert [f.rule for f in new.findings] == ["musk-on-phenytoin", "mg-continue"]
    assert [f.rule for f in chronic.findings] == ["mg-continue"]
    assert [f.rule for f in known.findings] == ["musk-on-phenytoin", "mg-continue"]


def test_a_rule_needing_only_also_present_drugs_checks_them_and_names_them(
    kb_files: KnowledgeFiles,
):
    # `also_present` without `present` is a rule of its own: the drug planned alone never meets
    # it, another aminoglycoside planned or taken does and is named.
    kb_files.add_rule(
        "second-aminoglycoside",
        drugs=["group:aminoglycoside"],
        when={"also_present": ["group:aminoglycoside"]},
    )
    kb = kb_files.load()
    taken = MedicationInput("tobramycin", started=hours_before(24))

    assert fired(kb, state(), "gentamicin") == []
    planned = caution_for(kb, state(), "gentamicin", "tobramycin").findings
    recorded = caution_for(kb, state(medications=(taken,)), "gentamicin").findings
    assert [(f.rule, f.triggered_by) for f in planned] == [
        ("second-aminoglycoside", ("drug:tobramycin",))
    ]
    assert [(f.rule, f.triggered_by) for f in recorded] == [
        ("second-aminoglycoside", ("medication:tobramycin",))
    ]


def test_a_constraint_outside_a_conditions_schema_never_hides_the_next_constraint(
    kb_files: KnowledgeFiles,
):
    # The antibody binds only myasthenia and the motor deficit only the stroke: a stroke record
    # skips the first constraint and is still held to the second.
    kb_files.add_rule(
        "musk-or-stroke-deficit",
        when={
            "conditions": ["myasthenia-gravis", "stroke"],
            "attributes": {"antibody": ["musk"], "motor_deficit": [True]},
        },
    )
    kb = kb_files.load()

    def stroke(deficit: bool) -> ConditionInput:
        return ConditionInput(
            "stroke", onset=hours_before(240), attributes={"motor_deficit": deficit}
        )

    assert fired(kb, state(stroke(True)), "rocuronium") == ["musk-or-stroke-deficit"]
    assert fired(kb, state(stroke(False)), "rocuronium") == []
    assert fired(kb, state(mg(antibody="achr")), "rocuronium") == []


def test_a_known_measure_beside_an_unknown_antibody_still_spares_a_tolerated_drug(
    kb_files: KnowledgeFiles,
):
    # The rule constrains the antibody and remission; remission is recorded, the antibody is
    # not: the rule holds only through the unknown antibody, which tolerance spares.
    kb_files.add_rule(
        "mg-continue", drugs=["pyridostigmine"], when={"conditions": ["myasthenia-gravis"]}
    )
    kb_files.add_rule(
        "active-musk",
        drugs=["pyridostigmine"],
        level="avoid",
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"antibody": ["musk"], "in_remission": [False]},
        },
    )
    kb = kb_files.load()
    tolerated = MedicationInput("pyridostigmine", started=dt.date(2020, 2, 1))

    chronic = caution_for(
        kb, state(mg(in_remission=False), medications=(tolerated,)), "pyridostigmine"
    )
    new = caution_for(kb, state(mg(in_remission=False)), "pyridostigmine")

    assert [f.rule for f in chronic.findings] == ["mg-continue"]
    assert [f.rule for f in new.findings] == ["active-musk", "mg-continue"]
