"""Schema-driven fuzzing of the audit log and the department report (review F18): never a 500,
and every status and body is the one the OpenAPI schema documents, paginated envelope included."""

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

from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from tests.conftest import api_token_for

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True)
).include(path_regex=r"^/api/v1/(audit/events|reports/departments/)")
schema.app = WSGIHandler()

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open(keep_test_connection):
    """Every test here calls the WSGI application directly."""


@pytest.fixture
def auditor_token(auditor) -> str:
    return api_token_for(auditor)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_audit_log_and_reports_never_fail_and_match_the_schema(case, auditor_token):
    case.call_and_validate(headers={"Authorization": f"Token {auditor_token}"}, checks=CHECKS)


@pytest.mark.django_db
def test_a_page_of_real_audit_events_matches_the_documented_envelope(auditor_token, department):
    audit_event_append(
        actor=Actor.system("schema-test"),
        action="read",
        resource_type="patient",
        resource_id="1",
        department_id=department.pk,
    )
    assert AuditEvent.objects.exists()
    case = schema["/api/v1/audit/events"]["GET"].Case(query={"page_size": 1})

    response = case.call_and_validate(
        headers={"Authorization": f"Token {auditor_token}"}, checks=CHECKS
    )

    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"from": "1999-12-31", "to": "2000-01-05"}, 400),
        ({"from": "2026-01-01", "to": "2026-01-31"}, 200),
        ({"format": "csv", "from": "2026-01-01", "to": "2026-01-31"}, 200),
    ],
)
def test_real_report_answers_match_the_schema(auditor_token, department, query, expected):
    case = schema["/api/v1/reports/departments/{department_id}"]["GET"].Case(
        path_parameters={"department_id": department.pk}, query=query
    )

    response = case.call_and_validate(
        headers={"Authorization": f"Token {auditor_token}"}, checks=CHECKS
    )

    assert response.status_code == expected
