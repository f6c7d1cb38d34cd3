"""POST/GET /api/v1/assessments and GET /api/v1/assessments/{id}: creation, scoping, the
snapshot as stored, auditing and one clear 400 per field."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.models import Assessment
from periop.audit.models import AuditEvent
from periop.drugs.registry import get_knowledge_base
from tests.conftest import audit_append_queries, client_for, nothing_changes
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

HINT = "See GET /api/v1/knowledge-base."
PLANNED = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0, tzinfo=dt.UTC)


@pytest.fixture
def patient(department):
    patient = PatientFactory(department=department)
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )
    return patient


def body(for_patient, **overrides):
    data = {
        "patient": for_patient.pk,
        "planned_at": PLANNED.isoformat(),
        "procedure": "Split-skin graft",
        "weight_kg": "70.5",
        "drugs": ["succinylcholine", "sugammadex"],
    }
    data.update(overrides)
    return data


def last_event():
    return AuditEvent.objects.order_by("-sequence").first()


# --- create --------------------------------------------------------------------------------


def test_an_anesthetist_creates_a_draft_evaluated_against_the_record(anesthetist_client, patient):
    response = anesthetist_client.post("/api/v1/assessments", body(patient), format="json")

    assert response.status_code == 201
    created = response.json()
    assessment = Assessment.objects.get()
    assert response["ETag"] == f'"{assessment.pk}-1"'
    assert response["Location"] == f"/api/v1/assessments/{assessment.pk}"
    assert (created["status"], created["revision"], created["etag"]) == (
        "draft",
        1,
        f'"{assessment.pk}-1"',
    )
    assert created["department"] == patient.department_id
    assert created["weight_kg"] == "70.50"
    assert created["highest_level"] == "contraindicated"
    assert [c["drug"] for c in created["cautions"]] == ["succinylcholine", "sugammadex"]
    assert created["cautions"][0]["level"] == "contraindicated"
    assert created["pending_acknowledgements"] == ["succinylcholine"]
    assert created["receptor_state"]["value"] == "up"
    knowledge_base = get_knowledge_base()
    assert created["knowledge_base"] == {
        "version": knowledge_base.version,
        "digest": knowledge_base.digest,
    }
    assert created["inputs"]["conditions"][0]["code"] == "burn"
    assert created["versions"] == [
        {
            "id": assessment.pk,
            "status": "draft",
            "revision": 1,
            "supersedes": None,
            "created_by": "dr-anesthetist",
            "created_at": created["created_at"],
            "signed_by": None,
            "signed_at": None,
        }
    ]
    assert last_event().action == "create"


@pytest.mark.parametrize("persona", ["pharmacist", "auditor", "roleless_user"])
def test_only_clinicians_create_assessments(request, persona, patient):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.post("/api/v1/assessments", body(patient), format="json")

    assert response.status_code == 403
    assert not Assessment.objects.exists()


def test_it_answers_401_without_credentials(api_client, patient):
    assert api_client.post("/api/v1/assessments", body(patient), format="json").status_code == 401
    assert api_client.get("/api/v1/assessments").status_code == 401


def test_a_patient_the_caller_cannot_see_is_an_unknown_patient(outsider, patient):
    with nothing_changes():
        response = client_for(outsider).post("/api/v1/assessments", body(patient), format="json")

    assert response.status_code == 400
    assert response.json() == {"patient": [f"Unknown patient {patient.pk}."]}


def test_a_department_where_the_caller_holds_no_clinical_role_is_refused(
    anesthetist, patient, other_department
):
    MembershipFactory(user=anesthetist, department=other_department, role=Role.AUDITOR)

    with nothing_changes():
        response = client_for(anesthetist).post(
            "/api/v1/assessments", body(patient, department=other_department.pk), format="json"
        )

    assert response.status_code == 400
    assert response.json() == {
        "department": [
            f"You cannot record patients or assessments in department {other_department.pk}."
        ]
    }


def test_an_assessment_cannot_be_filed_outside_its_patients_department(
    pharmacist, patient, other_department
):
    # A pharmacist here who is an anaesthetist elsewhere sees this patient, and may write in
    # the other department; filing the patient's assessment there would show the patient's
    # record to that department, and hide it from the patient's own (review F5).
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ANESTHETIST)

    with nothing_changes():
        response = client_for(pharmacist).post(
            "/api/v1/assessments", body(patient, department=other_department.pk), format="json"
        )

    assert response.status_code == 400
    assert response.json() == {
        "department": [
            "An assessment is filed in its patient's department: "
            f"patient {patient.pk} is not registered in department {other_department.pk}."
        ]
    }


def test_seeing_a_patient_without_a_clinical_role_in_its_department_is_refused(
    pharmacist, patient, other_department
):
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ANESTHETIST)

    with nothing_changes():
        response = client_for(pharmacist).post("/api/v1/assessments", body(patient), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "department": [
            f"You cannot record patients or assessments in department {patient.department_id}."
        ]
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("drugs", ["suxx"], f"Unknown drug code 'suxx'. {HINT}"),
        ("drugs", [], "Give at least one planned drug."),
        ("drugs", ["sugammadex", "sugammadex"], "Drug 'sugammadex' is listed more than once."),
        ("weight_kg", "0.2", "Weight must be between 0.3 and 400 kg."),
        ("weight_kg", "401", "Weight must be between 0.3 and 400 kg."),
        ("weight_kg", "heavy", "Enter the weight as a number of kg, for example 72.5."),
        (
            "planned_at",
            "2026-11-22T08:00:00",
            "Give the time zone offset, for example 2026-11-22T08:00:00+00:00.",
        ),
        (
            "planned_at",
            "tomorrow",
            "Enter a date-time with an offset, for example 2026-11-22T08:00:00+00:00.",
        ),
        ("procedure", "", "This field may not be blank."),
        ("patient", "abc", "A valid integer is required."),
        ("status", "signed", "Unknown field. It is not part of this request."),
    ],
)
def test_each_bad_field_gets_its_own_message(anesthetist_client, patient, field, value, message):
    with nothing_changes():
        response = anesthetist_client.post(
            "/api/v1/assessments", body(patient, **{field: value}), format="json"
        )

    assert response.status_code == 400
    assert response.json() == {field: [message]}


@pytest.mark.parametrize("field", ["patient", "planned_at", "procedure", "weight_kg", "drugs"])
def test_each_required_field_is_named_when_missing(anesthetist_client, patient, field):
    data = body(patient)
    del data[field]

    with nothing_changes():
        response = anesthetist_client.post("/api/v1/assessments", data, format="json")

    assert response.status_code == 400
    assert response.json() == {field: ["This field is required."]}


def test_a_planned_time_before_a_recorded_onset_is_a_400_on_planned_at(anesthetist_client, patient):
    with nothing_changes():
        response = anesthetist_client.post(
            "/api/v1/assessments",
            body(patient, planned_at="2000-01-01T08:00:00+00:00"),
            format="json",
        )

    assert response.status_code == 400
    assert list(response.json()) == ["planned_at"]


# --- list ----------------------------------------------------------------------------------


def test_the_list_is_department_scoped_and_filterable(
    anesthetist_client, department, other_department
):
    mine = AssessmentFactory(patient=PatientFactory(department=department), drugs=["sugammadex"])
    other_patient = AssessmentFactory(
        patient=PatientFactory(department=department), drugs=["sugammadex"]
    )
    AssessmentFactory(patient=PatientFactory(department=other_department), drugs=["sugammadex"])

    everything = anesthetist_client.get("/api/v1/assessments").json()
    by_patient = anesthetist_client.get(f"/api/v1/assessments?patient={mine.patient_id}").json()
    signed = anesthetist_client.get("/api/v1/assessments?status=signed").json()

    assert [row["id"] for row in everything["results"]] == [other_patient.pk, mine.pk]
    assert [row["id"] for row in by_patient["results"]] == [mine.pk]
    assert signed["count"] == 0
    assert everything["results"][0]["patient"]["mrn"] == other_patient.patient.mrn


@pytest.mark.parametrize(
    ("query", "field"), [("status=final", "status"), ("patient=x", "patient"), ("sort=id", "sort")]
)
def test_bad_list_filters_are_400(anesthetist_client, query, field):
    response = anesthetist_client.get(f"/api/v1/assessments?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize("persona", ["pharmacist", "auditor", "department_admin"])
def test_every_role_of_the_department_reads_the_list(request, persona, department):
    AssessmentFactory(patient=PatientFactory(department=department), drugs=["sugammadex"])

    response = client_for(request.getfixturevalue(persona)).get("/api/v1/assessments")

    assert response.json()["count"] == 1


def test_listing_is_audited_as_one_query_naming_patients_and_assessments(
    auditor_client, department
):
    assessment = AssessmentFactory(
        patient=PatientFactory(department=department), drugs=["sugammadex"]
    )

    auditor_client.get("/api/v1/assessments")

    event = last_event()
    payload = json.loads(event.payload)
    assert (event.action, event.resource_type) == ("query", "assessment")
    assert payload["patient_ids"] == [assessment.patient_id]
    assert payload["resource_ids"] == [assessment.pk]
    assert event.patient_id == assessment.patient_id


@pytest.mark.parametrize("rows", [1, 25])
def test_the_list_costs_the_same_queries_for_1_and_25_assessments(
    anesthetist_client, department, django_assert_num_queries, rows
):
    patient = PatientFactory(department=department)
    for _ in range(rows):
        AssessmentFactory(patient=patient, drugs=["sugammadex"])

    # Token and user, role check, the caller's departments, count, the page with patients,
    # creators and signers, the departments searched (for the audit event's department),
    # then the audit append.
    with django_assert_num_queries(6 + audit_append_queries()):
        response = anesthetist_client.get("/api/v1/assessments")

    assert len(response.json()["results"]) == rows


# --- detail --------------------------------------------------------------------------------


def test_the_detail_shows_the_stored_snapshot_and_sends_its_etag(auditor_client, department):
    assessment = AssessmentFactory(
        patient=PatientFactory(department=department), drugs=["sugammadex"]
    )

    response = auditor_client.get(f"/api/v1/assessments/{assessment.pk}")

    assert response.status_code == 200
    assert response["ETag"] == f'"{assessment.pk}-1"'
    detail = response.json()
    assert detail["inputs"] == json.loads(assessment.inputs_snapshot)
    assert detail["cautions"] == json.loads(assessment.cautions_snapshot)["cautions"]
    assert detail["acknowledgements"] == []
    assert detail["supersedes"] is None
    assert detail["superseded_by"] is None


def test_reading_an_assessment_is_audited_as_a_read_of_its_patient(auditor_client, department):
    assessment = AssessmentFactory(
        patient=PatientFactory(department=department), drugs=["sugammadex"]
    )

    auditor_client.get(f"/api/v1/assessments/{assessment.pk}")

    event = last_event()
    assert (event.action, event.resource_type, event.resource_id) == (
        "read",
        "assessment",
        str(assessment.pk),
    )
    assert (event.patient_id, event.department_id) == (assessment.patient_id, department.pk)


def test_an_assessment_of_another_department_is_404(outsider, department):
    assessment = AssessmentFactory(
        patient=PatientFactory(department=department), drugs=["sugammadex"]
    )

    response = client_for(outsider).get(f"/api/v1/assessments/{assessment.pk}")

    assert response.status_code == 404


def test_an_unknown_assessment_is_404(anesthetist_client):
    assert anesthetist_client.get("/api/v1/assessments/999999").status_code == 404


# --- never a 500 ---------------------------------------------------------------------------

TOO_LARGE = 2**64


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/assessments/{TOO_LARGE}",
        f"/api/v1/patients/{TOO_LARGE}",
        f"/api/v1/patients/{TOO_LARGE}/conditions/{TOO_LARGE}/history",
    ],
)
def test_an_id_too_large_for_the_database_in_the_path_is_404(anesthetist_client, path):
    assert anesthetist_client.get(path).status_code == 404


def test_an_id_too_large_for_the_database_in_a_body_or_filter_is_400(anesthetist_client, patient):
    with nothing_changes():
        created = anesthetist_client.post(
            "/api/v1/assessments", body(patient, patient=TOO_LARGE), format="json"
        )
    listed = anesthetist_client.get(f"/api/v1/assessments?patient={TOO_LARGE}")

    assert created.status_code == 400
    assert list(created.json()) == ["patient"]
    assert listed.status_code == 400
    assert list(listed.json()) == ["patient"]
