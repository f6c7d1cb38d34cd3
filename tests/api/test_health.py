from unittest import mock

import pytest
from django.db import OperationalError

from periop.drugs.registry import get_knowledge_base


@pytest.mark.django_db
def test_it_reports_ok_without_authentication(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "knowledge_base": get_knowledge_base().version,
    }


@pytest.mark.django_db
def test_it_answers_503_when_the_database_is_unreachable(api_client):
    with mock.patch(
        "periop.health.views.connection.cursor", side_effect=OperationalError("connection refused")
    ):
        response = api_client.get("/health")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response["Retry-After"] == "5"
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db
def test_it_is_never_cached(api_client):
    response = api_client.get("/health")

    assert "no-cache" in response["Cache-Control"]
