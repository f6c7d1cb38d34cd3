"""A database that is down, read-only or full: every endpoint answers 503 with Retry-After
(never a 500), and /health says so through a write (review F9)."""

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from periop.audit.models import AuditEvent
from periop.health.models import HealthProbe
from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@contextmanager
def read_only_database() -> Iterator[None]:
    """The database refuses every write, as a server switched to read-only does. Through the
    driver's own connection: a refused write can leave Django's wrapper expecting a rollback,
    which the test's teardown performs."""
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        raw.execute("PRAGMA query_only = ON")
    else:
        # Ends with the test's transaction, which is rolled back.
        raw.execute("SET LOCAL transaction_read_only = on")
    try:
        yield
    finally:
        if connection.vendor == "sqlite":
            raw.execute("PRAGMA query_only = OFF")


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


def assert_unavailable(response, *, json_body: bool) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    if json_body:
        assert response.json() == {
            "detail": "The service is unavailable for a moment. Try again shortly.",
            "code": "unavailable",
        }


def test_health_is_503_when_the_database_refuses_writes(api_client):
    with read_only_database():
        response = api_client.get("/health")

    assert response.status_code == 503
    assert response.json()["database"] == "not-writable"
    assert response.json()["status"] == "unavailable"
    assert response["Retry-After"] == "5"


def test_the_health_probe_leaves_no_row_and_no_audit_event(api_client):
    before = AuditEvent.objects.count()

    assert api_client.get("/health").status_code == 200

    assert not HealthProbe.objects.exists()
    assert AuditEvent.objects.count() == before


def test_an_audited_api_read_on_a_read_only_database_is_503(anesthetist, patient):
    client = client_for(anesthetist)

    with read_only_database():
        response = client.get(f"/api/v1/patients/{patient.pk}")

    assert_unavailable(response, json_body=True)


def test_an_audited_page_on_a_read_only_database_is_503(anesthetist_browser_here, patient):
    with read_only_database():
        response = anesthetist_browser_here.get(f"/patients/{patient.pk}/")

    assert_unavailable(response, json_body=False)


@pytest.mark.parametrize(
    "error",
    [OperationalError("server closed the connection"), InterfaceError("connection already closed")],
)
def test_a_database_outage_is_503_on_the_api(anesthetist, patient, error):
    client = client_for(anesthetist)

    with mock.patch("periop.assessments.apis.patients.patient_get", side_effect=error):
        response = client.get(f"/api/v1/patients/{patient.pk}")

    assert_unavailable(response, json_body=True)


def test_a_database_outage_is_503_on_a_page(anesthetist_browser_here, patient):
    with mock.patch("periop.web.views.patients.patient_here", side_effect=OperationalError("gone")):
        response = anesthetist_browser_here.get(f"/patients/{patient.pk}/")

    assert_unavailable(response, json_body=False)


def test_other_database_errors_stay_500s(anesthetist, patient):
    # A programming error is not worth retrying: it must not hide behind a 503.
    from django.db import ProgrammingError

    client = client_for(anesthetist)
    client.raise_request_exception = False

    with mock.patch(
        "periop.assessments.apis.patients.patient_get", side_effect=ProgrammingError("bad")
    ):
        response = client.get(f"/api/v1/patients/{patient.pk}")

    assert response.status_code == 500


@pytest.fixture
def anesthetist_browser_here(anesthetist):
    client = Client()
    client.force_login(anesthetist)
    client.get("/patients/")
    return client
