"""Every date a web form takes is refused outside the years 1900-2200, as the API refuses it,
with the message next to the field and nothing written (finding F11). The department is west of
UTC, where a time late in year 9999 used to overflow into a server error."""

import pytest

from periop.assessments.models import Assessment, Patient, PatientCondition, PatientMedication
from periop.audit.models import AuditEvent
from tests.factories import AssessmentFactory, PatientConditionFactory
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db

MESSAGE = "Enter a date between the years 1900 and 2200."
YEARS = ["0001", "1899", "2201", "9999"]
WRITES = ("create", "update", "delete", "sign")


@pytest.fixture(autouse=True)
def west_of_utc(department):
    department.time_zone = "America/New_York"
    department.save()


def written():
    """What a refused form must leave unchanged: every record it could write, and the
    audit events of writes."""
    return (
        Patient.objects.count(),
        PatientCondition.objects.count(),
        PatientMedication.objects.count(),
        Assessment.objects.count(),
        AuditEvent.objects.filter(action__in=WRITES).count(),
        list(Assessment.objects.values_list("planned_at", flat=True)),
    )


def patient_form(patient, year):
    data = {"mrn": "NEW-1", "name": "Alan Turing", "birth_date": f"{year}-12-31", "sex": "male"}
    return "/patients/new", data


def condition_form(name):
    def build(patient, year):
        data = {"code": "stroke", "onset_date": "2020-03-01"}
        data.update({f"{name}_date": f"{year}-12-31", f"{name}_time": "23:59"})
        return f"/patients/{patient.pk}/conditions/new", data

    return build


def condition_correction_form(name):
    def build(patient, year):
        condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})
        data = {"code": "stroke", "onset_date": "2020-03-01", "reason": "Typed wrongly."}
        data.update({f"{name}_date": f"{year}-12-31", f"{name}_time": "23:59"})
        return f"/patients/{patient.pk}/conditions/{condition.pk}/correct", data

    return build


def medication_form(name):
    def build(patient, year):
        data = {"code": "pyridostigmine", "started_date": "2024-05-03"}
        data.update({f"{name}_date": f"{year}-12-31", f"{name}_time": "23:59"})
        return f"/patients/{patient.pk}/medications/new", data

    return build


def assessment_form(patient, year):
    data = tomorrow_form(planned_date=f"{year}-12-31", planned_time="23:59")
    return f"/patients/{patient.pk}/assessments/new", data


def assessment_edit_form(patient, year):
    draft = AssessmentFactory(patient=patient, drugs=["rocuronium"])
    data = tomorrow_form(planned_date=f"{year}-12-31", planned_time="23:59", revision=1)
    return f"/assessments/{draft.pk}/edit", data


FORMS = {
    "patient birth_date": (patient_form, "birth_date"),
    "condition onset_date": (condition_form("onset"), "onset_date"),
    "condition resolved_date": (condition_form("resolved"), "resolved_date"),
    "correction onset_date": (condition_correction_form("onset"), "onset_date"),
    "correction resolved_date": (condition_correction_form("resolved"), "resolved_date"),
    "medication started_date": (medication_form("started"), "started_date"),
    "medication stopped_date": (medication_form("stopped"), "stopped_date"),
    "assessment planned_date": (assessment_form, "planned_date"),
    "assessment edit planned_date": (assessment_edit_form, "planned_date"),
}


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("form", FORMS)
def test_a_year_outside_1900_to_2200_is_a_form_error_and_nothing_is_written(
    anesthetist_browser, patient, form, year
):
    build, field = FORMS[form]
    url, data = build(patient, year)
    before = written()

    response = anesthetist_browser.post(url, data)

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [MESSAGE]
    assert written() == before


@pytest.mark.parametrize("form", FORMS)
def test_the_first_and_last_accepted_years_pass_the_bound(anesthetist_browser, patient, form):
    build, field = FORMS[form]
    for year in ("1900", "2200"):
        url, data = build(patient, year)

        response = anesthetist_browser.post(url, data)

        errors = response.context["form"].errors if response.status_code == 400 else {}
        assert MESSAGE not in errors.get(field, []), (year, errors)


@pytest.mark.parametrize("year", YEARS)
def test_the_live_preview_explains_the_year_and_checks_nothing(anesthetist_browser, patient, year):
    before = AuditEvent.objects.count()

    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/assessments/preview",
        tomorrow_form(planned_date=f"{year}-12-31", planned_time="23:59"),
    )

    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_the_forms_and_the_api_share_one_validator():
    from periop.assessments.apis.patients import PatientCreateApi
    from periop.drugs.services import clinical_time_validate
    from periop.web.forms import PatientForm

    assert clinical_time_validate in PatientForm.base_fields["birth_date"].validators
    api_field = PatientCreateApi.PatientCreateInput().fields["birth_date"]
    assert clinical_time_validate in api_field.validators


@pytest.mark.parametrize("year", YEARS)
def test_the_api_refuses_the_same_birth_dates(anesthetist_client, department, year):
    before = Patient.objects.count()

    response = anesthetist_client.post(
        "/api/v1/patients",
        {"mrn": "NEW-1", "name": "Alan Turing", "birth_date": f"{year}-12-31"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"birth_date": [MESSAGE]}
    assert Patient.objects.count() == before


@pytest.mark.parametrize("year", YEARS)
def test_the_api_refuses_the_same_onsets(anesthetist_client, patient, year):
    before = PatientCondition.objects.count()

    response = anesthetist_client.post(
        f"/api/v1/patients/{patient.pk}/conditions",
        {"code": "stroke", "onset": f"{year}-12-31T23:59:00-05:00"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["onset"] == ["Enter a date-time between the years 1900 and 2200."]
    assert PatientCondition.objects.count() == before
