"""Patient search, registration and the patient page."""

import datetime as dt

import pytest
from django.utils import timezone

from periop.assessments.models import Patient
from tests.conftest import nothing_changes
from tests.factories import (
    PatientConditionFactory,
    PatientFactory,
    PatientMedicationFactory,
    years_ago,
)
from tests.web.conftest import events

pytestmark = pytest.mark.django_db


def test_the_search_finds_a_patient_by_mrn_prefix_or_name(anesthetist_browser, patient):
    by_mrn = anesthetist_browser.get("/patients/?q=MRN00000").content.decode()
    by_name = anesthetist_browser.get("/patients/?q=lovel").content.decode()
    nothing = anesthetist_browser.get("/patients/?q=nobody").content.decode()

    assert "Ada Lovelace" in by_mrn
    assert "Ada Lovelace" in by_name
    assert "No patient in this department matches “nobody”." in nothing


def test_a_search_is_audited_as_one_query_naming_the_patients_shown(anesthetist_browser, patient):
    anesthetist_browser.get("/patients/?q=ada")

    (event,) = events("query")
    assert f'"patient_ids":[{patient.pk}]' in event.payload


def test_the_search_page_without_a_query_reads_no_patient(anesthetist_browser, patient):
    response = anesthetist_browser.get("/patients/")

    assert response.status_code == 200
    assert "Ada Lovelace" not in response.content.decode()
    assert not events("query")


def test_registering_a_patient_opens_their_page(anesthetist_browser, department):
    response = anesthetist_browser.post(
        "/patients/new",
        {
            "mrn": "NEW-1",
            "name": "Alan Turing",
            "birth_date": years_ago(56, 6, 23).isoformat(),
            "sex": "male",
        },
    )

    patient = Patient.objects.get(mrn="NEW-1")
    assert response["Location"] == f"/patients/{patient.pk}/"
    assert patient.department == department
    assert events("create", resource_type="patient")


def test_registration_errors_are_shown_next_to_their_fields_and_nothing_is_lost(
    anesthetist_browser, patient
):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            "/patients/new",
            {"mrn": patient.mrn, "name": "Someone Else", "birth_date": tomorrow, "sex": "female"},
        )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"birth_date": [f"Birth date ({tomorrow}) is in the future."]}
    page = response.content.decode()
    assert 'value="Someone Else"' in page
    assert 'id="id_birth_date_error"' in page
    assert 'aria-invalid="true" aria-describedby="id_birth_date_error"' in page


def test_a_duplicate_mrn_is_explained_next_to_the_mrn(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        "/patients/new",
        {"mrn": patient.mrn, "name": "Twin", "birth_date": "1990-01-01", "sex": "female"},
    )

    assert response.context["form"].errors == {
        "mrn": [f"A patient with MRN '{patient.mrn}' is already registered in this department."]
    }


def test_a_malformed_registration_is_a_form_error_not_a_crash(anesthetist_browser):
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            "/patients/new", {"mrn": "", "name": "", "birth_date": "31/02/2000", "sex": "dragon"}
        )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"mrn", "name", "birth_date", "sex"}


def test_an_auditor_may_read_but_not_register(auditor_browser, patient):
    assert auditor_browser.get(f"/patients/{patient.pk}/").status_code == 200
    assert auditor_browser.get("/patients/new").status_code == 403
    with nothing_changes(reads_allowed=True):
        assert auditor_browser.post("/patients/new", {"mrn": "X"}).status_code == 403


def test_the_patient_page_shows_the_record_and_audits_the_read(anesthetist_browser, patient):
    PatientConditionFactory(
        patient=patient, code="myasthenia-gravis", attributes={"antibody": "achr"}
    )
    PatientMedicationFactory(patient=patient, code="pyridostigmine")

    response = anesthetist_browser.get(f"/patients/{patient.pk}/")

    page = response.content.decode()
    assert "Myasthenia gravis" in page
    assert "Antibody: AChR" in page
    assert "Pyridostigmine" in page
    assert "Down-regulated" in page
    (event,) = events("read", resource_type="patient")
    assert event.patient_id == patient.pk


def test_a_patient_of_another_department_is_not_found(anesthetist_browser, other_department):
    elsewhere = PatientFactory(department=other_department)

    assert anesthetist_browser.get(f"/patients/{elsewhere.pk}/").status_code == 404
    assert anesthetist_browser.get("/patients/999999/").status_code == 404
