"""The history of a recorded condition: every version in order, with who recorded, corrected or
removed it, when and why, the current one marked; a read of patient data, audited."""

import datetime as dt
import json
import zoneinfo

import pytest

from periop.accounts.models import Role
from periop.assessments.models import PatientCondition
from periop.assessments.services import (
    patient_condition_correct,
    patient_condition_record,
    patient_condition_remove,
)
from periop.audit.services import Actor
from periop.web.presenters import time_point_display
from tests.factories import MembershipFactory, PatientConditionFactory, PatientFactory, UserFactory
from tests.web.conftest import events

pytestmark = pytest.mark.django_db


def history_url(condition):
    return f"/patients/{condition.patient_id}/conditions/{condition.pk}/history"


@pytest.fixture
def colleague(department):
    return MembershipFactory(
        user=UserFactory(username="dr-colleague"), department=department, role=Role.ANESTHETIST
    ).user


@pytest.fixture
def corrected(patient, anesthetist, colleague):
    """A burn recorded by one anaesthetist, corrected twice by a colleague: three versions."""
    first = patient_condition_record(
        actor=Actor.from_user(anesthetist),
        patient=patient,
        code="burn",
        onset=dt.date(2026, 1, 10),
        attributes={"tbsa_percent": 20},
    )
    second = patient_condition_correct(
        actor=Actor.from_user(colleague),
        condition=first,
        code="burn",
        onset=dt.date(2026, 1, 9),
        resolved=None,
        attributes={"tbsa_percent": 20},
        reason="The burn happened the evening before admission.",
    )
    patient_condition_correct(
        actor=Actor.from_user(colleague),
        condition=second,
        code="burn",
        onset=dt.date(2026, 1, 9),
        resolved=None,
        attributes={"tbsa_percent": 35},
        reason="Burns unit re-measured the area.",
    )
    return list(PatientCondition.objects.order_by("version"))


def rows(page):
    """The table body's rows, as text, in order."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row.split("</tr>", 1)[0] for row in body.split("<tr")[1:]]


def test_each_condition_on_the_patient_page_links_to_its_history(
    anesthetist_browser, patient, corrected
):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()

    current = corrected[-1]
    assert f'href="{history_url(current)}">History<span class="visually-hidden"> of Burn' in page
    assert "(3 versions)" in page


def test_every_version_is_listed_in_order_with_who_when_and_why(
    anesthetist_browser, patient, corrected
):
    response = anesthetist_browser.get(history_url(corrected[0]))

    assert response.status_code == 200
    first, second, third = rows(response.content.decode())
    zone = zoneinfo.ZoneInfo(patient.department.time_zone)
    assert "Version 1" in first
    assert "10 Jan 2026" in first
    assert "Total body surface area burned: 20 %" in first
    assert "Recorded by dr-anesthetist" in first
    assert time_point_display(corrected[0].recorded_at, zone) in first
    assert 'Replaced by <a href="#version-2">version 2</a>' in first
    assert "Version 2" in second
    assert "09 Jan 2026" in second
    assert "Corrected by dr-colleague" in second
    assert "Reason: The burn happened the evening before admission." in second
    assert 'Replaced by <a href="#version-3">version 3</a>' in second
    assert "Version 3<br><strong>Current</strong>" in third
    assert 'aria-current="true"' in third
    assert "Total body surface area burned: 35 %" in third
    assert "Reason: Burns unit re-measured the area." in third
    assert "Current entry" in third
    assert "aria-current" not in first + second


def test_any_versions_id_opens_the_same_history(anesthetist_browser, corrected):
    oldest = anesthetist_browser.get(history_url(corrected[0])).content.decode()
    newest = anesthetist_browser.get(history_url(corrected[-1])).content.decode()

    assert rows(oldest) == rows(newest)
    assert "Version 3 is the current entry." in newest


def test_a_removed_condition_shows_who_removed_it_when_and_why(
    anesthetist_browser, patient, corrected, anesthetist
):
    removed = patient_condition_remove(
        actor=Actor.from_user(anesthetist), condition=corrected[-1], reason="Entered in error."
    )

    page = anesthetist_browser.get(history_url(removed)).content.decode()

    zone = zoneinfo.ZoneInfo(patient.department.time_zone)
    last = rows(page)[-1]
    assert "Removed by dr-anesthetist" in last
    assert time_point_display(removed.removed_at, zone) in last
    assert "Reason: Entered in error." in last
    assert "Removed from the record: no version is current." in page
    assert "aria-current" not in page
    assert "Correct or resolve" not in page


def test_reading_the_history_is_audited_naming_every_version(
    anesthetist_browser, patient, corrected
):
    anesthetist_browser.get(history_url(corrected[0]))

    (event,) = events("read", resource_type="patient-condition")
    assert event.patient_id == patient.pk
    assert event.resource_id == str(corrected[0].pk)
    assert json.loads(event.payload)["condition_ids"] == [row.pk for row in corrected]


def test_an_auditor_reads_the_history_but_is_offered_no_correction(
    auditor_browser, anesthetist_browser, corrected
):
    response = auditor_browser.get(history_url(corrected[0]))

    assert response.status_code == 200
    assert "Corrected by dr-colleague" in response.content.decode()
    assert "Correct or resolve" not in response.content.decode()
    assert (
        "Correct or resolve" in anesthetist_browser.get(history_url(corrected[0])).content.decode()
    )


def test_the_history_is_read_only(anesthetist_browser, corrected):
    assert anesthetist_browser.post(history_url(corrected[0])).status_code == 405
    assert PatientCondition.objects.count() == 3


def test_another_departments_condition_is_not_found(
    anesthetist_browser, department, other_department
):
    elsewhere = PatientConditionFactory(patient=PatientFactory(department=other_department))
    neighbour = PatientFactory(department=department)
    here = PatientConditionFactory(patient=PatientFactory(department=department))

    assert anesthetist_browser.get(history_url(elsewhere)).status_code == 404
    # Another patient's condition under this patient's address is not found either.
    wrong_patient = f"/patients/{neighbour.pk}/conditions/{here.pk}/history"
    assert anesthetist_browser.get(wrong_patient).status_code == 404
    assert not events("read", resource_type="patient-condition")
