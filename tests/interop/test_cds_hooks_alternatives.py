"""A card at avoid or contraindicated offers to replace the order with the alternative that the
knowledge base names (clinical-reference §6.4 and worked example V12: rocuronium 1.2 mg/kg
instead of succinylcholine in a major burn), unless that alternative is itself planned or
rated avoid for the patient, or none is named."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.medicationrequest import MedicationRequest

from periop.interop.models import CdsFeedback
from tests.interop.conftest import (
    ATC,
    FEEDBACK_URL,
    ICD10CM,
    MYASTHENIA,
    SNOMED,
    assert_valid_response,
    bearer,
    condition,
    days_ago,
    full_prefetch,
    hook_body,
    order,
    searchset,
)

pytestmark = pytest.mark.django_db

SUCCINYLCHOLINE = order("mr-sux", (ATC, "M03AB01"), text="succinylcholine injection")
ROCURONIUM = order("mr-roc", (ATC, "M03AC09"), text="rocuronium injection")
VECURONIUM = order("mr-vec", (ATC, "M03AC03"), text="vecuronium injection")
NEOSTIGMINE = order("mr-neo", (ATC, "N07AA01"), text="neostigmine injection")
COLISTIN = order("mr-col", (ATC, "J01XB01"), text="colistin infusion")
GENTAMICIN = order("mr-gent", (ATC, "J01GB03"), text="gentamicin injection")
# §4.2: a burn 72 hours to 2 years old contraindicates succinylcholine.
BURN = condition("c-burn", (SNOMED, "125666000"), onset=days_ago(10))
MYOTONIC = condition("c-dm1", (ICD10CM, "G71.11"), onset="2010-01-01")


def _weight(kg: float) -> dict:
    return searchset(
        {
            "resourceType": "Observation",
            "id": "w-1",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "subject": {"reference": "Patient/pat-1"},
            "effectiveDateTime": (timezone.now() - dt.timedelta(days=1)).isoformat(),
            "valueQuantity": {
                "value": kg,
                "unit": "kg",
                "system": "http://unitsofmeasure.org",
                "code": "kg",
            },
        }
    )


def _card(call, *orders, prefetch, drug_name):
    response = call(hook_body(*orders, prefetch=prefetch))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert_valid_response(answer)
    (card,) = [card for card in answer["cards"] if drug_name in card["summary"]]
    return card


def _labels(card):
    return [suggestion["label"] for suggestion in card["suggestions"]]


def test_a_burn_patient_s_succinylcholine_order_can_be_replaced_by_rocuronium(call):
    prefetch = full_prefetch(BURN, bodyWeight=_weight(80))

    card = _card(call, SUCCINYLCHOLINE, prefetch=prefetch, drug_name="Succinylcholine")

    assert card["indicator"] == "critical"
    assert card["selectionBehavior"] == "at-most-one"
    assert _labels(card) == [
        "Remove the Succinylcholine (suxamethonium) order",
        "Replace with Rocuronium",
    ]
    remove, replace = card["suggestions"]
    assert remove["uuid"] != replace["uuid"]
    uuid.UUID(replace["uuid"])
    delete, create = replace["actions"]
    assert delete == remove["actions"][0]
    assert delete["type"] == "delete"
    assert delete["resourceId"] == "MedicationRequest/mr-sux"
    assert create["type"] == "create"
    assert create["description"] == "Add a draft order for Rocuronium."
    resource = create["resource"]
    MedicationRequest.model_validate(resource)
    assert resource["resourceType"] == "MedicationRequest"
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["subject"] == {"reference": "Patient/pat-1"}
    concept = resource["medicationCodeableConcept"]
    assert concept["text"] == "Rocuronium"
    assert {"system": ATC, "code": "M03AC09", "display": "Rocuronium"} in concept["coding"]
    # The alternative's own dose guidance for this patient: what its own card would say.
    (dosage,) = resource["dosageInstruction"]
    rocuronium_card = _card(call, ROCURONIUM, prefetch=prefetch, drug_name="Rocuronium")
    assert f"**Dose:** {dosage['text']}" in rocuronium_card["detail"]
    assert "rocuronium requirement" in dosage["text"]
    assert "override" not in dosage["text"]


def test_no_replacement_when_the_alternative_is_already_ordered(call):
    card = _card(
        call, SUCCINYLCHOLINE, ROCURONIUM, prefetch=full_prefetch(BURN), drug_name="Succinylcholine"
    )

    assert _labels(card) == ["Remove the Succinylcholine (suxamethonium) order"]


def test_no_replacement_when_the_patient_should_avoid_the_alternative(call):
    # §7: a polymyxin with any neuromuscular blocker is avoid, rocuronium included.
    card = _card(
        call, SUCCINYLCHOLINE, COLISTIN, prefetch=full_prefetch(BURN), drug_name="Succinylcholine"
    )

    assert card["indicator"] == "critical"
    assert _labels(card) == ["Remove the Succinylcholine (suxamethonium) order"]


def test_no_replacement_when_the_knowledge_base_names_no_alternative(call):
    # §5, MG generalised x AG: avoid; the reference names no drug to give instead.
    card = _card(call, GENTAMICIN, prefetch=full_prefetch(MYASTHENIA), drug_name="Gentamicin")

    assert _labels(card) == ["Remove the Gentamicin order"]


def test_sugammadex_replaces_neostigmine_only_after_rocuronium(call):
    # §6.6: neostigmine "may provoke myotonia"; "Sugammadex is preferred after rocuronium (S62)".
    prefetch = full_prefetch(MYOTONIC)
    after_rocuronium = _card(
        call, NEOSTIGMINE, ROCURONIUM, prefetch=prefetch, drug_name="Neostigmine"
    )
    after_vecuronium = _card(
        call, NEOSTIGMINE, VECURONIUM, prefetch=prefetch, drug_name="Neostigmine"
    )

    assert _labels(after_rocuronium)[1] == "Replace with Sugammadex"
    create = after_rocuronium["suggestions"][1]["actions"][-1]
    MedicationRequest.model_validate(create["resource"])
    assert create["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "V03AB35"
    assert "dosageInstruction" not in create["resource"]
    assert len(after_vecuronium["suggestions"]) == 1


def test_accepting_the_replacement_is_recorded(call, token):
    card = _card(call, SUCCINYLCHOLINE, prefetch=full_prefetch(BURN), drug_name="Succinylcholine")
    entry = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][1]["uuid"]}],
        "outcomeTimestamp": "2026-11-22T08:15:30Z",
    }

    response = Client().post(
        "/cds-services/periop-nmj/feedback",
        data={"feedback": [entry]},
        content_type="application/json",
        **bearer(token(aud=FEEDBACK_URL)),
    )

    assert response.status_code == 200, response.content
    feedback = CdsFeedback.objects.get()
    assert feedback.outcome == "accepted"
