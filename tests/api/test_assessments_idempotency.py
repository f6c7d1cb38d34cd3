"""POST /api/v1/assessments with an Idempotency-Key: a retry of a create whose answer was lost
gets the assessment the first request created, never a second one."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from periop.assessments.models import Assessment
from periop.audit.models import AuditEvent
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientFactory

PLANNED = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0, tzinfo=dt.UTC)
KEY = "7f1f0a4e-7d1c-4a63-9a59-0c7d3f3c2b11"


def body(patient, **overrides):
    data = {
        "patient": patient.pk,
        "planned_at": PLANNED.isoformat(),
        "procedure": "Thymectomy",
        "weight_kg": "70",
        "drugs": ["rocuronium", "sugammadex"],
    }
    data.update(overrides)
    return data


def create(client, data, key=KEY):
    return client.post("/api/v1/assessments", data, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_first_assessment(anesthetist_client, department):
    patient = PatientFactory(department=department)

    first = create(anesthetist_client, body(patient))
    retry = create(anesthetist_client, body(patient))

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Assessment.objects.count() == 1
    assert AuditEvent.objects.filter(resource_type="assessment", action="create").count() == 1
    # The replay shows the patient's data again, and is audited as a read.
    replay_read = AuditEvent.objects.order_by("-sequence").first()
    assert (replay_read.action, replay_read.resource_type) == ("read", "assessment")


@pytest.mark.django_db
def test_the_same_key_with_another_request_is_422(anesthetist_client, department):
    patient = PatientFactory(department=department)
    create(anesthetist_client, body(patient))

    with nothing_changes():
        response = create(anesthetist_client, body(patient, procedure="Another procedure"))

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency-key-reused"


@pytest.mark.django_db
def test_keys_belong_to_one_user(anesthetist, department_admin, department):
    patient = PatientFactory(department=department)

    first = create(client_for(anesthetist), body(patient))
    other = create(client_for(department_admin), body(patient))

    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


@pytest.mark.django_db
def test_without_a_key_each_request_creates(anesthetist_client, department):
    patient = PatientFactory(department=department)

    for _ in range(2):
        anesthetist_client.post("/api/v1/assessments", body(patient), format="json")

    assert Assessment.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "ключ"])
def test_a_malformed_key_is_400(anesthetist_client, department, key):
    patient = PatientFactory(department=department)

    with nothing_changes():
        response = create(anesthetist_client, body(patient), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_simultaneous_retries_with_one_key_create_one_assessment(
    audit_guard_lifted, transactional_db, anesthetist, department
):
    patient = PatientFactory(department=department)
    client_for(anesthetist)
    start = threading.Barrier(6)
    answers: list[tuple[int, int | None]] = []

    def send() -> None:
        client = client_for(anesthetist)
        client.raise_request_exception = False
        try:
            start.wait(timeout=30)
            response = create(client, body(patient))
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [status for status, _ in answers] == [201] * 6
    assert len({assessment_id for _, assessment_id in answers}) == 1
    assert Assessment.objects.count() == 1
    assert AuditEvent.objects.filter(resource_type="assessment", action="create").count() == 1
