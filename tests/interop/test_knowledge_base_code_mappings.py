"""GET /api/v1/knowledge-base publishes the external code mappings CDS Hooks reads with
(standards-reference §2.6-§2.9: SNOMED CT, ICD-10-CM, ATC; no RxNorm), and the LOINC codes of
observations.toml with their sources and grades."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def mappings(pharmacist_client):
    return pharmacist_client.get("/api/v1/knowledge-base").json()["code_mappings"]


def test_it_maps_snomed_and_icd_10_cm_codes_to_conditions(mappings):
    conditions = {
        (item["system"], item["code"]): item["condition"] for item in mappings["conditions"]
    }

    # §2.6: 91637004 myasthenia gravis (B); §2.7: G71.01 Duchenne or Becker MD (B).
    assert conditions[("http://snomed.info/sct", "91637004")] == "myasthenia-gravis"
    assert conditions[("http://hl7.org/fhir/sid/icd-10-cm", "G71.01")] == "muscular-dystrophy"


def test_a_snomed_concept_narrower_than_its_condition_says_which_records_it_stands_for(
    mappings,
):
    (duchenne,) = [item for item in mappings["conditions"] if item["code"] == "76670001"]
    # §2.6: 76670001 is the Duchenne concept; the condition is Duchenne or Becker.
    assert duchenne["condition"] == "muscular-dystrophy"
    assert duchenne["applies_when"] == {"type": ["duchenne"]}
    myasthenia = next(item for item in mappings["conditions"] if item["code"] == "91637004")
    assert "applies_when" not in myasthenia


def test_it_maps_atc_codes_to_drugs_and_no_rxnorm(mappings):
    drugs = {(item["system"], item["code"]): item["drug"] for item in mappings["drugs"]}

    # §2.8: M03AB01 suxamethonium, M03AC04 atracurium (B).
    assert drugs[("http://www.whocc.no/atc", "M03AB01")] == "succinylcholine"
    assert drugs[("http://www.whocc.no/atc", "M03AC04")] == "atracurium"
    # §2.9: every RxCUI is unconfirmed.
    assert {system for system, _ in drugs} == {"http://www.whocc.no/atc"}


def test_it_maps_the_confirmed_loinc_codes_with_units_sources_and_grades(mappings):
    observations = {item["code"]: item for item in mappings["observations"]}

    assert set(observations) == {"29463-7", "2823-3", "19123-9", "2601-3"}
    weight = observations["29463-7"]
    assert weight["system"] == "http://loinc.org"
    assert weight["measure"] == "body-weight"
    assert weight["units"] == {"kg": "weight_kg"}
    # Magnesium in either unit reaches the attribute in that unit; conditions.toml converts.
    assert observations["2601-3"]["units"] == {"mmol/L": "serum_mg_mmol_l"}
    assert observations["19123-9"]["units"] == {"mg/dL": "serum_mg_mg_dl"}
    for item in observations.values():
        assert item["grade"] in {"A", "B"}
        assert all(source.startswith("https://") for source in item["sources"])
