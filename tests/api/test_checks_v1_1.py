"""POST /api/v1/checks, vocabulary v1.1 (additive): serum potassium and serum magnesium in
mmol/L change the answer; v1 requests are answered as before."""

from __future__ import annotations

import pytest

AT = "2026-11-22T08:00:00+00:00"


def post(client, body):
    return client.post("/api/v1/checks", body, format="json")


def check(client, conditions, drugs):
    response = post(client, {"at": AT, "conditions": conditions, "drugs": drugs})
    assert response.status_code == 200, response.json()
    return {caution["drug"]: caution for caution in response.json()["cautions"]}


def renal(**attributes):
    return [{"code": "renal-impairment", "onset": "2025-01-01", "attributes": attributes}]


def hypermagnesaemia(**attributes):
    return [{"code": "hypermagnesemia", "onset": "2026-11-22", "attributes": attributes}]


# clinical-reference.md §12.1: renal impairment, K+ under 5.5 mmol/L: succinylcholine MO (S100,
# S97); 5.5 or more: CI (S100, S101).
@pytest.mark.django_db
def test_serum_potassium_changes_the_succinylcholine_answer(pharmacist_client):
    normal = check(pharmacist_client, renal(serum_potassium_mmol_l=4.2), ["suxamethonium"])
    high = check(pharmacist_client, renal(serum_potassium_mmol_l=6.1), ["suxamethonium"])

    assert normal["succinylcholine"]["level"] == "monitor"
    assert high["succinylcholine"]["level"] == "contraindicated"
    assert "hyperkalemia" in high["succinylcholine"]["effects"]


# §12.9: 4.0 mmol/L is 9.7 mg/dL, at or above the 9.0 mg/dL from which magnesium is avoided;
# 2.0 mmol/L (4.9 mg/dL) is below it.
@pytest.mark.django_db
def test_serum_magnesium_in_mmol_per_litre_changes_the_answer(pharmacist_client):
    low = check(pharmacist_client, hypermagnesaemia(serum_mg_mmol_l=2.0), ["magnesium-sulphate"])
    high = check(pharmacist_client, hypermagnesaemia(serum_mg_mmol_l=4.0), ["magnesium-sulfate"])

    assert low["magnesium-sulfate"]["level"] == "monitor"
    assert high["magnesium-sulfate"]["level"] == "avoid"


@pytest.mark.django_db
def test_a_magnesium_read_in_another_unit_is_reported_as_an_assumption(pharmacist_client):
    response = post(
        pharmacist_client,
        {"at": AT, "conditions": hypermagnesaemia(serum_mg_mmol_l=4.0), "drugs": ["rocuronium"]},
    )

    assert any("9.7 mg/dL" in note for note in response.json()["assumptions"])


@pytest.mark.django_db
def test_a_contradictory_magnesium_pair_takes_the_more_cautious_reading(pharmacist_client):
    cautions = check(
        pharmacist_client,
        hypermagnesaemia(serum_mg_mg_dl=3.0, serum_mg_mmol_l=4.0),
        ["magnesium-sulfate"],
    )

    caution = cautions["magnesium-sulfate"]
    assert caution["level"] == "avoid"
    assert any("contradicts" in note for note in caution["assumptions"])


@pytest.mark.django_db
def test_it_refuses_a_potassium_outside_its_range_with_a_field_message(pharmacist_client):
    response = post(
        pharmacist_client,
        {"at": AT, "conditions": renal(serum_potassium_mmol_l=40), "drugs": ["succinylcholine"]},
    )

    assert response.status_code == 400
    assert response.json()["conditions"][0]["attributes"] == [
        "serum_potassium_mmol_l: 40 is above the maximum of 15 mmol/L."
    ]


# §12.6: a v1.1 medication code is accepted and a conflict is resolved the cautious way.
@pytest.mark.django_db
def test_a_fluoroquinolone_planned_in_myasthenia_is_avoided(pharmacist_client):
    conditions = [{"code": "myasthenia-gravis", "onset": "2024-01-01", "attributes": {}}]

    cautions = check(pharmacist_client, conditions, ["ciprofloxacin"])

    assert cautions["ciprofloxacin"]["level"] == "avoid"
    assert cautions["ciprofloxacin"]["effects"] == ["worsens_disease"]
