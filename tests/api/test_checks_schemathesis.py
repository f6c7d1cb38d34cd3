"""Schema-driven fuzzing of POST /api/v1/checks: never a 500, responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(scope="module")
def statuses() -> Iterator[list[int]]:
    """The status codes the fuzzing got. Once it is over, a fuzz run that only ever saw one kind
    of answer (for example every request rejected) proved nothing: the module's teardown fails."""
    seen: list[int] = []
    yield seen
    assert 200 in seen, f"No request was accepted: {sorted(set(seen))}"
    assert 400 in seen, f"No request was refused: {sorted(set(seen))}"


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
    case, pharmacist_token, keep_test_connection, statuses
):
    response = case.call_and_validate(
        headers={"Authorization": f"Token {pharmacist_token}"},
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
    statuses.append(response.status_code)
