"""GET /cds-services (CDS Hooks 2.0.1 Discovery; standards-reference CDSH-01)."""

from __future__ import annotations

import pytest
from django.test import Client

from periop.audit.models import AuditEvent
from tests.interop.conftest import DISCOVERY_URL, assert_no_null_or_empty, bearer

pytestmark = pytest.mark.django_db


def test_it_lists_periop_nmj_for_both_order_hooks(cds_client, token):
    response = Client().get("/cds-services", **bearer(token(aud=DISCOVERY_URL)))

    assert response.status_code == 200
    services = response.json()["services"]
    assert [(service["id"], service["hook"]) for service in services] == [
        ("periop-nmj", "order-select"),
        ("periop-nmj", "order-sign"),
    ]
    for service in services:
        assert service["title"]
        assert service["description"]
    assert_no_null_or_empty(response.json())


def test_its_prefetch_templates_use_only_context_tokens(cds_client, token):
    services = Client().get("/cds-services", **bearer(token(aud=DISCOVERY_URL))).json()["services"]

    prefetch = services[0]["prefetch"]
    assert prefetch == {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
        "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
        # Observations by the LOINC codes the knowledge base confirms (observations.toml).
        "bodyWeight": "Observation?patient={{context.patientId}}&code=http://loinc.org|29463-7",
        "serumPotassium": "Observation?patient={{context.patientId}}&code=http://loinc.org|2823-3",
        "serumMagnesium": "Observation?patient={{context.patientId}}"
        "&code=http://loinc.org|19123-9,http://loinc.org|2601-3",
    }
    assert services[1]["prefetch"] == prefetch
    # Only the spec's context tokens, and no date windows.
    for template in prefetch.values():
        assert template.replace("{{context.patientId}}", "").count("{{") == 0
        assert "date=" not in template


def test_the_discovery_call_is_recorded_under_the_clients_department(cds_client, token):
    Client().get("/cds-services", **bearer(token(aud=DISCOVERY_URL)))

    event = AuditEvent.objects.get(resource_type="cds-services")
    assert event.actor_username == cds_client.issuer
    assert event.department_id == cds_client.department_id
    assert event.outcome == "success"


def test_discovery_needs_the_discovery_audience(cds_client, token):
    # A token made for the service endpoint is not one for discovery.
    response = Client().get("/cds-services", **bearer(token()))

    assert response.status_code == 401
    assert response.content == b""


def test_a_preflight_from_an_allow_listed_origin_is_answered(settings, db):
    settings.CDS_HOOKS_CORS_ORIGINS = ["https://sandbox.cds-hooks.org"]

    response = Client().options(
        "/cds-services/periop-nmj",
        HTTP_ORIGIN="https://sandbox.cds-hooks.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_another_origin_gets_no_cors_header(settings, cds_client, token):
    settings.CDS_HOOKS_CORS_ORIGINS = ["https://sandbox.cds-hooks.org"]

    response = Client().get(
        "/cds-services", HTTP_ORIGIN="https://evil.example", **bearer(token(aud=DISCOVERY_URL))
    )

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_other_methods_are_405(cds_client):
    assert Client().delete("/cds-services").status_code == 405
    assert Client().get("/cds-services/periop-nmj").status_code == 405
