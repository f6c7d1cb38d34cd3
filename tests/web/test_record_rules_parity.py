"""One set of date rules for recorded conditions and medications: the web forms and the API
refuse the same values with the same message, and write nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from periop.assessments.models import PatientCondition
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientConditionFactory

pytestmark = pytest.mark.django_db


def days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def before_birth(patient, n: int = 10) -> str:
    return (patient.birth_date - dt.timedelta(days=n)).isoformat()


# (kind, web fields, API body, field) built per patient.
def cases(patient):
    return {
        "onset before birth": (
            "conditions",
            {"code": "stroke", "onset_date": before_birth(patient)},
            {"code": "stroke", "onset": before_birth(patient)},
            ("onset_date", "onset"),
        ),
        "onset in the future": (
            "conditions",
            {"code": "stroke", "onset_date": days(30)},
            {"code": "stroke", "onset": days(30)},
            ("onset_date", "onset"),
        ),
        "resolved before onset": (
            "conditions",
            {"code": "stroke", "onset_date": days(-10), "resolved_date": days(-20)},
            {"code": "stroke", "onset": days(-10), "resolved": days(-20)},
            ("resolved_date", "resolved"),
        ),
        "resolved in the future": (
            "conditions",
            {"code": "stroke", "onset_date": days(-10), "resolved_date": days(30)},
            {"code": "stroke", "onset": days(-10), "resolved": days(30)},
            ("resolved_date", "resolved"),
        ),
        "started in the future": (
            "medications",
            {"code": "pyridostigmine", "started_date": days(400)},
            {"code": "pyridostigmine", "started": days(400)},
            ("started_date", "started"),
        ),
        "started before birth": (
            "medications",
            {"code": "pyridostigmine", "started_date": before_birth(patient)},
            {"code": "pyridostigmine", "started": before_birth(patient)},
            ("started_date", "started"),
        ),
        "stopped before started": (
            "medications",
            {"code": "pyridostigmine", "started_date": days(-5), "stopped_date": days(-9)},
            {"code": "pyridostigmine", "started": days(-5), "stopped": days(-9)},
            ("stopped_date", "stopped"),
        ),
    }


CASE_NAMES = [
    "onset before birth",
    "onset in the future",
    "resolved before onset",
    "resolved in the future",
    "started in the future",
    "started before birth",
    "stopped before started",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_form_and_the_api_refuse_the_same_dates_with_the_same_message(
    anesthetist, anesthetist_browser, patient, name
):
    assert set(cases(patient)) == set(CASE_NAMES)
    kind, form_data, body, (form_field, api_field) = cases(patient)[name]

    with nothing_changes(reads_allowed=True):
        page = anesthetist_browser.post(f"/patients/{patient.pk}/{kind}/new", form_data)
        api = client_for(anesthetist).post(
            f"/api/v1/patients/{patient.pk}/{kind}", body, format="json"
        )

    assert page.status_code == api.status_code == 400
    assert page.context["form"].errors[form_field] == api.json()[api_field]


def test_an_ongoing_condition_recorded_again_needs_confirmation_through_both_doors(
    anesthetist, anesthetist_browser, patient
):
    existing = PatientConditionFactory(
        patient=patient,
        code="myasthenia-gravis",
        onset_date=dt.date(2020, 3, 1),
        attributes={},
    )
    api_client = client_for(anesthetist)
    url = f"/api/v1/patients/{patient.pk}/conditions"

    with nothing_changes(reads_allowed=True):
        page = anesthetist_browser.post(
            f"/patients/{patient.pk}/conditions/new",
            {"code": "myasthenia-gravis", "onset_date": days(-3)},
        )
        api = api_client.post(url, {"code": "myasthenia-gravis", "onset": days(-3)}, format="json")

    assert page.status_code == api.status_code == 409
    assert "Myasthenia gravis is already recorded for this patient" in page.content.decode()
    body = api.json()
    assert body["code"] == "duplicate-condition"
    assert f"condition {existing.pk}, onset 2020-03-01" in body["detail"]
    assert "duplicate_confirmed" in body["detail"]
    assert body["existing"] == [{"id": existing.pk, "onset": "2020-03-01"}]

    confirmed_page = anesthetist_browser.post(
        f"/patients/{patient.pk}/conditions/new",
        {"code": "myasthenia-gravis", "onset_date": days(-3), "duplicate_confirmed": "yes"},
    )
    confirmed_api = api_client.post(
        url,
        {"code": "myasthenia-gravis", "onset": days(-2), "duplicate_confirmed": True},
        format="json",
    )

    assert confirmed_page.status_code == 302
    assert confirmed_api.status_code == 201
    assert PatientCondition.objects.filter(patient=patient, code="myasthenia-gravis").count() == 3


def test_the_api_records_a_condition_whose_earlier_episode_is_resolved(anesthetist, patient):
    PatientConditionFactory(
        patient=patient,
        code="stroke",
        onset_date=dt.date(2019, 1, 1),
        resolved_date=dt.date(2019, 6, 1),
        attributes={},
    )

    response = client_for(anesthetist).post(
        f"/api/v1/patients/{patient.pk}/conditions",
        {"code": "stroke", "onset": days(-3)},
        format="json",
    )

    assert response.status_code == 201
