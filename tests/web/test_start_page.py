"""The start page: the department's assessments of today and the next days, my drafts, the
patients I opened recently; auditors land on the reports."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from periop.assessments.models import Assessment
from periop.assessments.services import assessment_amend, assessment_sign
from periop.audit.services import Actor
from tests.conftest import audit_append_queries
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientFactory,
    UserFactory,
)
from tests.web.conftest import events

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")  # the test department's time zone
WORKPLACE_QUERIES = 3


def local_day(offset: int) -> dt.date:
    return timezone.now().astimezone(LONDON).date() + dt.timedelta(days=offset)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def planned(patient, when, procedure, user=None):
    return AssessmentFactory(
        patient=patient, planned_at=when, procedure=procedure, drugs=["rocuronium"], created_by=user
    )


def start_page(client):
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_start_page_lists_todays_and_the_coming_days_assessments_soonest_first(
    anesthetist_browser, department, other_department
):
    patient = PatientFactory(department=department, name="Mary Seacole", mrn="MRN-S1")
    planned(patient, at(local_day(1), 8, 30), "Tomorrow's thymectomy")
    planned(patient, at(local_day(0), 23, 30), "Tonight's laparotomy")
    planned(patient, at(local_day(-1), 9), "Yesterday's hernia repair")
    planned(patient, at(local_day(7), 9), "A week away")
    elsewhere = PatientFactory(department=other_department, name="Other Department Patient")
    planned(elsewhere, at(local_day(0), 10), "Elsewhere")

    page = start_page(anesthetist_browser)

    assert page.index("Tonight&#x27;s laparotomy") < page.index("Tomorrow&#x27;s thymectomy")
    assert f"<caption>Today, {local_day(0):%-d %b %Y}</caption>" in page
    assert f"<caption>Tomorrow, {local_day(1):%-d %b %Y}</caption>" in page
    assert "<td>23:30</td>" in page
    assert "MRN MRN-S1" in page
    for absent in ("Yesterday", "A week away", "Other Department Patient"):
        assert absent not in page


def test_an_amended_assessment_is_listed_once_as_its_amendment(
    anesthetist_browser, department, anesthetist
):
    patient = PatientFactory(department=department)
    original = planned(patient, at(local_day(1), 8), "Sternotomy", user=anesthetist)
    actor = Actor.from_user(anesthetist)
    signed = assessment_sign(actor=actor, assessment=original)
    amendment = assessment_amend(actor=actor, assessment=signed, reason="New labs.")

    page = start_page(anesthetist_browser)

    assert page.count("Sternotomy") == 2  # the planned list once, and my drafts once
    assert f'href="/assessments/{amendment.pk}/">' in page
    assert f'href="/assessments/{original.pk}/">' not in page


def test_my_drafts_are_mine_and_unsigned(anesthetist_browser, department, anesthetist):
    patient = PatientFactory(department=department, name="Draft Patient")
    mine = planned(patient, at(local_day(20), 8), "My draft", user=anesthetist)
    colleague = MembershipFactory(
        user=UserFactory(username="dr-colleague"), department=department
    ).user
    planned(patient, at(local_day(20), 9), "A colleague's draft", user=colleague)
    signed = planned(patient, at(local_day(20), 10), "My signed one", user=anesthetist)
    assessment_sign(actor=Actor.from_user(anesthetist), assessment=signed)

    page = start_page(anesthetist_browser)

    drafts = page[page.index("My drafts") : page.index("Patients you opened recently")]
    assert f'href="/assessments/{mine.pk}/">Draft Patient: My draft</a>' in drafts
    assert "colleague" not in drafts
    assert "My signed one" not in drafts


def test_the_patients_i_opened_recently_come_from_my_reads_latest_first(
    anesthetist_browser, department, other_department, anesthetist
):
    first = PatientFactory(department=department, name="Opened First")
    second = PatientFactory(department=department, name="Opened Second")
    not_opened = PatientFactory(department=department, name="Never Opened")
    anesthetist_browser.get(f"/patients/{first.pk}/")
    anesthetist_browser.get(f"/patients/{second.pk}/")
    # A colleague's reads are theirs, not mine.
    colleague = MembershipFactory(
        user=UserFactory(username="dr-colleague"), department=department
    ).user
    other = anesthetist_browser.__class__()
    other.force_login(colleague)
    other.get(f"/patients/{not_opened.pk}/")

    page = start_page(anesthetist_browser)

    recent = page[page.index("Patients you opened recently") :]
    assert recent.index("Opened Second") < recent.index("Opened First")
    assert "Never Opened" not in recent


def test_the_patients_i_opened_recently_are_latest_first_in_a_ledger_in_lanes(
    anesthetist_browser, department, audit_lane
):
    """Lane 2's events are numbered above lane 0's whenever they were recorded: the order is
    the time of the reads."""
    first = PatientFactory(department=department, name="Opened First")
    second = PatientFactory(department=department, name="Opened Second")
    audit_lane(2)
    anesthetist_browser.get(f"/patients/{first.pk}/")
    audit_lane(0)
    anesthetist_browser.get(f"/patients/{second.pk}/")

    page = start_page(anesthetist_browser)

    recent = page[page.index("Patients you opened recently") :]
    assert recent.index("Opened Second") < recent.index("Opened First")


def test_the_start_page_audits_the_patients_it_names(anesthetist_browser, department):
    patient = PatientFactory(department=department)
    assessment = planned(patient, at(local_day(1), 8), "Listed")

    start_page(anesthetist_browser)

    (event,) = [e for e in events("query") if '"page":"start"' in e.payload]
    assert f'"patient_ids":[{patient.pk}]' in event.payload
    assert f'"resource_ids":[{assessment.pk}]' in event.payload


def test_an_empty_start_page_says_so_and_offers_the_search(anesthetist_browser):
    page = start_page(anesthetist_browser)

    assert "No assessment is planned in this department today or in the next 7 days." in page
    assert "You have no unsigned draft in this department." in page
    assert 'action="/patients/" role="search"' in page
    assert not [e for e in events("query") if '"page":"start"' in e.payload]


def test_head_on_the_start_page_is_answered(client, anesthetist_browser):
    assert client.head("/").status_code == 302  # to the login page
    assert anesthetist_browser.head("/").status_code == 200


def test_the_start_page_costs_the_same_for_1_and_many_rows(
    anesthetist_browser, department, anesthetist, django_assert_num_queries
):
    # the workplace, the planned assessments with patients and signers, my drafts with their
    # patients, the patients I read (one grouped query), those patients, then the audit
    # append of the query
    expected = WORKPLACE_QUERIES + 4 + audit_append_queries()
    for rows in (1, 10):
        for n in range(rows):
            patient = PatientFactory(department=department)
            planned(patient, at(local_day(n % 7), 12), f"Row {n}", user=anesthetist)
            anesthetist_browser.get(f"/patients/{patient.pk}/")
        with django_assert_num_queries(expected):
            page = start_page(anesthetist_browser)
        assert "Row 0" in page
    assert Assessment.objects.count() == 11
