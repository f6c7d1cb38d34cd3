"""The clinician's receptor state: recorded with a reason from the patient page, shown as an
override (who, when, why) rather than derived, used by new assessments, and cleared."""

import re
import zoneinfo

import pytest
from django.test import Client

from periop.assessments.models import Assessment, PatientReceptorState
from periop.assessments.services import patient_receptor_state_record
from periop.audit.services import Actor
from periop.web.presenters import time_point_display
from tests.conftest import nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory
from tests.web.conftest import events, tomorrow_form

pytestmark = pytest.mark.django_db

RADIO = re.compile(r'<input type="radio" name="value" value="(\w+)"[^>]*>')


def record_url(patient):
    return f"/patients/{patient.pk}/receptor-state"


def clear_url(patient):
    return f"/patients/{patient.pk}/receptor-state/clear"


@pytest.fixture
def myasthenic(patient):
    """Myasthenia gravis: the state derived from the record is down-regulated."""
    PatientConditionFactory(patient=patient, code="myasthenia-gravis", attributes={})
    return patient


@pytest.fixture
def overridden(myasthenic, anesthetist):
    patient_receptor_state_record(
        actor=Actor.from_user(anesthetist),
        patient=myasthenic,
        value="mixed",
        reason="Recent denervation the record does not hold.",
    )
    return myasthenic


def test_without_an_override_the_patient_page_says_the_state_is_derived(
    anesthetist_browser, myasthenic
):
    page = anesthetist_browser.get(f"/patients/{myasthenic.pk}/").content.decode()

    assert "<strong>Derived from the conditions</strong>: no clinician override is recorded." in (
        page
    )
    assert "Down-regulated" in page
    assert "Clinician override" not in page
    assert f'href="{record_url(myasthenic)}">Record receptor state</a>' in page
    assert "Clear override" not in page


def test_the_form_offers_exactly_the_four_states_as_one_labelled_group(
    anesthetist_browser, myasthenic
):
    response = anesthetist_browser.get(record_url(myasthenic))

    page = response.content.decode()
    assert response.status_code == 200
    assert RADIO.findall(page) == ["up", "down", "mixed", "normal"]
    assert "<legend>Receptor state to use instead of the derived one" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_clinician_records_a_state_with_a_reason(anesthetist_browser, myasthenic, anesthetist):
    response = anesthetist_browser.post(
        record_url(myasthenic),
        {"value": "up", "reason": "Prolonged immobility on the intensive care unit."},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/patients/{myasthenic.pk}/"
    record = PatientReceptorState.objects.get()
    assert record.value == "up"
    assert record.reason == "Prolonged immobility on the intensive care unit."
    assert record.recorded_by == anesthetist
    (event,) = events("create", resource_type="patient-receptor-state")
    assert event.patient_id == myasthenic.pk


def test_the_patient_page_shows_the_override_with_who_when_and_why(anesthetist_browser, overridden):
    page = anesthetist_browser.get(f"/patients/{overridden.pk}/").content.decode()

    assert "<strong>Clinician override</strong>" in page
    assert (
        "<dt>State in use</dt><dd>Mixed: up- and down-regulating conditions together</dd>" in page
    )
    assert "<dt>Recorded by</dt><dd>dr-anesthetist</dd>" in page
    record = PatientReceptorState.objects.get()
    zone = zoneinfo.ZoneInfo(overridden.department.time_zone)
    assert f"<dt>When</dt><dd>{time_point_display(record.recorded_at, zone)}</dd>" in page
    assert "<dt>Reason</dt><dd>Recent denervation the record does not hold.</dd>" in page
    # The derived state stays visible, marked as not in use.
    assert "Derived from the conditions now (not in use)</dt><dd>Down-regulated" in page
    assert "Derived from the conditions</strong>: no clinician override" not in page
    assert f'href="{clear_url(overridden)}">Clear override</a>' in page
    (event,) = events("read", resource_type="patient")
    assert '"receptor_state_id":' + str(record.pk) in event.payload


def test_errors_are_next_to_their_fields_and_nothing_typed_is_lost(anesthetist_browser, myasthenic):
    with nothing_changes(reads_allowed=True):
        no_state = anesthetist_browser.post(record_url(myasthenic), {"reason": "Thermal injury."})
    with nothing_changes(reads_allowed=True):
        no_reason = anesthetist_browser.post(
            record_url(myasthenic), {"value": "up", "reason": "  "}
        )

    assert no_state.status_code == 400
    assert no_state.context["form"].errors == {"value": ["Choose the receptor state to record."]}
    assert "Thermal injury.</textarea>" in no_state.content.decode()
    assert no_reason.status_code == 400
    assert no_reason.context["form"].errors == {
        "reason": ["Give the reason for recording a receptor state."]
    }
    checked = [
        tag for tag in re.findall(r"<input [^>]*>", no_reason.content.decode()) if "checked" in tag
    ]
    assert len(checked) == 1
    assert 'value="up"' in checked[0]
    assert not PatientReceptorState.objects.exists()


def test_a_state_other_than_the_four_is_refused(anesthetist_browser, myasthenic):
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            record_url(myasthenic), {"value": "sideways", "reason": "Because."}
        )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "value": ["Choose one of the four receptor states listed."]
    }
    assert not PatientReceptorState.objects.exists()


def test_a_reason_over_2000_characters_is_refused_and_kept(anesthetist_browser, myasthenic):
    reason = "x" * 2001

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            record_url(myasthenic), {"value": "up", "reason": reason}
        )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "reason": ["Keep the reason under 2,000 characters."]
    }
    assert reason in response.content.decode()


def test_a_new_state_replaces_the_override_in_force(anesthetist_browser, overridden):
    page = anesthetist_browser.get(record_url(overridden)).content.decode()
    assert "It replaces the override in force." in page

    anesthetist_browser.post(record_url(overridden), {"value": "normal", "reason": "Reviewed."})

    current = PatientReceptorState.objects.get(cleared_at__isnull=True)
    assert current.value == "normal"
    assert PatientReceptorState.objects.count() == 2


def test_clearing_the_override_brings_back_the_derived_state(
    anesthetist_browser, overridden, anesthetist
):
    form = anesthetist_browser.get(clear_url(overridden))
    assert form.status_code == 200
    assert "Mixed: up- and down-regulating conditions together" in form.content.decode()

    response = anesthetist_browser.post(
        clear_url(overridden), {"reason": "Denervation excluded."}, follow=True
    )

    record = PatientReceptorState.objects.get()
    assert record.cleared_by == anesthetist
    assert record.clear_reason == "Denervation excluded."
    page = response.content.decode()
    assert "Override cleared" in page
    assert "<strong>Derived from the conditions</strong>" in page
    (event,) = events("delete", resource_type="patient-receptor-state")
    assert event.patient_id == overridden.pk


def test_clearing_without_an_override_is_a_conflict(anesthetist_browser, myasthenic):
    form = anesthetist_browser.get(clear_url(myasthenic))
    with nothing_changes(reads_allowed=True):
        posted = anesthetist_browser.post(clear_url(myasthenic), {"reason": "Tidy up."})

    assert form.status_code == 409
    assert "No clinician override is recorded" in form.content.decode()
    assert "<button" not in form.content.decode().split("<main", 1)[1]
    assert posted.status_code == 409
    assert "No receptor state is recorded for this patient." in posted.content.decode()


def test_a_clear_reason_over_2000_characters_is_refused(anesthetist_browser, overridden):
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(clear_url(overridden), {"reason": "x" * 2001})

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "reason": ["Keep the reason under 2,000 characters."]
    }
    assert PatientReceptorState.objects.get().cleared_at is None


def test_the_form_page_audits_its_read_of_the_receptor_state(anesthetist_browser, overridden):
    anesthetist_browser.get(record_url(overridden))

    (event,) = events("read", resource_type="patient-receptor-state")
    assert event.patient_id == overridden.pk
    assert event.resource_id == str(PatientReceptorState.objects.get().pk)


def test_new_assessments_use_the_clinicians_state(anesthetist_browser, patient):
    before = anesthetist_browser.post(
        f"/patients/{patient.pk}/assessments/new", tomorrow_form(check="1")
    ).content.decode()
    assert "<strong>Receptor state:</strong> Normal." in before

    anesthetist_browser.post(record_url(patient), {"value": "up", "reason": "Extensive burns."})
    anesthetist_browser.post(f"/patients/{patient.pk}/assessments/new", tomorrow_form())

    assessment = Assessment.objects.get()
    assert assessment.receptor_state == "up"
    assert assessment.receptor_state_overridden
    page = anesthetist_browser.get(f"/assessments/{assessment.pk}/").content.decode()
    assert (
        "<strong>Receptor state:</strong> Up-regulated acetylcholine receptors "
        "(recorded by a clinician)" in page
    )


def test_an_auditor_sees_the_state_but_cannot_change_it(auditor_browser, overridden):
    page = auditor_browser.get(f"/patients/{overridden.pk}/").content.decode()

    assert "<strong>Clinician override</strong>" in page
    assert "Record receptor state" not in page
    assert "Clear override" not in page
    assert auditor_browser.get(record_url(overridden)).status_code == 403
    with nothing_changes(reads_allowed=True):
        assert (
            auditor_browser.post(record_url(overridden), {"value": "up", "reason": "x"}).status_code
            == 403
        )
    with nothing_changes(reads_allowed=True):
        assert auditor_browser.post(clear_url(overridden)).status_code == 403
    assert PatientReceptorState.objects.get().cleared_at is None


def test_another_departments_patient_is_not_found(anesthetist_browser, other_department):
    elsewhere = PatientFactory(department=other_department)

    assert anesthetist_browser.get(record_url(elsewhere)).status_code == 404
    with nothing_changes(reads_allowed=True):
        assert (
            anesthetist_browser.post(
                record_url(elsewhere), {"value": "up", "reason": "x"}
            ).status_code
            == 404
        )
    with nothing_changes(reads_allowed=True):
        assert anesthetist_browser.post(clear_url(elsewhere)).status_code == 404
    assert not PatientReceptorState.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(anesthetist, myasthenic):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(anesthetist)
    browser.get("/patients/")

    with nothing_changes(reads_allowed=True):
        response = browser.post(record_url(myasthenic), {"value": "up", "reason": "Burns."})

    assert response.status_code == 403
    assert not PatientReceptorState.objects.exists()
