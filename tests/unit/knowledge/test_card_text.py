"""What a caution card says: durations in words, no internal section references, no repeated
monitoring sentences, per-kg doses in mg, and no advice to use a drug the same evaluation rates
avoid or contraindicated."""

from __future__ import annotations

import dataclasses
import re

import pytest

from periop.drugs.engine import PatientState
from periop.drugs.engine.timeline import duration_text, window_text
from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    CONTRAINDICATED,
    ago,
    caution_alone,
    cautions,
    check,
    condition,
    patient,
)

HOURS_FIGURE = re.compile(r"\b\d+(\.\d+)?\s?h\b")


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (1, "1 hour"),
        (0.5, "0.5 hours"),
        (24, "24 hours"),
        (72, "72 hours"),
        (48, "48 hours"),  # under 4 days: in hours
        (96, "4 days"),
        (168, "7 days"),  # under 2 weeks: in days
        (240, "10 days"),
        (730, "1 month"),  # a twelfth of 365 days, the smallest number of months
        (336, "2 weeks"),
        (2160, "90 days"),
        (4380, "6 months"),
        (8760, "1 year"),
        (17520, "2 years"),
    ],
)
def test_a_duration_is_given_in_words(hours, words):
    assert duration_text(hours) == words


def test_a_window_is_given_in_words():
    assert window_text(0, 24) == "0 to 24 hours"
    assert window_text(24, 72) == "24 to 72 hours"
    assert window_text(72, 17520) == "72 hours to 2 years"
    assert window_text(17520, None) == "from 2 years"


def test_a_burn_of_unknown_onset_names_its_possible_phases_in_words(kb):
    # §4.2, major burn: MO to 24 h, AV to 72 h, CI to 2 years; with an unknown onset every phase
    # is possible, and the assumption names them in words, never as "17520 h".
    evaluation = check(kb, patient(condition("burn", None, tbsa_percent=32)), ["succinylcholine"])

    text = " ".join(evaluation.assumptions)
    assert "72 hours to 2 years" in text
    assert not HOURS_FIGURE.search(text), text


def _user_facing_texts(kb):
    """Every text of the knowledge base that a card or the knowledge-base page shows a clinician:
    each rule's summary, rationale, monitoring, reversal, dose texts and phase summaries, and
    the guidance added to every caution of a kind. (`evidence` is a grade list, not prose.)"""
    for rule in kb.rules:
        yield rule.id, "summary", rule.summary
        yield rule.id, "rationale", rule.rationale
        yield rule.id, "monitoring", rule.monitoring or ""
        yield rule.id, "reversal", rule.reversal or ""
        for position, dose in enumerate(rule.doses, 1):
            yield rule.id, f"dose #{position}", dose.text
        for position, phase in enumerate(rule.phases, 1):
            yield rule.id, f"phase #{position}", phase.summary
    yield "guidance", "neuromuscular_monitoring", kb.guidance.neuromuscular_monitoring.text


def test_no_user_facing_text_names_an_internal_section(kb):
    # "(§11 item 3, grade U)" means nothing to a pharmacist; the grade and the source ids say it.
    found = [(rule, field) for rule, field, text in _user_facing_texts(kb) if "§" in text]

    assert found == []


def test_no_user_facing_text_gives_a_duration_as_bare_hours(kb):
    found = [
        (rule, field, match.group())
        for rule, field, text in _user_facing_texts(kb)
        for match in [HOURS_FIGURE.search(text)]
        if match
    ]

    assert found == []


# --- Avoid and contraindicated cards lead with what to do instead ---------------------------


def test_a_contraindicated_card_leads_with_do_not_give_and_keeps_titration_for_an_override(kb):
    # §4.2, major burn 72 hours to 2 years: SUX CI; §5, MG generalised x SUX: DA SENS-, and an
    # aminoglycoside potentiates every blocker (§7): the opposing findings stay flagged (§1.3
    # rule 2), but "titrate" belongs only to the part that applies after an override.
    state = patient(
        condition("burn", ago(days=4), tbsa_percent=32),
        condition("myasthenia-gravis", ago(years=3), antibody="achr"),
        weight_kg="70",
    )

    caution = cautions(kb, state, ["succinylcholine", "gentamicin"])["succinylcholine"]

    assert caution.level == CONTRAINDICATED
    assert caution.conflict is True
    assert caution.instead == "Do not give succinylcholine (suxamethonium)."
    assert caution.summary.startswith("Burn 72 hours to 2 years old")
    assert "titrate" not in caution.summary.lower()
    assert caution.dose is not None
    assert caution.dose.only_after_override is True


def test_an_avoid_card_names_the_alternative_its_finding_gives(kb):
    # §5, MG MuSK x NEO: AV CHOLIN (A: S29, S31); x SUG: MO preferred.
    state = patient(condition("myasthenia-gravis", ago(years=3), antibody="musk"))

    caution = caution_alone(kb, state, "neostigmine")

    assert caution.level == AVOID
    assert caution.instead == (
        "Avoid neostigmine unless there is no reasonable alternative. "
        "Use sugammadex after rocuronium or vecuronium."
    )


def test_an_adjust_card_has_no_instead_and_its_dose_is_for_this_patient(kb):
    # §5, MG generalised x AMINO: DA SENS+ (A: S19; B: S24); teaching dose 0.5-0.6 mg/kg (C: S28).
    state = patient(condition("myasthenia-gravis", ago(years=3), antibody="achr"), weight_kg="70")

    caution = caution_alone(kb, state, "rocuronium")

    assert caution.level == ADJUST
    assert caution.instead == ""
    assert caution.dose is not None
    assert caution.dose.only_after_override is False


# --- No advice to use a drug the same evaluation rates avoid or contraindicated -------------


def test_no_card_recommends_sugammadex_when_the_evaluation_rates_it_avoid(kb):
    # §7, sugammadex x severe renal impairment: "Not recommended", AV (B: S85). §5, MG
    # generalised x NEO: DA, "prefer SUG" (B: S86, S87): with sugammadex avoid, no card may
    # still say "sugammadex preferred", "prefer sugammadex" or "reverse ... with sugammadex".
    state = patient(
        condition("myasthenia-gravis", ago(years=3), antibody="achr"),
        condition("renal-impairment", ago(years=1), crcl_ml_min=20),
    )

    by_drug = cautions(kb, state, ["rocuronium", "neostigmine", "sugammadex"])

    assert by_drug["sugammadex"].level == AVOID
    note = "Sugammadex is rated avoid in this evaluation, so advice to use it is left out."
    for caution in by_drug.values():
        texts = [caution.summary, caution.instead, caution.monitoring, caution.reversal]
        texts += [finding.summary for finding in caution.findings]
        texts += [caution.dose.text] if caution.dose else []
        for text in texts:
            lowered = text.lower()
            assert "prefer sugammadex" not in lowered, (caution.drug, text)
            assert "sugammadex preferred" not in lowered, (caution.drug, text)
            assert "sugammadex is the preferred" not in lowered, (caution.drug, text)
            assert "with sugammadex" not in lowered, (caution.drug, text)
    assert by_drug["neostigmine"].summary == (
        "Myasthenia gravis: neostigmine needs caution (cholinergic effects, unreliable "
        f"reversal). {note}"
    )
    assert by_drug["neostigmine"].reversal == note
    assert by_drug["rocuronium"].reversal == note
    # The finding the card's summary came from is edited alike, but the note that says why is
    # the card's to give, once: a finding carries only its own clinical text.
    assert [
        finding.summary for finding in by_drug["neostigmine"].findings if "needs" in finding.summary
    ] == [
        "Myasthenia gravis: neostigmine needs caution (cholinergic effects, unreliable reversal)."
    ]
    assert not any(
        note in finding.summary for caution in by_drug.values() for finding in caution.findings
    )


def test_sugammadex_advice_stays_when_the_evaluation_does_not_rate_it_out(kb):
    # §5, MG generalised x NEO: DA, prefer SUG (B: S86, S87); x SUG: MO preferred.
    state = patient(condition("myasthenia-gravis", ago(years=3), antibody="achr"))

    caution = cautions(kb, state, ["neostigmine", "sugammadex"])["neostigmine"]

    assert caution.reversal == "Prefer sugammadex after rocuronium or vecuronium."


# --- Monitoring without repeats --------------------------------------------------------------


def test_monitoring_says_each_thing_once_when_several_findings_contribute(kb):
    # §5, MG x SUG: MO; §5, Burns x SUG: MO; §8, ASA 2023: confirm TOF ratio >= 0.9 (B: S83).
    # Three sources each asked for a TOF ratio of at least 0.9 before extubation; the newcomer
    # saw it three times in one paragraph.
    state = patient(
        condition("burn", ago(days=3), tbsa_percent=32),
        condition("myasthenia-gravis", ago(years=3), antibody="achr"),
    )

    monitoring = caution_alone(kb, state, "sugammadex").monitoring

    sentences = [sentence.lower() for sentence in re.split(r"(?<=\.)\s+", monitoring)]
    assert len(sentences) == len(set(sentences))
    assert "Confirm a TOF ratio of at least 0.9 before extubation." not in monitoring
    assert "Confirm a TOF ratio of at least 0.9 and clinical strength before extubation" in (
        monitoring
    )
    assert monitoring.count("at least 0.9") == 2


# --- A per-kg dose is also given in mg --------------------------------------------------------


def _per_kg_dose_cases(kb):
    """(rule, drug, coverage patient) for every per-kg dose entry of every rule, with a patient
    of the coverage map that fires the rule."""
    assert kb.coverage is not None
    cases = []
    for rule in kb.rules:
        for dose in rule.doses:
            if dose.per_kg_mg is None:
                continue
            drugs = dose.drug_codes or rule.target_drugs
            for drug in sorted(drugs):
                patients = sorted(
                    {
                        cell.patient
                        for cell in kb.coverage.cells
                        if cell.rules and rule.id in cell.rules and drug in cell.drugs
                    }
                )
                cases.append((rule.id, drug, patients))
    return cases


def test_every_per_kg_dose_rule_gives_the_dose_in_mg_for_a_known_weight(kb):
    # api-contract.md: "With weight_kg, dose guidance is given in mg as well as mg/kg."
    # Every per-kg dose entry (rocuronium, neostigmine, sugammadex, succinylcholine...) is
    # checked on a coverage patient that fires its rule, weighing 70 kg.
    from decimal import Decimal

    from periop.drugs.engine.coverage import EVALUATED_AT

    cases = _per_kg_dose_cases(kb)
    assert {drug for _, drug, _ in cases} >= {"rocuronium", "neostigmine", "sugammadex"}
    rules = {rule.id: rule for rule in kb.rules}
    given_by_rule = set()
    for rule_id, drug, patient_ids in cases:
        when = rules[rule_id].when
        if not patient_ids:
            # Rules outside the reference tables the coverage map covers (the v1.1 drug
            # interactions): a patient with nothing recorded and the interacting drug planned.
            assert when.present_codes, f"{rule_id} x {drug}: no coverage patient fires it"
            assert not when.condition_codes, f"{rule_id} x {drug}: no coverage patient fires it"
            other = sorted(when.present_codes - {drug})[0]
            patients = [(PatientState(weight_kg=Decimal(70)), (drug, other))]
        else:
            patients = []
            for patient_id in patient_ids:
                coverage_patient = kb.coverage.patients[patient_id]
                state = dataclasses.replace(coverage_patient.state, weight_kg=Decimal(70))
                planned = (
                    drug,
                    *(code for code in coverage_patient.also_planned if code != drug),
                )
                patients.append((state, planned))
        for state, planned in patients:
            patient_id = planned
            (caution, *_) = check(kb, state, planned, EVALUATED_AT).cautions
            dose = caution.dose
            if dose is None or dose.per_kg_mg is None:
                continue
            assert dose.total_mg is not None, (rule_id, drug, patient_id)
            assert dose.total_mg.maximum <= dose.per_kg_mg.maximum * 70
            if dose.rule == rule_id:
                given_by_rule.add((rule_id, drug))
    # Each per-kg dose is shown, in mg, for at least one patient of its cell.
    assert given_by_rule == {(rule_id, drug) for rule_id, drug, _ in cases}


@pytest.mark.parametrize(
    ("texts", "joined"),
    [
        (["Quantitative TOF.", "Quantitative TOF."], "Quantitative TOF."),
        (
            ["Quantitative TOF.", "Quantitative TOF; watch breathing."],
            "Quantitative TOF; watch breathing.",
        ),
        (
            [
                "Confirm a TOF ratio of at least 0.9.",
                "Confirm a train-of-four ratio of at least 0.9.",
            ],
            "Confirm a TOF ratio of at least 0.9.",
        ),
        (["Give calcium.", "Do not give calcium."], "Give calcium. Do not give calcium."),
    ],
    ids=["repeated", "inside a longer one", "spelt out", "negated is not the same"],
)
def test_advice_is_joined_with_each_sentence_once(texts, joined):
    from periop.drugs.engine.card_text import unrepeated

    assert unrepeated(texts) == joined


def test_an_avoided_blocker_does_not_lead_with_how_to_reverse_it(kb):
    # §7, polymyxin B with any blocker: AV (B: S47a, S47b). The finding's reversal advice
    # ("prefer sugammadex after rocuronium") is about reversing rocuronium if it is given: it is
    # not what to do instead of rocuronium.
    state = patient(condition("myasthenia-gravis", ago(years=3), antibody="achr"))

    caution = cautions(kb, state, ["rocuronium", "polymyxin-b"])["rocuronium"]

    assert caution.level == AVOID
    assert caution.instead == "Avoid rocuronium unless there is no reasonable alternative."
    assert "sugammadex" in caution.reversal.lower()


def _synthetic_caution(drug: str, *, dose_text: str, reversal: str):
    """A card as the engine builds it, with texts written for the test: the knowledge base's own
    texts name no rated-out drug by its bracketed name and put no such advice in a dose."""
    from periop.drugs.engine.types import DoseGuidance, DrugCaution, Finding

    finding = Finding(
        rule="synthetic-rule",
        level=ADJUST,
        effects=(),
        triggered_by=("condition:myasthenia-gravis",),
        summary=f"Reduce the dose; {reversal[:1].lower()}{reversal[1:]}" if reversal else "",
        rationale="",
        references=(),
    )
    return DrugCaution(
        drug=drug,
        drug_class="non-depolarizing-blocker",
        level=ADJUST,
        effects=(),
        conflict=False,
        summary="Reduce the dose.",
        findings=(finding,),
        dose=DoseGuidance(text=dose_text, rule="synthetic-rule"),
        monitoring="Use quantitative TOF monitoring.",
        reversal=reversal,
        assumptions=(),
    )


def test_advice_to_use_a_rated_out_drug_by_its_bracketed_name_is_left_out(kb):
    # Succinylcholine's name is "Succinylcholine (suxamethonium)": a text that recommends
    # suxamethonium recommends succinylcholine, and goes when succinylcholine is rated out. A
    # bracketed route ("Magnesium sulfate (intravenous)") is never taken for a name.
    from periop.drugs.engine.card_text import drug_names, without_rated_out_advice

    assert "suxamethonium" in drug_names(kb, "succinylcholine")
    assert "intravenous" not in drug_names(kb, "magnesium-sulfate")
    card = _synthetic_caution(
        "rocuronium", dose_text="0.6 mg/kg.", reversal="Prefer suxamethonium for a short case."
    )

    (edited,) = without_rated_out_advice((card,), kb)  # nothing rated out: unchanged
    assert edited is card
    rated_out = dataclasses.replace(card, drug="succinylcholine", level=CONTRAINDICATED)
    edited, _ = without_rated_out_advice((card, rated_out), kb)

    assert edited.reversal == (
        "Succinylcholine (suxamethonium) is rated contraindicated in this evaluation, so advice "
        "to use it is left out."
    )
    # A finding's summary loses the clause without the note, which the card says once.
    (finding,) = edited.findings
    assert finding.summary == "Reduce the dose."


def test_advice_to_use_a_rated_out_drug_in_a_dose_text_is_left_out(kb):
    from periop.drugs.engine.card_text import without_rated_out_advice

    card = _synthetic_caution(
        "rocuronium",
        dose_text="0.6 mg/kg; reverse with sugammadex.",
        reversal="",
    )
    rated_out = dataclasses.replace(card, drug="sugammadex", level=AVOID, dose=None)

    edited, _ = without_rated_out_advice((card, rated_out), kb)

    assert edited.dose is not None
    assert edited.dose.text == (
        "0.6 mg/kg. Sugammadex is rated avoid in this evaluation, so advice to use it is left out."
    )
    assert edited.dose.rule == card.dose.rule


def test_a_left_out_clause_leaves_its_label_to_the_clause_after_it(kb):
    # "Myasthenia gravis: prefer sugammadex ...; titrate ..." with sugammadex rated out: the
    # advice goes, and what follows still says which condition it is about.
    from periop.drugs.engine.card_text import without_rated_out_advice

    card = _synthetic_caution(
        "neostigmine",
        dose_text="",
        reversal=(
            "Myasthenia gravis: prefer sugammadex after rocuronium; titrate neostigmine to the "
            "TOF count."
        ),
    )
    rated_out = dataclasses.replace(card, drug="sugammadex", level=AVOID, dose=None)

    edited, _ = without_rated_out_advice((card, rated_out), kb)

    assert edited.reversal == (
        "Myasthenia gravis: titrate neostigmine to the TOF count. Sugammadex is rated avoid in "
        "this evaluation, so advice to use it is left out."
    )


@pytest.mark.parametrize(
    ("reversal", "edited_reversal"),
    [
        # Naming the rated-out drug under a label is not advising it: the clause stays.
        ("Renal impairment: sugammadex clearance is reduced.", None),
        # A text without a closing full stop gets one where a clause was left out.
        (
            "Prefer sugammadex after rocuronium; titrate neostigmine to the TOF count",
            "Titrate neostigmine to the TOF count. Sugammadex is rated avoid in this "
            "evaluation, so advice to use it is left out.",
        ),
        # A question keeps its question mark.
        (
            "Prefer sugammadex after rocuronium; is a TOF count of at least 2 present?",
            "Is a TOF count of at least 2 present? Sugammadex is rated avoid in this "
            "evaluation, so advice to use it is left out.",
        ),
    ],
)
def test_only_clauses_that_advise_the_rated_out_drug_are_left_out(kb, reversal, edited_reversal):
    from periop.drugs.engine.card_text import without_rated_out_advice

    card = dataclasses.replace(
        _synthetic_caution("neostigmine", dose_text="", reversal=reversal), findings=()
    )
    rated_out = dataclasses.replace(card, drug="sugammadex", level=AVOID, dose=None)

    edited, _ = without_rated_out_advice((card, rated_out), kb)

    assert edited.reversal == (edited_reversal or reversal)
