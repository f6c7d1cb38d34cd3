"""Schema-driven fuzzing of POST /api/v1/checks: never a 500, responses match the schema."""

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

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True)
).include(path="/api/v1/checks", method="POST")
schema.app = WSGIHandler()


STATUSES: list[int] = []


@pytest.fixture
def pharmacist_token(pharmacist) -> str:
    return api_token_for(pharmacist)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_checks_never_fail_with_a_server_error_and_match_the_schema(
    case, pharmacist_token, keep_test_connection
):
    response = case.call_and_validate(
        headers={"Authorization": f"Token {pharmacist_token}"},
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
    STATUSES.append(response.status_code)


def test_the_fuzzing_reached_both_valid_and_invalid_requests():
    # Runs after the fuzz test in this module: guards against a fuzz run that only ever saw
    # one kind of answer (for example every request rejected), which would prove nothing.
    assert 200 in STATUSES
    assert 400 in STATUSES
