"""`Idempotency-Key` on every API request that creates a record: a retry whose first answer
was lost gets that answer again, and creates nothing."""

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from periop.assessments.models import (
    Acknowledgement,
    Assessment,
    Patient,
    PatientCondition,
    PatientMedication,
    PatientReceptorState,
)
from periop.audit.models import AuditEvent
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory

PLANNED = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0, tzinfo=dt.UTC)
KEY = "0b6e4a1c-2f43-4f0e-9a55-5d8f0c0f7e21"


@dataclass(frozen=True)
class Create:
    """One creating endpoint: its URL and body for a scene, the rows it creates, and a body
    that differs."""

    name: str
    url: Callable[[dict[str, Any]], str]
    body: Callable[[dict[str, Any]], dict[str, Any]]
    other_body: Callable[[dict[str, Any]], dict[str, Any]]
    rows: Callable[[], int]


CREATES = [
    Create(
        "patient",
        lambda scene: "/api/v1/patients",
        lambda scene: {"mrn": "NEW-1", "name": "New Patient", "birth_date": "1970-04-02"},
        lambda scene: {"mrn": "NEW-2", "name": "New Patient", "birth_date": "1970-04-02"},
        lambda: Patient.objects.count(),
    ),
    Create(
        "condition",
        lambda scene: f"/api/v1/patients/{scene['patient'].pk}/conditions",
        lambda scene: {"code": "myasthenia-gravis", "onset": "2019-03-01"},
        lambda scene: {"code": "myasthenia-gravis", "onset": "2019-03-02"},
        lambda: PatientCondition.objects.count(),
    ),
    Create(
        "medication",
        lambda scene: f"/api/v1/patients/{scene['patient'].pk}/medications",
        lambda scene: {"code": "pyridostigmine", "started": "2024-05-03"},
        lambda scene: {"code": "pyridostigmine", "started": "2024-05-04"},
        lambda: PatientMedication.objects.count(),
    ),
    Create(
        "receptor state",
        lambda scene: f"/api/v1/patients/{scene['patient'].pk}/receptor-state",
        lambda scene: {"value": "up", "reason": "Months in bed."},
        lambda scene: {"value": "down", "reason": "Months in bed."},
        lambda: PatientReceptorState.objects.count(),
    ),
    Create(
        "acknowledgement",
        lambda scene: f"/api/v1/assessments/{scene['draft']['id']}/acknowledgements",
        lambda scene: {"drug": "succinylcholine", "decision": "accepted"},
        lambda scene: {
            "drug": "succinylcholine",
            "decision": "overridden",
            "reason_code": "benefit-outweighs-risk",
            "comment": "Airway emergency.",
        },
        lambda: Acknowledgement.objects.count(),
    ),
    Create(
        "decision",
        lambda scene: f"/api/v1/assessments/{scene['draft']['id']}/decisions",
        lambda scene: {"drug": "succinylcholine", "decision": "withhold"},
        lambda scene: {
            "drug": "succinylcholine",
            "decision": "override",
            "reason_code": "benefit-outweighs-risk",
            "comment": "Airway emergency.",
        },
        lambda: Acknowledgement.objects.count(),
    ),
    Create(
        "amendment",
        lambda scene: f"/api/v1/assessments/{scene['signed']['id']}/amend",
        lambda scene: {"reason": "Weight corrected."},
        lambda scene: {"reason": "Another reason."},
        lambda: Assessment.objects.count(),
    ),
]


@pytest.fixture
def scene(anesthetist_client, department):
    """A patient with a burn five days ago (succinylcholine contraindicated), a draft that
    plans succinylcholine, and a signed assessment."""
    patient = PatientFactory(department=department)
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )

    def draft(drugs):
        response = anesthetist_client.post(
            "/api/v1/assessments",
            {
                "patient": patient.pk,
                "planned_at": PLANNED.isoformat(),
                "procedure": "Split-skin graft",
                "weight_kg": "70",
                "drugs": drugs,
            },
            format="json",
        )
        assert response.status_code == 201
        return response.json()

    signed = draft(["rocuronium"])
    response = anesthetist_client.post(
        f"/api/v1/assessments/{signed['id']}/sign", {}, format="json"
    )
    assert response.status_code == 200, response.json()
    return {"patient": patient, "draft": draft(["succinylcholine"]), "signed": signed}


def post(client, url, body, key=KEY):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


pytestmark = pytest.mark.django_db
by_name = pytest.mark.parametrize("create", CREATES, ids=[create.name for create in CREATES])


@by_name
def test_a_retry_answers_as_the_first_request_and_creates_nothing(
    anesthetist_client, scene, create
):
    url, body = create.url(scene), create.body(scene)
    first = post(anesthetist_client, url, body)
    # 201 for a new record; a decision answers 200 with the assessment.
    assert first.status_code == (200 if create.name == "decision" else 201), first.json()
    rows = create.rows()
    events = AuditEvent.objects.count()

    retry = post(anesthetist_client, url, body)

    assert retry.status_code == first.status_code
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    for header in ("Location", "ETag"):
        assert retry.get(header) == first.get(header)
    assert create.rows() == rows
    # The retry shows the patient's data again: one read, nothing written.
    new_events = list(AuditEvent.objects.filter(sequence__gt=events).order_by("sequence"))
    assert [
        (event.action, json.loads(event.payload).get("idempotent_replay")) for event in new_events
    ] == [("read", True)]


@by_name
def test_the_same_key_with_another_body_is_422_and_changes_nothing(
    anesthetist_client, scene, create
):
    post(anesthetist_client, create.url(scene), create.body(scene))

    with nothing_changes():
        response = post(anesthetist_client, create.url(scene), create.other_body(scene))

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency-key-reused"


@by_name
def test_a_key_used_on_another_endpoint_is_422(anesthetist_client, scene, create):
    post(
        anesthetist_client,
        f"/api/v1/patients/{scene['patient'].pk}/conditions",
        {"code": "stroke", "onset": "2025-02-01"},
        key="used-elsewhere",
    )

    with nothing_changes():
        response = post(
            anesthetist_client, create.url(scene), create.body(scene), key="used-elsewhere"
        )

    # (For conditions, the same URL with another body: a different request all the same.)
    assert response.status_code == 422


@by_name
def test_a_refused_first_request_stores_nothing_and_its_fixed_retry_creates(
    anesthetist_client, scene, create
):
    with nothing_changes(reads_allowed=True):
        refused = post(anesthetist_client, create.url(scene), {"unexpected": "field"})
    assert refused.status_code == 400

    fixed = post(anesthetist_client, create.url(scene), create.body(scene))

    assert fixed.status_code in (200, 201)


@by_name
@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "ключ"])
def test_a_malformed_key_is_400(anesthetist_client, scene, create, key):
    with nothing_changes():
        response = post(anesthetist_client, create.url(scene), create.body(scene), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


def test_keys_belong_to_one_user(anesthetist, department_admin, scene):
    url = f"/api/v1/patients/{scene['patient'].pk}/conditions"
    # Confirmed: the second user records a second episode knowingly.
    body = {"code": "myasthenia-gravis", "onset": "2019-03-01", "duplicate_confirmed": True}

    first = post(client_for(anesthetist), url, body)
    other = post(client_for(department_admin), url, body)

    assert (first.status_code, other.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in other
    assert other.json()["id"] != first.json()["id"]


def test_a_replay_needs_access_to_the_patient_still(anesthetist, anesthetist_client, scene):
    url = f"/api/v1/patients/{scene['patient'].pk}/conditions"
    body = {"code": "myasthenia-gravis", "onset": "2019-03-01"}
    assert post(anesthetist_client, url, body).status_code == 201
    anesthetist.memberships.all().delete()

    response = post(client_for(anesthetist), url, body)

    assert response.status_code in (403, 404)
    assert "Idempotent-Replayed" not in response


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_simultaneous_retries_with_one_key_record_one_condition(
    audit_guard_lifted, transactional_db, anesthetist, department
):
    patient = PatientFactory(department=department)
    url = f"/api/v1/patients/{patient.pk}/conditions"
    body = {"code": "myasthenia-gravis", "onset": "2019-03-01"}
    start = threading.Barrier(6)
    answers: list[tuple[int, int | None]] = []

    def send() -> None:
        client = client_for(anesthetist)
        client.raise_request_exception = False
        try:
            start.wait(timeout=30)
            response = post(client, url, body)
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [status for status, _ in answers] == [201] * 6
    assert len({condition_id for _, condition_id in answers}) == 1
    assert PatientCondition.objects.filter(patient=patient).count() == 1
    assert (
        AuditEvent.objects.filter(resource_type="patient-condition", action="create").count() == 1
    )
