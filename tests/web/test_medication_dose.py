"""An optional free-text dose on a recorded medication: stored, shown on the patient page, the
assessment and the print's "what the plan rests on"; never read by the engine."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.assessments.models import PatientMedication
from periop.assessments.services import assessment_sign, caution_acknowledge
from periop.audit.services import Actor
from tests.conftest import client_for, nothing_changes
from tests.factories import AssessmentFactory, PatientConditionFactory, PatientMedicationFactory

pytestmark = pytest.mark.django_db

DOSE = "60 mg four times daily"


def started(days: int = 400) -> str:
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def test_the_form_records_the_dose_and_the_patient_page_shows_it(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/medications/new",
        {"code": "pyridostigmine", "started_date": started(), "dose_text": f"  {DOSE} "},
    )

    assert response.status_code == 302
    assert PatientMedication.objects.get().dose_text == DOSE
    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()
    assert f"Dose: {DOSE}" in page
    assert "the cautions do not read it" in page


def test_the_api_records_and_returns_the_dose(anesthetist, patient):
    client = client_for(anesthetist)

    created = client.post(
        f"/api/v1/patients/{patient.pk}/medications",
        {"code": "pyridostigmine", "started": started(), "dose_text": DOSE},
        format="json",
    )
    listed = client.get(f"/api/v1/patients/{patient.pk}/medications")

    assert created.status_code == 201
    assert created.json()["dose_text"] == DOSE
    assert [row["dose_text"] for row in listed.json()] == [DOSE]


def test_a_medication_without_a_dose_has_an_empty_one(anesthetist, patient):
    created = client_for(anesthetist).post(
        f"/api/v1/patients/{patient.pk}/medications",
        {"code": "pyridostigmine", "started": started()},
        format="json",
    )

    assert created.status_code == 201
    assert created.json()["dose_text"] == ""


def test_a_dose_too_long_is_refused_through_both_doors(anesthetist, anesthetist_browser, patient):
    long = "x" * 201
    with nothing_changes(reads_allowed=True):
        page = anesthetist_browser.post(
            f"/patients/{patient.pk}/medications/new",
            {"code": "pyridostigmine", "started_date": started(), "dose_text": long},
        )
        api = client_for(anesthetist).post(
            f"/api/v1/patients/{patient.pk}/medications",
            {"code": "pyridostigmine", "started": started(), "dose_text": long},
            format="json",
        )

    assert page.status_code == api.status_code == 400
    assert page.context["form"].errors["dose_text"] == ["Keep the dose under 200 characters."]
    assert api.json()["dose_text"] == ["Keep the dose under 200 characters."]


def test_the_dose_does_not_change_the_cautions(department):
    def cautions(dose_text):
        assessment = AssessmentFactory(
            patient=PatientMedicationFactory(
                patient__department=department,
                code="pyridostigmine",
                started_date=dt.date(2020, 1, 1),
                dose_text=dose_text,
            ).patient,
            drugs=["rocuronium", "sugammadex", "succinylcholine"],
        )
        evaluation = json.loads(assessment.cautions_snapshot)
        return evaluation["cautions"], evaluation["highest_level"]

    assert cautions(DOSE) == cautions("")


def test_the_assessment_and_its_print_list_the_dose_with_the_medication(
    anesthetist_browser, anesthetist, patient
):
    PatientConditionFactory(
        patient=patient, code="myasthenia-gravis", onset_date=dt.date(2020, 3, 1), attributes={}
    )
    PatientMedicationFactory(
        patient=patient, code="pyridostigmine", started_date=dt.date(2020, 3, 2), dose_text=DOSE
    )
    assessment = AssessmentFactory(patient=patient, drugs=["sugammadex", "succinylcholine"])

    detail = anesthetist_browser.get(f"/assessments/{assessment.pk}/").content.decode()
    basis = detail[detail.index('id="basis-heading"') : detail.index('id="cautions-heading"')]
    assert "Pyridostigmine<br>" in basis
    assert f"Dose: {DOSE}" in basis

    actor = Actor.from_user(anesthetist)
    for row in json.loads(assessment.cautions_snapshot)["cautions"]:
        if row["level"] in {"contraindicated", "avoid"}:
            caution_acknowledge(
                actor=actor, assessment=assessment, drug=row["drug"], decision="accepted"
            )
    assessment_sign(actor=actor, assessment=assessment)
    printed = anesthetist_browser.get(f"/assessments/{assessment.pk}/print").content.decode()
    rests_on = printed[printed.index("What the plan rests on") : printed.index("Signature</h2>")]
    assert f'Pyridostigmine<br><span class="print-note">Dose: {DOSE}</span>' in rests_on
