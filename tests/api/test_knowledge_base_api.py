"""GET /api/v1/knowledge-base: source attributes, vocabulary, rules and references."""

import pytest

CONTRACT_CONDITIONS = {
    "myasthenia-gravis",
    "lambert-eaton",
    "congenital-myasthenic-syndrome",
    "botulism",
    "organophosphate-poisoning",
    "penicillamine-myasthenia",
    "hypermagnesemia",
    "stiff-person-syndrome",
    "isaacs-syndrome",
    "spinal-cord-injury",
    "stroke",
    "guillain-barre",
    "burn",
    "immobilization",
    "critical-illness",
    "sepsis",
    "major-trauma",
    "muscular-dystrophy",
    "myotonic-dystrophy",
    "malignant-hyperthermia-susceptibility",
    "butyrylcholinesterase-deficiency",
    "renal-impairment",
    "epilepsy",
}
CONTRACT_DRUGS = {
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
}
# Vocabulary v1.1 (additive): the §12 additions, each with a cited source.
V1_1_CONDITIONS = {"hyperkalemia", "pregnancy", "postpartum"}
V1_1_DRUGS = {
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
}


@pytest.mark.django_db
def test_it_needs_authentication(api_client):
    assert api_client.get("/api/v1/knowledge-base").status_code == 401


@pytest.mark.django_db
def test_it_carries_the_onc_source_attributes(auditor_client):
    payload = auditor_client.get("/api/v1/knowledge-base").json()

    assert payload["version"]
    assert payload["digest"].startswith("sha256:")
    assert payload["release_date"]
    assert payload["developer"]
    assert payload["funding_source"]


@pytest.mark.django_db
def test_it_lists_every_contract_condition_and_drug(pharmacist_client):
    payload = pharmacist_client.get("/api/v1/knowledge-base").json()

    assert {c["code"] for c in payload["conditions"]} == CONTRACT_CONDITIONS | V1_1_CONDITIONS
    assert {d["code"] for d in payload["drugs"]} == CONTRACT_DRUGS | V1_1_DRUGS


@pytest.mark.django_db
def test_drugs_carry_their_class_and_confirmed_atc_codes(pharmacist_client):
    drugs = {d["code"]: d for d in pharmacist_client.get("/api/v1/knowledge-base").json()["drugs"]}

    assert drugs["succinylcholine"]["atc"] == "M03AB01"
    assert drugs["succinylcholine"]["drug_class"] == "depolarizing-blocker"
    assert drugs["rocuronium"]["atc"] == "M03AC09"
    assert drugs["sugammadex"]["atc"] == "V03AB35"
    assert drugs["magnesium-sulfate"]["atc"] == "B05XA05"


@pytest.mark.django_db
def test_conditions_carry_their_attribute_schema(pharmacist_client):
    conditions = {
        c["code"]: c for c in pharmacist_client.get("/api/v1/knowledge-base").json()["conditions"]
    }

    antibody = conditions["myasthenia-gravis"]["attributes"]["antibody"]
    assert antibody["type"] == "choice"
    assert set(antibody["choices"]) == {"achr", "musk", "lrp4", "seronegative", "unknown"}
    assert conditions["burn"]["attributes"]["tbsa_percent"]["type"] == "number"
    assert conditions["myasthenia-gravis"]["snomed"] == "91637004"
    assert conditions["myotonic-dystrophy"]["snomed"] is None


@pytest.mark.django_db
def test_every_rule_cites_references_that_are_listed(pharmacist_client):
    payload = pharmacist_client.get("/api/v1/knowledge-base").json()
    reference_ids = {reference["id"] for reference in payload["references"]}

    assert payload["rules"]
    for rule in payload["rules"]:
        assert rule["references"], rule["id"]
        assert set(rule["references"]) <= reference_ids, rule["id"]
        assert rule["rationale"], rule["id"]
        assert rule["level"] or rule["phases"], rule["id"]


@pytest.mark.django_db
def test_references_link_only_https_and_keep_the_identifier_as_given(pharmacist_client):
    payload = pharmacist_client.get("/api/v1/knowledge-base").json()
    references = {reference["id"]: reference for reference in payload["references"]}

    # clinical-reference.md §10: S19 is given as a DOI only, S48 as a title from a list.
    assert references["S19"]["url"] == "https://doi.org/10.1007/BF03005579"
    assert references["S19"]["identifier"] == "doi:10.1007/BF03005579"
    assert references["S48"]["url"] == ""
    assert references["S48"]["identifier"]
    for reference in references.values():
        assert reference["url"] == "" or reference["url"].startswith("https://"), reference["id"]


@pytest.mark.django_db
def test_each_phase_says_whether_it_is_unconfirmed(pharmacist_client):
    payload = pharmacist_client.get("/api/v1/knowledge-base").json()
    burn = next(rule for rule in payload["rules"] if rule["id"] == "sux-burn-window")

    # §4.2: the 24-72 h avoid and the healed-burn level after 2 years are design choices (U).
    assert [phase["unconfirmed"] for phase in burn["phases"]] == [False, True, False, False, True]


@pytest.mark.django_db
def test_each_rule_publishes_the_alternatives_it_names(pharmacist_client):
    rules = {r["id"]: r for r in pharmacist_client.get("/api/v1/knowledge-base").json()["rules"]}

    (burn,) = rules["sux-burn-window"]["alternatives"]
    assert burn["drug"] == "rocuronium"
    assert "S09" in burn["references"]
    # The reference names no one antibiotic to give instead in myasthenia gravis.
    assert rules["mg-antibiotic-avoid"]["alternatives"] == []


@pytest.mark.django_db
def test_each_attribute_says_whether_it_is_informational_and_why(pharmacist_client):
    conditions = {
        c["code"]: c for c in pharmacist_client.get("/api/v1/knowledge-base").json()["conditions"]
    }

    remission = conditions["myasthenia-gravis"]["attributes"]["in_remission"]
    assert remission["informational"] is True
    assert "S21" in remission["informational_reason"]
    tbsa = conditions["burn"]["attributes"]["tbsa_percent"]
    assert tbsa["informational"] is False
    assert tbsa["informational_reason"] is None
    for condition in conditions.values():
        for attribute in condition["attributes"].values():
            assert attribute["informational"] == (attribute["informational_reason"] is not None)


@pytest.mark.django_db
def test_conditions_list_the_attribute_implications_that_can_contradict(pharmacist_client):
    conditions = {
        c["code"]: c for c in pharmacist_client.get("/api/v1/knowledge-base").json()["conditions"]
    }

    implications = conditions["butyrylcholinesterase-deficiency"]["implications"]
    assert {
        "when": {"dibucaine_number": {"min": None, "max": 29}},
        "attribute": "genotype",
        "values": ["homozygous"],
    }.items() <= implications[0].items()
    assert "S154" in implications[0]["references"]
    assert conditions["burn"]["implications"] == []


@pytest.mark.django_db
def test_every_condition_and_drug_shows_its_aftermath_and_its_source(pharmacist_client):
    payload = pharmacist_client.get("/api/v1/knowledge-base").json()
    conditions = {c["code"]: c for c in payload["conditions"]}
    drugs = {d["code"]: d for d in payload["drugs"]}

    for item in (*conditions.values(), *drugs.values()):
        assert item["aftermath"]["kind"] in {"hours", "unbounded", "unstated"}, item["code"]
        assert item["aftermath"]["basis"], item["code"]
    assert conditions["hypermagnesemia"]["aftermath"] == {
        "kind": "hours",
        "hours": 0,
        "references": ["S41a", "S41b"],
        "basis": conditions["hypermagnesemia"]["aftermath"]["basis"],
    }
    assert drugs["neostigmine"]["aftermath"]["kind"] == "unstated"


@pytest.mark.django_db
def test_phases_say_which_clock_they_count_on(pharmacist_client):
    rules = {r["id"]: r for r in pharmacist_client.get("/api/v1/knowledge-base").json()["rules"]}

    clocks = [phase["since"] for phase in rules["sux-guillain-barre-window"]["phases"]]
    assert clocks == ["onset", "resolution", "resolution"]
    durations = {phase["until"] for phase in rules["sux-immobilization-window"]["phases"]}
    assert durations == {"resolution"}


@pytest.mark.django_db
def test_conditions_list_their_unit_conversions_with_the_cited_factor(pharmacist_client):
    conditions = {
        c["code"]: c for c in pharmacist_client.get("/api/v1/knowledge-base").json()["conditions"]
    }

    conversions = {c["from"]: c for c in conditions["hypermagnesemia"]["conversions"]}
    # clinical-reference.md §12.9: 1 mmol/L = 2.43 mg/dL; 1 mEq/L = 1.215 mg/dL (S159, S160).
    assert conversions["serum_mg_mmol_l"]["to"] == "serum_mg_mg_dl"
    assert conversions["serum_mg_mmol_l"]["factor"] == "2.43"
    assert conversions["serum_mg_meq_l"]["factor"] == "1.215"
    assert conversions["serum_mg_mmol_l"]["references"] == ["S159", "S160"]
    assert conditions["burn"]["conversions"] == []
