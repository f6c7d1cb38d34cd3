"""A patient's conditions, medications and receptor state through the API: recorded,
corrected and removed without losing anything; permissions and one clear 400 per field."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.assessments.models import PatientCondition, PatientReceptorState
from periop.audit.models import AuditEvent
from tests.conftest import audit_append_queries, client_for, nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory, PatientMedicationFactory

pytestmark = pytest.mark.django_db

HINT = "See GET /api/v1/knowledge-base."
MG = {
    "code": "myasthenia-gravis",
    "onset": "2019-03-01",
    "attributes": {"antibody": "achr", "distribution": "generalized"},
}


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


def url(patient, tail=""):
    return f"/api/v1/patients/{patient.pk}{tail}"


def last_event():
    return AuditEvent.objects.order_by("-sequence").first()


# --- conditions: recording -----------------------------------------------------------------


def test_an_anesthetist_records_a_condition(anesthetist_client, patient):
    response = anesthetist_client.post(url(patient, "/conditions"), MG, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["code"], body["onset"], body["resolved"]) == (
        "myasthenia-gravis",
        "2019-03-01",
        None,
    )
    assert body["attributes"] == MG["attributes"]
    assert (body["version"], body["is_current"], body["recorded_by"]) == (1, True, "dr-anesthetist")
    assert last_event().resource_type == "patient-condition"


def test_an_instant_onset_comes_back_as_an_instant(anesthetist_client, patient):
    body = {"code": "stroke", "onset": "2026-01-12T15:00:00+01:00"}

    response = anesthetist_client.post(url(patient, "/conditions"), body, format="json")

    assert response.json()["onset"] == "2026-01-12T14:00:00+00:00"
    condition = PatientCondition.objects.get()
    assert condition.onset_date is None
    assert condition.onset_at == dt.datetime(2026, 1, 12, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "flu"}, {"code": [f"Unknown condition code 'flu'. {HINT}"]}),
        (
            {"code": "burn", "onset": "12/01/2026"},
            {
                "onset": [
                    "Enter a date (YYYY-MM-DD) or a date-time with an offset "
                    "(YYYY-MM-DDThh:mm:ss+00:00)."
                ]
            },
        ),
        (
            {"code": "burn", "onset": "2026-01-12T14:00:00"},
            {
                "onset": [
                    "Give the time zone offset, for example 2026-11-12T14:00:00+00:00, or a date."
                ]
            },
        ),
        (
            {"code": "burn", "onset": "2026-01-10", "resolved": "2026-01-01"},
            {"resolved": ["Resolved (2026-01-01) is before onset (2026-01-10)."]},
        ),
        (
            {"code": "burn", "onst": "2026-01-01"},
            {"onst": ["Unknown field. It is not part of this request."]},
        ),
    ],
)
def test_each_bad_condition_field_gets_the_checks_message(
    anesthetist_client, patient, body, expected
):
    with nothing_changes():
        response = anesthetist_client.post(url(patient, "/conditions"), body, format="json")

    assert response.status_code == 400
    assert response.json() == expected


def test_an_unknown_attribute_is_named(anesthetist_client, patient):
    body = {"code": "burn", "attributes": {"depth": "full"}}

    with nothing_changes():
        response = anesthetist_client.post(url(patient, "/conditions"), body, format="json")

    assert response.status_code == 400
    assert response.json()["attributes"][0].startswith("depth: ")


def test_an_onset_in_the_future_is_refused(anesthetist_client, patient):
    onset = (timezone.now() + dt.timedelta(days=3)).date().isoformat()

    with nothing_changes():
        response = anesthetist_client.post(
            url(patient, "/conditions"), {"code": "burn", "onset": onset}, format="json"
        )

    assert response.status_code == 400
    assert response.json() == {"onset": [f"Onset ({onset}) is in the future."]}


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_record(request, persona, patient):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.post(url(patient, "/conditions"), MG, format="json")

    assert response.status_code == 403
    assert not PatientCondition.objects.exists()


def test_a_patient_of_another_department_is_404_for_reads_and_writes(outsider, patient):
    client = client_for(outsider)

    assert client.get(url(patient, "/conditions")).status_code == 404
    with nothing_changes():
        assert client.post(url(patient, "/conditions"), MG, format="json").status_code == 404


def test_an_auditor_in_the_department_but_anesthetist_elsewhere_gets_403(
    auditor, other_department, patient
):
    from periop.accounts.models import Role
    from tests.factories import MembershipFactory

    MembershipFactory(user=auditor, department=other_department, role=Role.ANESTHETIST)

    with nothing_changes():
        response = client_for(auditor).post(url(patient, "/conditions"), MG, format="json")

    assert response.status_code == 403


# --- conditions: listing -------------------------------------------------------------------


def test_the_list_shows_current_conditions_and_every_version_on_request(
    anesthetist_client, patient
):
    current = PatientConditionFactory(patient=patient, code="stroke")
    removed = PatientConditionFactory(
        patient=patient, code="burn", removed_at=timezone.now(), removal_reason="Wrong patient."
    )

    current_only = anesthetist_client.get(url(patient, "/conditions")).json()
    everything = anesthetist_client.get(url(patient, "/conditions?include_inactive=true")).json()

    assert [row["id"] for row in current_only] == [current.pk]
    assert [row["id"] for row in everything] == [current.pk, removed.pk]
    assert everything[1]["removal_reason"] == "Wrong patient."


def test_auditors_and_pharmacists_read_conditions_and_the_read_is_audited(auditor, patient):
    condition = PatientConditionFactory(patient=patient)

    response = client_for(auditor).get(url(patient, "/conditions"))

    assert response.status_code == 200
    event = last_event()
    assert (event.action, event.resource_type, event.patient_id) == (
        "read",
        "patient-condition",
        patient.pk,
    )
    assert json.loads(event.payload)["condition_ids"] == [condition.pk]


@pytest.mark.parametrize("rows", [1, 25])
def test_the_condition_list_costs_the_same_queries_for_1_and_25_rows(
    anesthetist_client, patient, django_assert_num_queries, rows
):
    for _ in range(rows):
        PatientConditionFactory(patient=patient)

    # Token and user, role check, the caller's departments, the patient, the conditions with
    # who recorded and removed them, then the audit append.
    with django_assert_num_queries(5 + audit_append_queries()):
        response = anesthetist_client.get(url(patient, "/conditions"))

    assert len(response.json()) == rows


# --- conditions: correcting and removing ---------------------------------------------------


def test_a_patch_is_a_correction_that_keeps_the_old_version(anesthetist_client, patient):
    original = anesthetist_client.post(url(patient, "/conditions"), MG, format="json").json()

    response = anesthetist_client.patch(
        url(patient, f"/conditions/{original['id']}"),
        {"onset": "2019-02-14", "reason": "Date from the neurology letter."},
        format="json",
    )

    assert response.status_code == 200
    corrected = response.json()
    assert corrected["id"] != original["id"]
    assert (corrected["version"], corrected["replaces"]) == (2, original["id"])
    assert corrected["onset"] == "2019-02-14"
    assert corrected["attributes"] == MG["attributes"]
    assert corrected["correction_reason"] == "Date from the neurology letter."
    history = anesthetist_client.get(url(patient, f"/conditions/{original['id']}/history")).json()
    assert [(row["id"], row["onset"], row["is_current"]) for row in history] == [
        (original["id"], "2019-03-01", False),
        (corrected["id"], "2019-02-14", True),
    ]
    assert history[0]["replaced_by"] == corrected["id"]


def test_a_correction_to_a_new_code_revalidates_the_attributes_it_keeps(
    anesthetist_client, patient
):
    original = anesthetist_client.post(url(patient, "/conditions"), MG, format="json").json()

    with nothing_changes():
        response = anesthetist_client.patch(
            url(patient, f"/conditions/{original['id']}"), {"code": "burn"}, format="json"
        )

    assert response.status_code == 400
    assert response.json()["attributes"][0].startswith("antibody: ")


def test_an_empty_correction_is_refused(anesthetist_client, patient):
    condition = PatientConditionFactory(patient=patient)

    with nothing_changes():
        response = anesthetist_client.patch(
            url(patient, f"/conditions/{condition.pk}"), {"reason": "Nothing"}, format="json"
        )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give at least one field to correct."]}


def test_correcting_a_replaced_version_is_a_409(anesthetist_client, patient):
    original = anesthetist_client.post(url(patient, "/conditions"), MG, format="json").json()
    item = url(patient, f"/conditions/{original['id']}")
    anesthetist_client.patch(
        item, {"onset": "2019-02-14", "reason": "Clinic letter."}, format="json"
    )

    with nothing_changes():
        response = anesthetist_client.patch(item, {"onset": "2019-02-15"}, format="json")

    assert response.status_code == 409
    assert "change the current version" in response.json()["detail"]


def test_a_delete_is_a_recorded_removal(anesthetist_client, patient):
    condition = anesthetist_client.post(url(patient, "/conditions"), MG, format="json").json()

    response = anesthetist_client.delete(
        url(patient, f"/conditions/{condition['id']}"),
        {"reason": "Entered for the wrong patient."},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["removed_by"] == "dr-anesthetist"
    assert response.json()["removal_reason"] == "Entered for the wrong patient."
    assert last_event().action == "delete"
    assert PatientCondition.objects.filter(pk=condition["id"]).exists()
    assert anesthetist_client.get(url(patient, "/conditions")).json() == []
    with nothing_changes():
        again = anesthetist_client.delete(url(patient, f"/conditions/{condition['id']}"))
    assert again.status_code == 409


@pytest.mark.parametrize("body", [None, {}, {"reason": "  "}])
def test_a_delete_without_a_reason_is_refused_and_changes_nothing(
    anesthetist_client, patient, body
):
    condition = PatientConditionFactory(patient=patient)

    with nothing_changes():
        response = anesthetist_client.delete(
            url(patient, f"/conditions/{condition.pk}"), body, format="json"
        )

    assert response.status_code == 400
    assert response.json() == {
        "reason": ["Give the reason for removing this condition from the record."]
    }


def test_a_condition_of_another_patient_is_404(anesthetist_client, patient, department):
    elsewhere = PatientConditionFactory(patient=PatientFactory(department=department))

    with nothing_changes():
        assert (
            anesthetist_client.patch(
                url(patient, f"/conditions/{elsewhere.pk}"), {"onset": None}, format="json"
            ).status_code
            == 404
        )
    with nothing_changes():
        assert (
            anesthetist_client.delete(url(patient, f"/conditions/{elsewhere.pk}")).status_code
            == 404
        )
    assert (
        anesthetist_client.get(url(patient, f"/conditions/{elsewhere.pk}/history")).status_code
        == 404
    )


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_correct_or_remove(request, persona, patient):
    condition = PatientConditionFactory(patient=patient)
    client = client_for(request.getfixturevalue(persona))

    item = url(patient, f"/conditions/{condition.pk}")
    with nothing_changes():
        assert client.patch(item, {"onset": None}, format="json").status_code == 403
    with nothing_changes():
        assert client.delete(item).status_code == 403


# --- medications ---------------------------------------------------------------------------


def test_medications_are_recorded_listed_and_removed(anesthetist_client, patient):
    created = anesthetist_client.post(
        url(patient, "/medications"),
        {"code": "pyridostigmine", "started": "2024-05-03", "stopped": None},
        format="json",
    )
    assert created.status_code == 201
    medication = created.json()
    assert (medication["code"], medication["started"], medication["stopped"]) == (
        "pyridostigmine",
        "2024-05-03",
        None,
    )

    listed = anesthetist_client.get(url(patient, "/medications")).json()
    removed = anesthetist_client.delete(
        url(patient, f"/medications/{medication['id']}"), {"reason": "Stopped."}, format="json"
    )

    assert [row["id"] for row in listed] == [medication["id"]]
    assert removed.status_code == 200
    assert removed.json()["removed_at"] is not None
    assert anesthetist_client.get(url(patient, "/medications")).json() == []
    everything = anesthetist_client.get(url(patient, "/medications?include_inactive=true"))
    assert len(everything.json()) == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "aspirin"}, {"code": [f"Unknown drug code 'aspirin'. {HINT}"]}),
        (
            {"code": "pyridostigmine", "started": "2024-05-03", "stopped": "2024-04-20"},
            {"stopped": ["Stopped (2024-04-20) is before started (2024-05-03)."]},
        ),
        (
            {"code": "pyridostigmine", "dose": "60 mg"},
            {"dose": ["Unknown field. It is not part of this request."]},
        ),
    ],
)
def test_each_bad_medication_field_gets_its_message(anesthetist_client, patient, body, expected):
    with nothing_changes():
        response = anesthetist_client.post(url(patient, "/medications"), body, format="json")

    assert response.status_code == 400
    assert response.json() == expected


@pytest.mark.parametrize("rows", [1, 25])
def test_the_medication_list_costs_the_same_queries_for_1_and_25_rows(
    anesthetist_client, patient, django_assert_num_queries, rows
):
    for _ in range(rows):
        PatientMedicationFactory(patient=patient)

    # Token and user, role check, departments, the patient, the medications, the audit append.
    with django_assert_num_queries(5 + audit_append_queries()):
        response = anesthetist_client.get(url(patient, "/medications"))

    assert len(response.json()) == rows


def test_a_pharmacist_cannot_remove_a_medication(pharmacist, patient):
    medication = PatientMedicationFactory(patient=patient)

    with nothing_changes():
        response = client_for(pharmacist).delete(url(patient, f"/medications/{medication.pk}"))

    assert response.status_code == 403


# --- receptor state ------------------------------------------------------------------------


def test_a_receptor_state_is_recorded_with_its_reason_and_cleared(anesthetist_client, patient):
    recorded = anesthetist_client.post(
        url(patient, "/receptor-state"),
        {"value": "up", "reason": "Months in bed; the rules do not model it."},
        format="json",
    )
    assert recorded.status_code == 201
    assert recorded.json()["value"] == "up"
    assert anesthetist_client.get(url(patient)).json()["receptor_state"]["value"] == "up"

    cleared = anesthetist_client.delete(url(patient, "/receptor-state"))

    assert cleared.status_code == 200
    assert cleared.json()["cleared_by"] == "dr-anesthetist"
    assert anesthetist_client.get(url(patient)).json()["receptor_state"]["recorded"] is None
    assert PatientReceptorState.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "sideways", "reason": "x"}, "value"),
        ({"value": "up"}, "reason"),
        ({"value": "up", "reason": ""}, "reason"),
    ],
)
def test_a_receptor_state_needs_a_known_value_and_a_reason(
    anesthetist_client, patient, body, field
):
    with nothing_changes():
        response = anesthetist_client.post(url(patient, "/receptor-state"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_clearing_without_a_recorded_state_is_a_409(anesthetist_client, patient):
    with nothing_changes():
        response = anesthetist_client.delete(url(patient, "/receptor-state"))

    assert response.status_code == 409
    assert response.json()["detail"] == "No receptor state is recorded for this patient."


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_only_clinicians_record_a_receptor_state(request, persona, patient):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.post(
            url(patient, "/receptor-state"), {"value": "up", "reason": "x"}, format="json"
        )

    assert response.status_code == 403
