"""Vocabulary v1.1: medications that published sources link to NMJ drug effects
(clinical-reference.md §12.3-§12.8)."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    ADJUST,
    AVOID,
    CONTRAINDICATED,
    MONITOR,
    NONE,
    ago,
    caution_alone,
    cautions,
    condition,
    medication,
    patient,
    rules_of,
)


def taking(code: str, days: float = 30):
    return medication(code, ago(days=days))


def myasthenia():
    return condition("myasthenia-gravis", ago(years=3), antibody="achr")


def lambert_eaton():
    return condition("lambert-eaton", ago(years=1))


# --- §12.3 lithium ---------------------------------------------------------------------------


# §12.3: all NMBAs with lithium: DA SENS+/PROLONG (B: S114; S116 gives MO, the more cautious DA
# is taken); labels B: S111, S112, S113.
@pytest.mark.parametrize(
    "drug", ["succinylcholine", "rocuronium", "vecuronium", "cisatracurium", "mivacurium"]
)
def test_lithium_potentiates_every_neuromuscular_blocker(kb, drug):
    caution = caution_alone(kb, patient(taking("lithium")), drug)

    assert caution.level == ADJUST
    assert {"increased_sensitivity", "prolonged"} <= set(caution.effects)
    assert "lithium-nmba-potentiation" in rules_of(caution)


# §12.3 and §12.6: lithium in MG: MO WORSEN (B: S112, S127).
def test_lithium_planned_in_myasthenia_may_worsen_it(kb):
    caution = caution_alone(kb, patient(myasthenia()), "lithium")

    assert (caution.level, caution.effects) == (MONITOR, ("worsens_disease",))


def test_lithium_is_accepted_by_its_synonym(kb):
    assert kb.canonical_drug_code("lithium-carbonate") == "lithium"


# --- §12.4 volatile anaesthetics ---------------------------------------------------------------


# §12.4: rocuronium and vecuronium DA SENS+ per their labels (B: S113, S117; A: S118);
# cisatracurium MO SENS+ (B: S112); SUX MO SENS+ (B: S111). Planned together or running.
@pytest.mark.parametrize(
    ("drug", "level"),
    [
        ("rocuronium", ADJUST),
        ("vecuronium", ADJUST),
        ("cisatracurium", MONITOR),
        ("succinylcholine", MONITOR),
    ],
)
def test_a_planned_volatile_anaesthetic_potentiates_blockers(kb, drug, level):
    by_drug = cautions(kb, patient(), (drug, "sevoflurane"))

    assert by_drug[drug].level == level
    assert "increased_sensitivity" in by_drug[drug].effects


def test_a_running_volatile_anaesthetic_counts_as_present(kb):
    state = patient(medication("isoflurane", ago(hours=1)))

    assert caution_alone(kb, state, "rocuronium").level == ADJUST


# §12.4: rocuronium maintenance 0.075-0.1 mg/kg in long inhalational anaesthesia (B: S113).
def test_the_rocuronium_dose_follows_the_label_with_a_volatile(kb):
    by_drug = cautions(kb, patient(weight_kg="70"), ("rocuronium", "desflurane"))

    dose = by_drug["rocuronium"].dose
    assert dose is not None
    assert "0.075-0.1 mg/kg" in dose.text


# §12.4: MG + volatile: MO SENS+ VAR (A: S119, S120; level U, unconfirmed).
def test_a_volatile_anaesthetic_in_myasthenia_is_monitored_and_unconfirmed(kb):
    caution = caution_alone(kb, patient(myasthenia()), "sevoflurane")

    assert caution.level == MONITOR
    assert set(caution.effects) == {"increased_sensitivity", "unpredictable"}
    assert all(finding.unconfirmed for finding in caution.findings)


# --- §12.5 calcium-channel blockers ------------------------------------------------------------


# §12.5: AMINO and BENZ MO SENS+ with any calcium-channel blocker (B: S112, S113).
@pytest.mark.parametrize("blocker", ["verapamil", "diltiazem", "amlodipine"])
@pytest.mark.parametrize("drug", ["rocuronium", "atracurium"])
def test_calcium_channel_blockers_potentiate_non_depolarisers(kb, blocker, drug):
    caution = caution_alone(kb, patient(taking(blocker)), drug)

    assert (caution.level, caution.effects) == (MONITOR, ("increased_sensitivity",))


# §12.5: CCB in MG or LEMS: MO WORSEN (B: S127; A cases: S125, S126; level U).
@pytest.mark.parametrize("disease", [myasthenia, lambert_eaton])
def test_verapamil_in_an_nmj_disease_may_worsen_it(kb, disease):
    caution = caution_alone(kb, patient(disease()), "verapamil")

    assert (caution.level, caution.effects) == (MONITOR, ("worsens_disease",))


# --- §12.6 drugs that worsen myasthenia gravis -------------------------------------------------


# §12.6, per drug, planned for a patient with generalised AChR myasthenia gravis.
MYASTHENIA_LEVELS = [
    ("ciprofloxacin", AVOID),  # boxed warning "avoid" (A: S128; B: S129; A: S130)
    ("levofloxacin", AVOID),
    ("moxifloxacin", AVOID),
    ("telithromycin", CONTRAINDICATED),  # B: S131, S129
    ("azithromycin", MONITOR),  # A: S132, S130; B: S127
    ("clarithromycin", MONITOR),
    ("erythromycin", MONITOR),
    ("propranolol", MONITOR),  # B: S112, S134, S127
    ("timolol", MONITOR),
    ("quinine", CONTRAINDICATED),  # B: S135, S129
    ("chloroquine", MONITOR),  # B: S112
    ("hydroxychloroquine", CONTRAINDICATED),  # Swiss label CI (B: S136), the cautious reading
    ("procainamide", MONITOR),  # B: S137, S112
    ("quinidine", MONITOR),
    ("botulinum-toxin", AVOID),  # B: S138, S129
    ("magnesium-sulfate", CONTRAINDICATED),  # label CI (A: S139) over §5 AV, the cautious one
    ("atorvastatin", MONITOR),  # A: S140
    ("pembrolizumab", MONITOR),  # A: S141; B: S142; level U ("at least MO")
]


@pytest.mark.parametrize(("drug", "level"), MYASTHENIA_LEVELS)
def test_drugs_that_worsen_myasthenia_get_the_reference_level(kb, drug, level):
    caution = caution_alone(kb, patient(myasthenia()), drug)

    assert caution.level == level
    assert "worsens_disease" in caution.effects


@pytest.mark.parametrize(("drug", "level"), MYASTHENIA_LEVELS)
def test_the_same_drugs_need_the_disease(kb, drug, level):
    assert caution_alone(kb, patient(), drug).level == NONE


# §12.6: LEMS: WORSEN for fluoroquinolones, erythromycin, quinine, quinidine, procainamide and
# beta-blockers (B: S143; level U, monitor); botulinum toxin AV (B: S138).
@pytest.mark.parametrize(
    ("drug", "level"),
    [
        ("ciprofloxacin", MONITOR),
        ("erythromycin", MONITOR),
        ("quinine", MONITOR),
        ("procainamide", MONITOR),
        ("atenolol", MONITOR),
        ("botulinum-toxin", AVOID),
    ],
)
def test_drugs_that_worsen_lems_are_cautioned(kb, drug, level):
    caution = caution_alone(kb, patient(lambert_eaton()), drug)

    assert (caution.level, "worsens_disease" in caution.effects) == (level, True)


# §12.6: NMBAs in a patient on quinine: AV SENS+ per the Qualaquin label (B: S135).
@pytest.mark.parametrize("drug", ["succinylcholine", "rocuronium", "cisatracurium"])
def test_blockers_are_avoided_in_a_patient_taking_quinine(kb, drug):
    caution = caution_alone(kb, patient(taking("quinine")), drug)

    assert caution.level == AVOID
    assert "increased_sensitivity" in caution.effects


# §12.6: SUX and AMINO with beta-blockers MO SENS+ (B: S111, S113).
def test_beta_blockers_potentiate_succinylcholine(kb):
    caution = caution_alone(kb, patient(taking("metoprolol")), "succinylcholine")

    assert (caution.level, caution.effects) == (MONITOR, ("increased_sensitivity",))


# --- §12.7 other cholinesterase inhibitors -----------------------------------------------------


# §12.7: SUX with echothiophate AV PROLONG (A: S144).
def test_echothiophate_makes_succinylcholine_avoided(kb):
    caution = caution_alone(kb, patient(taking("echothiophate")), "succinylcholine")

    assert (caution.level, caution.effects) == (AVOID, ("prolonged",))


# §12.7: with donepezil, rivastigmine or galantamine: SUX MO PROLONG (B: S145, S146);
# non-depolarisers MO SENS- (B: S112, S146); NEO DA REV- (B: S146; level a design choice, U).
@pytest.mark.parametrize("dementia_drug", ["donepezil", "rivastigmine", "galantamine"])
@pytest.mark.parametrize(
    ("drug", "level", "effect"),
    [
        ("succinylcholine", MONITOR, "prolonged"),
        ("rocuronium", MONITOR, "resistance"),
        ("cisatracurium", MONITOR, "resistance"),
        ("neostigmine", ADJUST, "reduced_reversal"),
    ],
)
def test_dementia_cholinesterase_inhibitors(kb, dementia_drug, drug, level, effect):
    caution = caution_alone(kb, patient(taking(dementia_drug)), drug)

    assert caution.level == level
    assert effect in caution.effects


# §12.7: donepezil stopped within about 3 weeks still counts (S146; half-life about 70 h).
def test_donepezil_stopped_two_weeks_ago_still_counts(kb):
    state = patient(medication("donepezil", ago(days=400), ago(days=14)))

    assert caution_alone(kb, state, "succinylcholine").level == MONITOR


def test_donepezil_stopped_four_weeks_ago_no_longer_counts(kb):
    state = patient(medication("donepezil", ago(days=400), ago(days=28)))

    assert caution_alone(kb, state, "succinylcholine").level == NONE


# --- §12.8 sugammadex interactions -------------------------------------------------------------


# §12.8: SUG with hormonal contraception: MO, counselling (B: S150, S153; C: S151).
@pytest.mark.parametrize(
    "contraceptive", ["oral-hormonal-contraceptive", "non-oral-hormonal-contraceptive"]
)
def test_sugammadex_with_hormonal_contraception_gives_counselling(kb, contraceptive):
    caution = caution_alone(kb, patient(taking(contraceptive)), "sugammadex")

    assert caution.level == MONITOR
    assert "sugammadex-contraception-counsel" in rules_of(caution)
    assert "7 days" in caution.monitoring


# §12.8: SUG with toremifene, fusidic acid or flucloxacillin: MO REV- (B: S150).
@pytest.mark.parametrize("displacer", ["toremifene", "fusidic-acid", "flucloxacillin"])
def test_sugammadex_with_a_displacing_drug_is_monitored(kb, displacer):
    caution = caution_alone(kb, patient(taking(displacer, days=0.5)), "sugammadex")

    assert (caution.level, caution.effects) == (MONITOR, ("reduced_reversal",))


# §12.8: IV fusidic acid or high-dose flucloxacillin after sugammadex: AV (B: S150; A: S152
# conflicts and the label's caution is kept).
@pytest.mark.parametrize("antibiotic", ["fusidic-acid", "floxacillin"])
def test_displacing_antibiotics_are_avoided_with_sugammadex(kb, antibiotic):
    code = kb.canonical_drug_code(antibiotic)
    by_drug = cautions(kb, patient(), (code, "sugammadex"))

    assert by_drug[code].level == AVOID


# §12.2 and §12.8: SUX with a chronic oral contraceptive MO PROLONG (B: S111).
def test_an_oral_contraceptive_gives_succinylcholine_monitor(kb):
    caution = caution_alone(
        kb, patient(taking("oral-hormonal-contraceptive", days=365)), "succinylcholine"
    )

    assert (caution.level, caution.effects) == (MONITOR, ("prolonged",))
