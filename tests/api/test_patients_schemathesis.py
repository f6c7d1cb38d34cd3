"""Schema-driven fuzzing of the patient and assessment endpoints: never a 500, and every
response matches the OpenAPI schema (so the documented shapes are the real ones)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import api_token_for
from tests.factories import years_ago

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True)
).include(path_regex=r"^/api/v1/(patients|assessments)")
schema.app = WSGIHandler()


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open(keep_test_connection):
    """Every test here calls the WSGI application directly."""


@pytest.fixture
def anesthetist_token(anesthetist) -> str:
    return api_token_for(anesthetist)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_patient_and_assessment_endpoints_never_fail_and_match_the_schema(case, anesthetist_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {anesthetist_token}"},
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )


@pytest.mark.django_db
def test_real_responses_of_a_whole_lifecycle_match_the_schema(anesthetist_token, department):
    """Fuzzing rarely hits an existing id; this walks one patient and assessment through every
    operation and checks each real response against its documented shape."""
    headers = {"Authorization": f"Token {anesthetist_token}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]

    def call(path, method, *, body=None, expect, extra_headers=None, **path_parameters):
        case = schema[path][method].Case(
            path_parameters=path_parameters or None, body=body, media_type="application/json"
        )
        response = case.call_and_validate(
            headers={**headers, **(extra_headers or {})}, checks=checks
        )
        assert response.status_code == expect, response.content
        return response.json()

    patient = call(
        "/api/v1/patients",
        "POST",
        body={
            "mrn": "MRN-S1",
            "name": "Schema Patient",
            "birth_date": years_ago(56, 1, 1).isoformat(),
        },
        expect=201,
    )
    condition = call(
        "/api/v1/patients/{patient_id}/conditions",
        "POST",
        body={"code": "burn", "onset": "2026-01-01T10:00:00+00:00", "attributes": {}},
        expect=201,
        patient_id=patient["id"],
    )
    call(
        "/api/v1/patients/{patient_id}/conditions",
        "POST",
        body={"code": "myasthenia-gravis", "onset": "2019-01-01"},
        expect=201,
        patient_id=patient["id"],
    )
    corrected = call(
        "/api/v1/patients/{patient_id}/conditions/{condition_id}",
        "PATCH",
        body={"resolved": "2026-02-01", "reason": "Discharge letter."},
        expect=200,
        patient_id=patient["id"],
        condition_id=condition["id"],
    )
    call(
        "/api/v1/patients/{patient_id}/conditions/{condition_id}/history",
        "GET",
        expect=200,
        patient_id=patient["id"],
        condition_id=corrected["id"],
    )
    medication = call(
        "/api/v1/patients/{patient_id}/medications",
        "POST",
        body={"code": "pyridostigmine", "started": "2019-02-01"},
        expect=201,
        patient_id=patient["id"],
    )
    call(
        "/api/v1/patients/{patient_id}/medications/{medication_id}",
        "DELETE",
        body={"reason": "Stopped."},
        expect=200,
        patient_id=patient["id"],
        medication_id=medication["id"],
    )
    call(
        "/api/v1/patients/{patient_id}/receptor-state",
        "POST",
        body={"value": "down", "reason": "Specialist advice."},
        expect=201,
        patient_id=patient["id"],
    )
    call("/api/v1/patients/{patient_id}", "GET", expect=200, patient_id=patient["id"])
    call(
        "/api/v1/patients/{patient_id}/checks",
        "POST",
        body={"drugs": ["gentamicin"], "weight_kg": "70"},
        expect=200,
        patient_id=patient["id"],
    )
    call(
        "/api/v1/patients/{patient_id}/receptor-state",
        "DELETE",
        expect=200,
        patient_id=patient["id"],
    )
    call("/api/v1/patients", "GET", expect=200)
    assessment = call(
        "/api/v1/assessments",
        "POST",
        body={
            "patient": patient["id"],
            "planned_at": "2030-01-01T08:00:00+00:00",
            "procedure": "Thymectomy",
            "weight_kg": "70",
            "drugs": ["gentamicin", "sugammadex"],
        },
        expect=201,
    )
    edited = call(
        "/api/v1/assessments/{assessment_id}",
        "PATCH",
        body={"procedure": "Robotic thymectomy"},
        extra_headers={"If-Match": assessment["etag"]},
        expect=200,
        assessment_id=assessment["id"],
    )
    for drug in edited["pending_acknowledgements"]:
        call(
            "/api/v1/assessments/{assessment_id}/acknowledgements",
            "POST",
            body={"drug": drug, "decision": "overridden", "reason_code": "no-alternative"},
            expect=201,
            assessment_id=assessment["id"],
        )
    call(
        "/api/v1/assessments/{assessment_id}/sign",
        "POST",
        body={},
        expect=200,
        assessment_id=assessment["id"],
    )
    call(
        "/api/v1/assessments/{assessment_id}/amend",
        "POST",
        body={"reason": "New results."},
        expect=201,
        assessment_id=assessment["id"],
    )
    call("/api/v1/assessments/{assessment_id}", "GET", expect=200, assessment_id=assessment["id"])
    call("/api/v1/assessments", "GET", expect=200)
