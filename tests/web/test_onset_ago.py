"""The onset of a condition entered as "N days ago" or "N hours ago" instead of a date."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from periop.assessments.models import PatientCondition
from tests.conftest import nothing_changes
from tests.factories import PatientConditionFactory

pytestmark = pytest.mark.django_db


def record(browser, patient, **fields):
    return browser.post(f"/patients/{patient.pk}/conditions/new", {"code": "stroke", **fields})


def local_today(department):
    return timezone.now().astimezone(zoneinfo.ZoneInfo(department.time_zone)).date()


def test_days_ago_is_recorded_as_that_calendar_day_time_unknown(
    anesthetist_browser, patient, department
):
    before = local_today(department)
    response = record(anesthetist_browser, patient, onset_ago="3", onset_ago_unit="days")
    after = local_today(department)

    assert response.status_code == 302
    condition = PatientCondition.objects.get(patient=patient)
    # A date alone: the whole day, which the engine reads as a range of instants.
    assert condition.onset_at is None
    assert condition.onset_date in {before - dt.timedelta(days=3), after - dt.timedelta(days=3)}
    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()
    assert f"{condition.onset_date:%d %b %Y}" in page


def test_hours_ago_is_recorded_as_that_instant_to_the_minute(anesthetist_browser, patient):
    before = timezone.now()
    response = record(anesthetist_browser, patient, onset_ago="30", onset_ago_unit="hours")
    after = timezone.now()

    assert response.status_code == 302
    condition = PatientCondition.objects.get(patient=patient)
    assert condition.onset_date is None
    onset = condition.onset_at
    assert onset.second == onset.microsecond == 0
    earliest = (before - dt.timedelta(hours=30)).replace(second=0, microsecond=0)
    assert earliest <= onset <= after - dt.timedelta(hours=30)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"onset_ago": "-2", "onset_ago_unit": "days"},
            "Give the number of days ago as 0 or more.",
        ),
        (
            {"onset_ago": "-1", "onset_ago_unit": "hours"},
            "Give the number of hours ago as 0 or more.",
        ),
        ({"onset_ago": "2.5", "onset_ago_unit": "days"}, "Enter a whole number, for example 3."),
        ({"onset_ago": "3", "onset_ago_unit": "weeks"}, None),
    ],
)
def test_a_negative_or_malformed_count_is_a_form_error(
    anesthetist_browser, patient, fields, message
):
    with nothing_changes(reads_allowed=True):
        response = record(anesthetist_browser, patient, **fields)

    assert response.status_code == 400
    form = response.context["form"]
    if message is None:
        assert "onset_ago_unit" in form.errors
    else:
        assert form.errors["onset_ago"] == [message]
        assert message in response.content.decode()


@pytest.mark.parametrize("unit", ["days", "hours"])
def test_a_count_reaching_back_before_birth_is_a_form_error(anesthetist_browser, patient, unit):
    with nothing_changes(reads_allowed=True):
        response = record(anesthetist_browser, patient, onset_ago="10000000", onset_ago_unit=unit)

    assert response.status_code == 400
    [error] = response.context["form"].errors["onset_ago"]
    assert error.startswith(f"10000000 {unit} ago is before the patient's birth on ")
    assert f"{patient.birth_date:%d %b %Y}" in error


def test_a_date_and_a_time_ago_together_are_refused(anesthetist_browser, patient):
    with nothing_changes(reads_allowed=True):
        response = record(
            anesthetist_browser,
            patient,
            onset_date="2024-01-01",
            onset_ago="3",
            onset_ago_unit="days",
        )

    assert response.status_code == 400
    assert response.context["form"].errors["onset_ago"] == [
        "Give the onset either as a date or as a time ago, not both."
    ]


def test_a_correction_takes_a_time_ago_too(anesthetist_browser, patient, department):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})

    before = local_today(department)
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/conditions/{condition.pk}/correct",
        {"code": "stroke", "onset_ago": "2", "onset_ago_unit": "days", "reason": "Onset known."},
    )

    assert response.status_code == 302
    current = PatientCondition.objects.get(patient=patient, replaced_by__isnull=True)
    assert current.onset_date in {
        before - dt.timedelta(days=2),
        local_today(department) - dt.timedelta(days=2),
    }
