"""/api/v1/patients and /api/v1/patients/{id}: scoping, registration, the record, auditing."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.models import Patient
from periop.audit.models import AuditEvent
from tests.conftest import audit_append_queries, client_for, nothing_changes
from tests.factories import (
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
    PatientMedicationFactory,
    UserFactory,
    years_ago,
)

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN-100",
    "name": "Grace Hopper",
    "birth_date": years_ago(70, 12, 9).isoformat(),
    "sex": "female",
}


def tomorrow() -> str:
    """Taken when a test runs, not when the module is imported: a suite that runs across
    midnight would otherwise send today's date as tomorrow's."""
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def last_event():
    return AuditEvent.objects.order_by("-sequence").first()


# --- list ----------------------------------------------------------------------------------


def test_it_answers_401_without_credentials(api_client):
    assert api_client.get("/api/v1/patients").status_code == 401
    assert api_client.post("/api/v1/patients", NEW_PATIENT, format="json").status_code == 401


def test_a_user_without_any_role_gets_403(roleless_user):
    assert client_for(roleless_user).get("/api/v1/patients").status_code == 403


@pytest.mark.parametrize("persona", ["anesthetist", "pharmacist", "auditor", "department_admin"])
def test_every_role_lists_the_patients_of_its_department_only(
    request, persona, department, other_department
):
    mine = PatientFactory(department=department)
    PatientFactory(department=other_department)

    response = client_for(request.getfixturevalue(persona)).get("/api/v1/patients")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_the_list_is_paginated_and_ordered_by_name(anesthetist_client, department):
    for name in ["Carol", "Alice", "Bob"]:
        PatientFactory(department=department, name=name)

    response = anesthetist_client.get("/api/v1/patients?page_size=2")

    payload = response.json()
    assert payload["count"] == 3
    assert [row["name"] for row in payload["results"]] == ["Alice", "Bob"]
    assert payload["next"]


@pytest.mark.parametrize(("query", "expected"), [("MRN-7", ["MRN-77"]), ("lovel", ["MRN-10"])])
def test_the_list_is_searched_by_mrn_prefix_or_name(
    anesthetist_client, department, query, expected
):
    PatientFactory(department=department, mrn="MRN-77", name="Alan Turing")
    PatientFactory(department=department, mrn="MRN-10", name="Ada Lovelace")

    response = anesthetist_client.get("/api/v1/patients", {"q": query})

    assert [row["mrn"] for row in response.json()["results"]] == expected


def test_an_unknown_query_parameter_is_rejected(anesthetist_client):
    response = anesthetist_client.get("/api/v1/patients?name=Ada")

    assert response.status_code == 400
    assert response.json() == {"name": ["Unknown field. It is not part of this request."]}


def test_listing_is_audited_as_one_query_naming_the_patients_shown(anesthetist_client, department):
    patients = [PatientFactory(department=department) for _ in range(3)]

    anesthetist_client.get("/api/v1/patients")

    event = last_event()
    assert (event.action, event.resource_type) == ("query", "patient")
    assert json.loads(event.payload)["patient_ids"] == sorted(p.pk for p in patients)


def test_a_search_across_departments_is_audited_in_each_department_with_its_own_patients(
    pharmacist, department, other_department
):
    # Review F6: a search event without a department showed another department's patient to
    # this department's auditors, and was missing from each department's audit-log report.
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ANESTHETIST)
    here = PatientFactory(department=department, name="Ada Lovelace")
    there = PatientFactory(department=other_department, name="Ada Byron")
    before = AuditEvent.objects.count()

    client_for(pharmacist).get("/api/v1/patients", {"q": "Ada"})

    events = list(AuditEvent.objects.order_by("sequence")[before:])
    assert [(e.action, e.department_id, e.patient_id) for e in events] == sorted(
        [
            ("query", department.pk, here.pk),
            ("query", other_department.pk, there.pk),
        ],
        key=lambda row: row[1],
    )
    by_department = {event.department_id: json.loads(event.payload) for event in events}
    assert by_department[department.pk]["patient_ids"] == [here.pk]
    assert by_department[other_department.pk]["patient_ids"] == [there.pk]


def test_an_empty_search_is_still_audited_in_the_department_searched(
    anesthetist_client, department
):
    anesthetist_client.get("/api/v1/patients", {"q": "nobody"})

    event = last_event()
    assert (event.action, event.department_id, event.patient_id) == ("query", department.pk, None)
    assert json.loads(event.payload)["patient_ids"] == []


@pytest.mark.parametrize("rows", [1, 25])
def test_the_list_costs_the_same_queries_for_1_and_25_patients(
    anesthetist_client, department, django_assert_num_queries, rows
):
    for _ in range(rows):
        PatientFactory(department=department)

    # Token and user, role check, the caller's departments, count, the page with its
    # creators, the departments searched (for the audit event's department), then the
    # audit append.
    with django_assert_num_queries(6 + audit_append_queries()):
        response = anesthetist_client.get("/api/v1/patients")

    assert len(response.json()["results"]) == rows


# --- create --------------------------------------------------------------------------------


def test_an_anesthetist_registers_a_patient_in_their_department(anesthetist_client, department):
    response = anesthetist_client.post("/api/v1/patients", NEW_PATIENT, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["mrn"] == "MRN-100"
    assert body["department"] == department.pk
    assert body["created_by"] == "dr-anesthetist"
    assert last_event().action == "create"


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_register_patients(request, persona):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.post("/api/v1/patients", NEW_PATIENT, format="json")

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_a_user_of_several_departments_must_name_the_department(
    anesthetist, department, other_department
):
    MembershipFactory(user=anesthetist, department=other_department, role=Role.ANESTHETIST)
    client = client_for(anesthetist)

    with nothing_changes():
        missing = client.post("/api/v1/patients", NEW_PATIENT, format="json")
    named = client.post(
        "/api/v1/patients", {**NEW_PATIENT, "department": other_department.pk}, format="json"
    )

    assert missing.status_code == 400
    assert missing.json() == {
        "department": ["You work in several departments: choose the department."]
    }
    assert named.status_code == 201
    assert named.json()["department"] == other_department.pk


def test_a_department_the_user_cannot_write_to_is_refused(anesthetist_client, other_department):
    with nothing_changes():
        response = anesthetist_client.post(
            "/api/v1/patients", {**NEW_PATIENT, "department": other_department.pk}, format="json"
        )

    assert response.status_code == 400
    assert response.json() == {
        "department": [
            f"You cannot record patients or assessments in department {other_department.pk}."
        ]
    }


def test_a_duplicate_mrn_is_a_400_on_the_mrn(anesthetist_client, department):
    PatientFactory(mrn="MRN-100", department=department)

    with nothing_changes():
        response = anesthetist_client.post("/api/v1/patients", NEW_PATIENT, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "mrn": ["A patient with MRN 'MRN-100' is already registered in this department."]
    }


def test_an_mrn_registered_in_another_department_is_not_revealed(
    anesthetist_client, department, other_department
):
    # Review F14: a refusal here would tell the caller that another department treats the
    # patient, which a search of their own department does not show. Each department keeps
    # its own record of the patient.
    elsewhere = PatientFactory(mrn="MRN-100", department=other_department)

    response = anesthetist_client.post("/api/v1/patients", NEW_PATIENT, format="json")

    assert response.status_code == 201
    registered = Patient.objects.get(pk=response.json()["id"])
    assert (registered.department, registered.mrn) == (department, "MRN-100")
    assert registered.pk != elsewhere.pk


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("birth_date", "09/12/1956", "Date has wrong format."),
        ("birth_date", tomorrow, "Birth date ({value}) is in the future."),
        ("sex", "f", '"f" is not a valid choice.'),
        ("mrn", "", "This field may not be blank."),
        ("name", "x" * 201, "Ensure this field has no more than 200 characters."),
        ("nickname", "Amazing Grace", "Unknown field. It is not part of this request."),
    ],
)
def test_each_bad_field_gets_its_own_message(anesthetist_client, field, value, message):
    if callable(value):  # a date relative to today
        value = value()
    message = message.format(value=value)
    with nothing_changes():
        response = anesthetist_client.post(
            "/api/v1/patients", {**NEW_PATIENT, field: value}, format="json"
        )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0].startswith(message)


def test_a_body_that_is_not_an_object_is_a_400(anesthetist_client):
    with nothing_changes():
        response = anesthetist_client.post(
            "/api/v1/patients", "[]", content_type="application/json"
        )

    assert response.status_code == 400


# --- the record ----------------------------------------------------------------------------


def test_the_record_shows_current_conditions_medications_and_both_receptor_states(
    anesthetist_client, department
):
    patient = PatientFactory(department=department)
    myasthenia = PatientConditionFactory(patient=patient, code="myasthenia-gravis")
    PatientConditionFactory(patient=patient, code="burn", removed_at="2026-01-01T00:00:00Z")
    PatientMedicationFactory(patient=patient, code="pyridostigmine")
    anesthetist_client.post(
        f"/api/v1/patients/{patient.pk}/receptor-state",
        {"value": "up", "reason": "Long immobility before admission."},
        format="json",
    )

    response = anesthetist_client.get(f"/api/v1/patients/{patient.pk}")

    assert response.status_code == 200
    body = response.json()
    assert [c["code"] for c in body["conditions"]] == ["myasthenia-gravis"]
    assert body["conditions"][0]["onset"] == myasthenia.onset_date.isoformat()
    assert [m["code"] for m in body["medications"]] == ["pyridostigmine"]
    receptor_state = body["receptor_state"]
    assert receptor_state["value"] == "up"
    assert receptor_state["recorded"]["reason"] == "Long immobility before admission."
    assert receptor_state["derived"] == {
        "value": "down",
        "sources": [{"condition": "myasthenia-gravis", "effect": "down"}],
    }


def test_reading_the_record_is_audited_as_a_read_of_the_patient(pharmacist, department):
    patient = PatientFactory(department=department)

    client_for(pharmacist).get(f"/api/v1/patients/{patient.pk}")

    event = last_event()
    assert (event.action, event.resource_type, event.patient_id) == ("read", "patient", patient.pk)
    assert event.actor_username == "pharmacist"
    assert event.department_id == department.pk


def test_a_patient_of_another_department_is_404(outsider, department):
    patient = PatientFactory(department=department)

    response = client_for(outsider).get(f"/api/v1/patients/{patient.pk}")

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(patient_id=patient.pk).exists()


def test_an_unknown_patient_is_404(anesthetist_client):
    assert anesthetist_client.get("/api/v1/patients/999999").status_code == 404


def test_a_superuser_sees_every_department(other_department):
    PatientFactory(department=other_department)
    admin = UserFactory(username="root", is_superuser=True)

    response = client_for(admin).get("/api/v1/patients")

    assert response.json()["count"] == 1
