"""POST /api/v1/patients/{id}/checks: the pharmacy check against the recorded state."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.assessments.selectors import age_in_years
from periop.audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

AT = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0, tzinfo=dt.UTC)
STROKE_ONSET = (timezone.now() - dt.timedelta(days=10)).replace(microsecond=0, tzinfo=dt.UTC)
DRUGS = ["succinylcholine", "rocuronium", "sugammadex"]


@pytest.fixture
def patient(department, anesthetist_client):
    """The contract's example patient, recorded through the API."""
    patient = PatientFactory(department=department, sex="female")
    for condition in [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        },
        {
            "code": "stroke",
            "onset": STROKE_ONSET.isoformat(),
            "attributes": {"motor_deficit": True},
        },
    ]:
        response = anesthetist_client.post(
            f"/api/v1/patients/{patient.pk}/conditions", condition, format="json"
        )
        assert response.status_code == 201
    anesthetist_client.post(
        f"/api/v1/patients/{patient.pk}/medications",
        {"code": "pyridostigmine", "started": "2024-05-03"},
        format="json",
    )
    return patient


def check(client, patient, **body):
    return client.post(f"/api/v1/patients/{patient.pk}/checks", body, format="json")


def test_it_answers_exactly_as_the_stateless_check_for_the_same_state(pharmacist_client, patient):
    stateless = pharmacist_client.post(
        "/api/v1/checks",
        {
            "at": AT.isoformat(),
            "patient": {
                "age_years": age_in_years(patient.birth_date, AT.date()),
                "sex": "female",
                "weight_kg": "62",
            },
            "conditions": [
                {
                    "code": "myasthenia-gravis",
                    "onset": "2024-05-01",
                    "attributes": {"antibody": "achr", "distribution": "generalized"},
                },
                {
                    "code": "stroke",
                    "onset": STROKE_ONSET.isoformat(),
                    "attributes": {"motor_deficit": True},
                },
            ],
            "medications": [{"code": "pyridostigmine", "started": "2024-05-03"}],
            "drugs": DRUGS,
        },
        format="json",
    )

    by_patient = check(pharmacist_client, patient, drugs=DRUGS, at=AT.isoformat(), weight_kg="62")

    assert by_patient.status_code == 200
    # The same answer, plus the warnings of the record it was run against (none here).
    assert by_patient.json() == {**stateless.json(), "warnings": []}
    assert by_patient.json()["highest_level"] == "contraindicated"
    assert by_patient.json()["receptor_state"]["value"] == "mixed"


def test_it_is_audited_as_a_read_of_the_patient(pharmacist_client, patient):
    check(pharmacist_client, patient, drugs=DRUGS, at=AT.isoformat())

    event = AuditEvent.objects.order_by("-sequence").first()
    payload = json.loads(event.payload)
    assert (event.action, event.resource_type, event.resource_id) == (
        "read",
        "patient",
        str(patient.pk),
    )
    assert (event.patient_id, event.department_id) == (patient.pk, patient.department_id)
    assert event.data_category == "nmj-drug-check"
    assert event.actor_username == "pharmacist"
    assert event.data_time == AT
    assert payload["cautions"]["succinylcholine"] == "contraindicated"
    assert len(payload["condition_ids"]) == 2


def test_a_recorded_receptor_state_overrides_until_cleared(
    anesthetist_client, pharmacist_client, patient
):
    receptor_state = f"/api/v1/patients/{patient.pk}/receptor-state"
    anesthetist_client.post(
        receptor_state, {"value": "down", "reason": "Specialist advice."}, format="json"
    )

    overridden = check(pharmacist_client, patient, drugs=DRUGS, at=AT.isoformat()).json()
    anesthetist_client.delete(receptor_state)
    derived = check(pharmacist_client, patient, drugs=DRUGS, at=AT.isoformat()).json()

    assert overridden["receptor_state"]["value"] == "down"
    assert overridden["receptor_state"]["overridden"] is True
    assert overridden["receptor_state"]["derived"] == "mixed"
    assert derived["receptor_state"]["value"] == "mixed"
    assert derived["receptor_state"]["overridden"] is False


def test_removed_conditions_no_longer_count(anesthetist_client, pharmacist_client, patient):
    conditions = anesthetist_client.get(f"/api/v1/patients/{patient.pk}/conditions").json()
    for condition in conditions:
        anesthetist_client.delete(
            f"/api/v1/patients/{patient.pk}/conditions/{condition['id']}",
            {"reason": "Entered in error."},
            format="json",
        )

    result = check(pharmacist_client, patient, drugs=["succinylcholine"], at=AT.isoformat())

    assert result.json()["receptor_state"]["sources"] == []


@pytest.mark.parametrize(
    ("hours_ago", "level"),
    # §4.2, major burn: 0 to <24 h MO, 24 to <72 h AV, from 72 h CI.
    [(2, "monitor"), (30, "avoid"), (80, "contraindicated")],
)
def test_at_defaults_to_now_in_utc_and_the_windows_are_measured_to_it(
    department, anesthetist_client, pharmacist_client, hours_ago, level
):
    burned = PatientFactory(department=department)
    before = dt.datetime.now(dt.UTC)
    recorded = anesthetist_client.post(
        f"/api/v1/patients/{burned.pk}/conditions",
        {
            "code": "burn",
            "onset": (before - dt.timedelta(hours=hours_ago)).isoformat(),
            "attributes": {"tbsa_percent": 40},
        },
        format="json",
    )
    assert recorded.status_code == 201

    response = check(pharmacist_client, burned, drugs=["succinylcholine"])

    after = dt.datetime.now(dt.UTC)
    assert response.status_code == 200
    at = dt.datetime.fromisoformat(response.json()["at"])
    assert at.utcoffset() == dt.timedelta(0)
    assert before <= at <= after
    assert response.json()["cautions"][0]["level"] == level


@pytest.mark.parametrize("persona", ["pharmacist", "anesthetist", "department_admin"])
def test_pharmacists_anesthetists_and_admins_may_check(request, persona, patient):
    client = client_for(request.getfixturevalue(persona))

    assert check(client, patient, drugs=DRUGS).status_code == 200


def test_auditors_cannot_run_checks(auditor_client, patient):
    assert check(auditor_client, patient, drugs=DRUGS).status_code == 403


def test_it_answers_401_without_credentials(api_client, patient):
    assert check(api_client, patient, drugs=DRUGS).status_code == 401


def test_a_patient_of_another_department_is_404(outsider, patient):
    assert check(client_for(outsider), patient, drugs=DRUGS).status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"drugs": ["suxx"]},
            {"drugs": ["Unknown drug code 'suxx'. See GET /api/v1/knowledge-base."]},
        ),
        ({"drugs": []}, {"drugs": ["Give at least one planned drug."]}),
        (
            {"drugs": DRUGS, "at": "2026-11-22T08:00:00"},
            {"at": ["Give the time zone offset, for example 2026-11-22T08:00:00+00:00."]},
        ),
        (
            {"drugs": DRUGS, "weight_kg": "401"},
            {"weight_kg": ["Weight must be between 0.3 and 400 kg."]},
        ),
        (
            {"drugs": DRUGS, "conditions": []},
            {"conditions": ["Unknown field. It is not part of this request."]},
        ),
    ],
)
def test_each_bad_field_gets_its_message(pharmacist_client, patient, body, expected):
    response = pharmacist_client.post(f"/api/v1/patients/{patient.pk}/checks", body, format="json")

    assert response.status_code == 400
    assert response.json() == expected


def test_a_time_before_a_recorded_onset_is_a_400_on_at(pharmacist_client, patient):
    before_stroke = (STROKE_ONSET - dt.timedelta(days=1)).isoformat()

    response = check(pharmacist_client, patient, drugs=DRUGS, at=before_stroke)

    assert response.status_code == 400
    assert list(response.json()) == ["at"]
    assert "stroke" in response.json()["at"][0]
