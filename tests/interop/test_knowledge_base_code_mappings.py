"""GET /api/v1/knowledge-base publishes the external code mappings CDS Hooks reads with
(standards-reference §2.6-§2.9: SNOMED CT, ICD-10-CM, ATC; no RxNorm, no LOINC)."""

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


def test_it_maps_no_observation_while_no_loinc_code_is_graded(mappings):
    assert mappings["observations"] == []
    assert "LOINC" in mappings["note"]
