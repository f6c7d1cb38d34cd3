"""What a new assessment offers before anything is typed: the next morning list at 08:00 in
the department's time zone, and the patient's last recorded weight with where it came from;
and the patient's age on every banner."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from periop.web.views.assessments import next_morning
from tests.conftest import audit_append_queries
from tests.factories import AssessmentFactory, PatientFactory

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")
WORKPLACE_QUERIES = 3


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Before 08:00 local: this morning's list.
        (
            dt.datetime(2026, 11, 30, 7, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 30, 8, 0, tzinfo=LONDON),
        ),
        # From 08:00: tomorrow's.
        (
            dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 1, 8, 0, tzinfo=LONDON),
        ),
        # 23:30 UTC in summer is already 00:30 the next day in London (BST).
        (
            dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 7, 15, 8, 0, tzinfo=LONDON),
        ),
        # 07:30 UTC in summer is 08:30 in London: the list has started, so tomorrow.
        (
            dt.datetime(2026, 7, 15, 7, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 7, 16, 8, 0, tzinfo=LONDON),
        ),
    ],
)
def test_the_next_morning_list_is_at_8_in_the_departments_time_zone(now, expected):
    assert next_morning(now, LONDON) == expected


def test_a_new_assessment_is_planned_for_the_next_morning_list(anesthetist_browser, patient):
    expected = next_morning(timezone.now(), LONDON)

    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    assert f'name="planned_date" value="{expected:%Y-%m-%d}"' in page
    assert 'name="planned_time" value="08:00"' in page


def test_a_new_assessment_offers_the_last_recorded_weight_and_says_where_it_is_from(
    anesthetist_browser, patient
):
    planned = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
    AssessmentFactory(patient=patient, weight_kg=Decimal("64.00"), planned_at=planned)
    AssessmentFactory(patient=patient, weight_kg=Decimal("72.50"), planned_at=planned)

    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    assert 'name="weight_kg" value="72.50"' in page
    assert (
        "Last recorded: 72.5 kg for the assessment planned 03 Nov 2026 09:00 GMT. "
        "Weigh again if it may have changed."
    ) in page


def test_a_patient_never_assessed_gets_no_weight(anesthetist_browser, patient):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    assert 'name="weight_kg" value=' not in page
    assert "Last recorded" not in page


def test_the_new_assessment_form_costs_the_same_with_1_and_many_earlier_assessments(
    anesthetist_browser, patient, django_assert_num_queries
):
    # the workplace, the patient, the last recorded weight, then the audit append of the read
    expected = WORKPLACE_QUERIES + 2 + audit_append_queries()
    for _ in range(2):
        AssessmentFactory(patient=patient)
        with django_assert_num_queries(expected):
            anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new")
        AssessmentFactory.create_batch(5, patient=patient)


def page_at_frozen_time(user, url):
    """Signs in inside the frozen time, so that the session is fresh at that moment."""
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("born", "today", "shown"),
    [
        (dt.date(1958, 4, 12), dt.date(2026, 4, 11), "67 years"),
        (dt.date(1958, 4, 12), dt.date(2026, 4, 12), "68 years"),
        (dt.date(2025, 3, 20), dt.date(2026, 11, 30), "20 months"),
        (dt.date(2026, 10, 30), dt.date(2026, 11, 30), "1 month"),
        (dt.date(2024, 11, 30), dt.date(2026, 11, 30), "2 years"),
    ],
)
def test_the_patient_banner_shows_the_age(anesthetist, department, born, today, shown):
    patient = PatientFactory(department=department, birth_date=born)

    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=LONDON), tick=False):
        page = page_at_frozen_time(anesthetist, f"/patients/{patient.pk}/")

    assert f"<div><dt>Age</dt><dd>{shown}</dd></div>" in page


def test_the_age_turns_at_midnight_in_the_departments_time_zone(anesthetist, department):
    patient = PatientFactory(department=department, birth_date=dt.date(1990, 7, 15))
    # 23:30 UTC on 14 July is 00:30 on 15 July in London: the birthday has come.
    moment = dt.datetime(2026, 7, 14, 23, 30, tzinfo=dt.UTC)

    with time_machine.travel(moment, tick=False):
        page = page_at_frozen_time(anesthetist, f"/patients/{patient.pk}/")

    assert "<div><dt>Age</dt><dd>36 years</dd></div>" in page


def test_the_search_results_give_each_patients_age(anesthetist, department):
    PatientFactory(department=department, name="Aged Patient", birth_date=dt.date(1958, 4, 12))

    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), tick=False):
        page = page_at_frozen_time(anesthetist, "/patients/?q=Aged")

    assert "<td>12 Apr 1958</td><td>68 years</td>" in page
