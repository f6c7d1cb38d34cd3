"""The knowledge base covers the api-contract.md vocabulary and every citation resolves."""

from __future__ import annotations

import re
import tomllib

import pytest

from periop.drugs.engine import EFFECT_TAGS, Level
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY

# api-contract.md, "Condition codes", with each condition's attributes.
CONTRACT_CONDITIONS = {
    "myasthenia-gravis": {"antibody", "distribution", "in_remission"},
    "lambert-eaton": {"paraneoplastic"},
    "congenital-myasthenic-syndrome": {"gene"},
    "botulism": set(),
    # v1.1, additive with a cited source (S73: check cholinesterase whatever the time).
    "organophosphate-poisoning": {"cholinesterase_activity"},
    "penicillamine-myasthenia": set(),
    # v1.1 (§12.9): the same serum magnesium in mmol/L or mEq/L.
    "hypermagnesemia": {"serum_mg_mg_dl", "serum_mg_mmol_l", "serum_mg_meq_l"},
    "stiff-person-syndrome": set(),
    "isaacs-syndrome": set(),
    "spinal-cord-injury": {"motor_deficit"},
    "stroke": {"motor_deficit"},
    "guillain-barre": set(),
    "burn": {"tbsa_percent"},
    "immobilization": set(),
    "critical-illness": set(),
    "sepsis": set(),
    "major-trauma": set(),
    "muscular-dystrophy": {"type"},
    "myotonic-dystrophy": set(),
    "malignant-hyperthermia-susceptibility": set(),
    "butyrylcholinesterase-deficiency": {"genotype", "dibucaine_number"},
    # v1.1 (§12.1): serum potassium.
    "renal-impairment": {"crcl_ml_min", "dialysis", "serum_potassium_mmol_l"},
    "epilepsy": set(),
    # v1.1 (§12.1, §12.2).
    "hyperkalemia": {"serum_potassium_mmol_l"},
    "pregnancy": {"gestation_weeks"},
    "postpartum": set(),
}
CONTRACT_CHOICES = {
    ("myasthenia-gravis", "antibody"): ("achr", "musk", "lrp4", "seronegative", "unknown"),
    ("myasthenia-gravis", "distribution"): ("generalized", "ocular"),
    ("congenital-myasthenic-syndrome", "gene"): (
        "colq",
        "dok7",
        "rapsn",
        "chrne",
        "slow-channel",
        "fast-channel",
        "other",
        "unknown",
    ),
    ("muscular-dystrophy", "type"): ("duchenne", "becker", "other"),
    ("organophosphate-poisoning", "cholinesterase_activity"): ("low", "normal", "unknown"),
    ("butyrylcholinesterase-deficiency", "genotype"): (
        "homozygous",
        "heterozygous",
        "acquired",
        "unknown",
    ),
}
CONTRACT_DRUGS = (
    "succinylcholine",
    "rocuronium",
    "vecuronium",
    "pancuronium",
    "atracurium",
    "cisatracurium",
    "mivacurium",
    "gentamicin",
    "tobramycin",
    "amikacin",
    "neomycin",
    "streptomycin",
    "polymyxin-b",
    "colistin",
    "magnesium-sulfate",
    "neostigmine",
    "sugammadex",
    "pyridostigmine",
    "amifampridine",
    "penicillamine",
    "phenytoin",
    "carbamazepine",
    "nifedipine",
    "nicardipine",
    # v1.1 (§12.3-§12.8).
    "lithium",
    "sevoflurane",
    "desflurane",
    "isoflurane",
    "verapamil",
    "diltiazem",
    "amlodipine",
    "ciprofloxacin",
    "levofloxacin",
    "moxifloxacin",
    "azithromycin",
    "clarithromycin",
    "erythromycin",
    "telithromycin",
    "propranolol",
    "metoprolol",
    "atenolol",
    "timolol",
    "quinine",
    "chloroquine",
    "hydroxychloroquine",
    "quinidine",
    "procainamide",
    "botulinum-toxin",
    "atorvastatin",
    "simvastatin",
    "rosuvastatin",
    "pravastatin",
    "pembrolizumab",
    "nivolumab",
    "ipilimumab",
    "atezolizumab",
    "donepezil",
    "rivastigmine",
    "galantamine",
    "echothiophate",
    "oral-hormonal-contraceptive",
    "non-oral-hormonal-contraceptive",
    "toremifene",
    "fusidic-acid",
    "flucloxacillin",
)
# standards-reference.md §2.8: the ATC codes graded B. Drugs absent here must carry none.
CONFIRMED_ATC = {
    "succinylcholine": "M03AB01",
    "pancuronium": "M03AC01",
    "vecuronium": "M03AC03",
    "atracurium": "M03AC04",
    "rocuronium": "M03AC09",
    "mivacurium": "M03AC10",
    "cisatracurium": "M03AC11",
    "neostigmine": "N07AA01",
    "pyridostigmine": "N07AA02",
    "magnesium-sulfate": "B05XA05",
    "gentamicin": "J01GB03",
    "tobramycin": "J01GB01",
    "amikacin": "J01GB06",
    "neomycin": "J01GB05",
    "streptomycin": "J01GA01",
    "colistin": "J01XB01",
    "polymyxin-b": "J01XB02",
    "sugammadex": "V03AB35",
    "amifampridine": "N07XX05",
}
# standards-reference.md §2.6-2.7: the only codes graded B, by condition.
CONFIRMED_SNOMED = {
    "myasthenia-gravis": "91637004",
    "lambert-eaton": "56989000",
    "botulism": "398565003",
    "burn": "125666000",
    "muscular-dystrophy": "76670001",
}
CONFIRMED_ICD10CM = {
    "G70.00",
    "G70.01",
    "G70.1",
    "G70.2",
    "G70.80",
    "G70.81",
    "G70.89",
    "G70.9",
    "G73.1",
    "G73.3",
    "A05.1",
    "A48.51",
    "A48.52",
    "T88.3XXA",
    "G71.01",
    "G71.11",
}
# clinical-reference.md §10: every source id (S44 is not used).
REFERENCE_IDS = (
    {f"S{number:02d}" for number in range(1, 97)}
    - {"S44", "S41", "S47", "S76", "S77", "S78", "S79", "S82"}
) | {
    "S09b",
    "S16b",
    "S34b",
    "S39b",
    "S39c",
    "S41a",
    "S41b",
    "S47a",
    "S47b",
    "S47c",
    "S62b",
    "S74b",
    "S76a",
    "S76b",
    "S76c",
    "S76d",
    "S77a",
    "S77b",
    "S77c",
    "S78a",
    "S78b",
    "S78c",
    "S79a",
    "S79b",
    "S82a",
    "S82b",
    # §12.10 sources that rules cite (dibucaine number ranges, serum magnesium thresholds).
    "S139",
    "S154",
    "S156",
    "S157",
    "S161",
    # §12.10 sources of the v1.1 vocabulary (§12.1-§12.9).
    *(f"S{number}" for number in (97, *range(99, 123), 124, *range(125, 139), *range(140, 154))),
    "S121b",
    "S159",
    "S160",
}


def rule_documents():
    for path in sorted((KNOWLEDGE_DIRECTORY / "rules").glob("*.toml")):
        with path.open("rb") as handle:
            yield path.name, tomllib.load(handle)


def test_every_contract_condition_is_in_the_knowledge_base_with_its_attributes(kb):
    assert set(kb.conditions) == set(CONTRACT_CONDITIONS)
    for code, attributes in CONTRACT_CONDITIONS.items():
        assert (code, set(kb.conditions[code].attributes)) == (code, attributes)


@pytest.mark.parametrize(("key", "choices"), CONTRACT_CHOICES.items(), ids=lambda item: str(item))
def test_choice_attributes_offer_exactly_the_contract_values(kb, key, choices):
    code, name = key

    assert kb.conditions[code].attributes[name].choices == choices


def test_unknown_markers_and_defaults_follow_the_contract(kb):
    attributes = {code: condition.attributes for code, condition in kb.conditions.items()}

    assert attributes["myasthenia-gravis"]["antibody"].unknown == "unknown"
    assert attributes["myasthenia-gravis"]["distribution"].default == "generalized"
    assert attributes["congenital-myasthenic-syndrome"]["gene"].unknown == "unknown"
    assert attributes["butyrylcholinesterase-deficiency"]["genotype"].unknown == "unknown"
    assert attributes["spinal-cord-injury"]["motor_deficit"].default is True
    assert attributes["stroke"]["motor_deficit"].default is True
    assert (
        attributes["burn"]["tbsa_percent"].minimum,
        attributes["burn"]["tbsa_percent"].maximum,
    ) == (0, 100)


def test_contract_meanings_of_onset_and_resolution_are_recorded(kb):
    assert kb.conditions["burn"].resolved_means == "wounds healed"
    assert kb.conditions["immobilization"].onset_means == "start of immobility"
    assert kb.conditions["critical-illness"].onset_means == "ICU admission"


def test_every_contract_drug_is_in_the_knowledge_base(kb):
    assert set(kb.drugs) == set(CONTRACT_DRUGS)


def test_drugs_carry_only_confirmed_atc_codes(kb):
    assert {code: drug.atc for code, drug in kb.drugs.items() if drug.atc} == CONFIRMED_ATC


def test_conditions_carry_only_confirmed_codes(kb):
    assert {code: c.snomed for code, c in kb.conditions.items() if c.snomed} == CONFIRMED_SNOMED
    for code, definition in kb.conditions.items():
        assert (code, set(definition.icd10cm) - CONFIRMED_ICD10CM) == (code, set())


def test_malignant_hyperthermia_susceptibility_has_no_disorder_code(kb):
    definition = kb.conditions["malignant-hyperthermia-susceptibility"]

    assert definition.snomed is None
    assert definition.icd10cm == ()


def test_every_source_of_the_clinical_reference_is_listed(kb):
    assert set(kb.references) == REFERENCE_IDS


def test_every_reference_has_a_citation_a_locator_and_what_was_read(kb):
    for reference in kb.references.values():
        assert reference.citation, reference.id
        # A link, or, where clinical-reference.md §10 gives none usable, an identifier as given.
        assert reference.url or reference.identifier, reference.id
        assert reference.what_read, reference.id


def test_every_rule_cites_references_that_resolve(kb):
    for rule in kb.rules:
        assert rule.references, rule.id
        assert set(rule.references) <= set(kb.references), rule.id


def test_monitoring_guidance_cites_the_asa_guideline(kb):
    assert kb.guidance.neuromuscular_monitoring.references == ("S83",)
    assert "0.9" in kb.guidance.neuromuscular_monitoring.text


def test_every_rule_level_and_effect_is_in_the_vocabulary(kb):
    for rule in kb.rules:
        levels = [rule.level] if rule.level is not None else [phase.level for phase in rule.phases]
        effects = list(rule.effects) + [tag for phase in rule.phases for tag in phase.effects]
        assert all(isinstance(level, Level) for level in levels), rule.id
        assert set(effects) <= set(EFFECT_TAGS), rule.id


def test_every_rule_states_its_evidence_and_a_rationale_in_sentences(kb):
    for rule in kb.rules:
        assert rule.evidence.strip(), rule.id
        assert rule.rationale.rstrip().endswith((".", ")")), rule.id


def test_every_rule_file_states_unconfirmed_and_demographics_explicitly():
    for name, document in rule_documents():
        for rule in document["rules"]:
            assert "unconfirmed" in rule, (name, rule["id"])
            assert "uses_demographics" in rule, (name, rule["id"])


def test_rules_with_a_per_kg_dose_declare_that_they_use_the_weight(kb):
    for rule in kb.rules:
        if any(dose.per_kg_mg is not None for dose in rule.doses):
            assert "weight" in rule.uses_demographics, rule.id


def test_unconfirmed_rules_say_so_in_their_evidence(kb):
    for rule in kb.rules:
        if rule.unconfirmed:
            assert re.search(r"\bU\b", rule.evidence), rule.id
