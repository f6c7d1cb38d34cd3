"""POST /api/v1/checks, vocabulary v1.1: drug synonyms are accepted and answered as codes."""

from __future__ import annotations

import pytest

AT = "2026-11-22T08:00:00+00:00"


def post(client, body):
    return client.post("/api/v1/checks", body, format="json")


def burn_body(drugs, medications=()):
    return {
        "at": AT,
        "conditions": [{"code": "burn", "onset": "2026-11-12", "attributes": {"tbsa_percent": 30}}],
        "medications": list(medications),
        "drugs": drugs,
    }


@pytest.mark.django_db
def test_it_accepts_suxamethonium_and_answers_with_succinylcholine(pharmacist_client):
    by_synonym = post(pharmacist_client, burn_body(["suxamethonium"]))
    by_code = post(pharmacist_client, burn_body(["succinylcholine"]))

    assert by_synonym.status_code == 200
    caution = by_synonym.json()["cautions"][0]
    assert caution["drug"] == "succinylcholine"
    assert caution["level"] == by_code.json()["cautions"][0]["level"] == "contraindicated"
    # The answer is the code's, word for word: the synonym is normalised away.
    assert by_synonym.json()["cautions"] == by_code.json()["cautions"]


@pytest.mark.django_db
def test_it_refuses_a_drug_given_by_code_and_by_synonym(pharmacist_client):
    response = post(pharmacist_client, burn_body(["succinylcholine", "suxamethonium"]))

    assert response.status_code == 400
    assert response.json()["drugs"] == [
        "Drug 'succinylcholine' is listed more than once (as 'suxamethonium')."
    ]


@pytest.mark.django_db
def test_it_accepts_a_medication_synonym_and_matches_rules_on_the_code(pharmacist_client):
    body = burn_body(["rocuronium"], [{"code": "magnesium-sulphate", "started": "2026-11-21"}])
    body["conditions"] = []

    response = post(pharmacist_client, body)

    assert response.status_code == 200
    caution = response.json()["cautions"][0]
    assert any(
        "medication:magnesium-sulfate" in finding["triggered_by"] for finding in caution["findings"]
    )


@pytest.mark.django_db
def test_the_knowledge_base_lists_synonyms(pharmacist_client):
    drugs = {d["code"]: d for d in pharmacist_client.get("/api/v1/knowledge-base").json()["drugs"]}

    assert "suxamethonium" in drugs["succinylcholine"]["synonyms"]
    assert drugs["sugammadex"]["synonyms"] == []
