"""Conditions and medications on the patient page: add, correct or resolve, remove."""

import datetime as dt

import pytest
from django.utils import timezone

from periop.assessments.models import PatientCondition, PatientMedication
from tests.conftest import nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory, PatientMedicationFactory
from tests.web.conftest import events

pytestmark = pytest.mark.django_db


def condition_url(patient, suffix="new"):
    return f"/patients/{patient.pk}/conditions/{suffix}"


def test_without_javascript_the_condition_is_chosen_first(anesthetist_browser, patient):
    step_one = anesthetist_browser.get(condition_url(patient))
    step_two = anesthetist_browser.get(condition_url(patient) + "?code=myasthenia-gravis")

    assert "step 1 of 2" in step_one.content.decode()
    assert 'name="attribute_antibody"' not in step_one.content.decode()
    page = step_two.content.decode()
    assert "step 2 of 2" in page
    assert 'name="attribute_antibody"' in page


def test_htmx_loads_only_the_chosen_conditions_attribute_fields(anesthetist_browser, patient):
    response = anesthetist_browser.get(
        condition_url(patient) + "?code=stroke", headers={"HX-Request": "true"}
    )

    page = response.content.decode()
    assert "<html" not in page
    assert 'name="attribute_motor_deficit"' in page
    assert 'name="attribute_antibody"' not in page
    assert 'name="onset_date"' in page
    assert "If not recorded: yes." in page


def test_an_unknown_condition_code_goes_back_to_the_picker(anesthetist_browser, patient):
    response = anesthetist_browser.get(condition_url(patient) + "?code=scurvy")

    assert response.status_code == 400
    assert "Choose a condition from the list." in response.content.decode()


def test_a_condition_is_recorded_with_a_date_onset_and_its_attributes(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        condition_url(patient),
        {
            "code": "myasthenia-gravis",
            "onset_date": "2020-03-01",
            "attribute_antibody": "achr",
            "attribute_in_remission": "false",
        },
    )

    assert response.status_code == 302
    condition = PatientCondition.objects.get()
    assert condition.onset == dt.date(2020, 3, 1)
    assert condition.attributes == {"antibody": "achr", "in_remission": False}
    assert events("create", resource_type="patient-condition")


def test_an_onset_with_a_time_is_an_instant_in_the_departments_time_zone(
    anesthetist_browser, patient
):
    anesthetist_browser.post(
        condition_url(patient),
        {"code": "stroke", "onset_date": "2026-07-01", "onset_time": "14:00"},
    )

    condition = PatientCondition.objects.get()
    # Europe/London is an hour ahead of UTC in July.
    assert condition.onset == dt.datetime(2026, 7, 1, 13, 0, tzinfo=dt.UTC)


def test_condition_errors_are_next_to_their_fields_and_typed_values_kept(
    anesthetist_browser, patient
):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            condition_url(patient),
            {
                "code": "burn",
                "onset_date": future,
                "resolved_time": "10:00",
                "attribute_tbsa_percent": "150",
            },
        )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["resolved_date"] == ["Give the date as well as the time."]
    assert "above the maximum of 100" in errors["attribute_tbsa_percent"][0]
    page = response.content.decode()
    assert 'value="150"' in page
    assert f'value="{future}"' in page
    assert not PatientCondition.objects.exists()


def test_a_future_onset_is_explained_next_to_the_onset(anesthetist_browser, patient):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()

    response = anesthetist_browser.post(
        condition_url(patient), {"code": "stroke", "onset_date": future}
    )

    assert response.context["form"].errors == {
        "onset_date": [f"Onset ({future}) is in the future."]
    }


def test_a_condition_is_resolved_by_a_correction(anesthetist_browser, patient):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})
    form = anesthetist_browser.get(condition_url(patient, f"{condition.pk}/correct"))
    assert f'value="{condition.onset_date.isoformat()}"' in form.content.decode()

    response = anesthetist_browser.post(
        condition_url(patient, f"{condition.pk}/correct"),
        {
            "code": "stroke",
            "onset_date": condition.onset_date.isoformat(),
            "resolved_date": "2020-01-01",
            "reason": "Recovered fully.",
        },
    )

    assert response.status_code == 302
    current = PatientCondition.objects.get(replaced_by__isnull=True)
    assert current.resolved == dt.date(2020, 1, 1)
    assert current.correction_reason == "Recovered fully."


def test_a_replaced_condition_cannot_be_corrected_again(anesthetist_browser, patient):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})
    anesthetist_browser.post(
        condition_url(patient, f"{condition.pk}/correct"),
        {"code": "stroke", "onset_date": "2020-01-01", "reason": "Clinic letter."},
    )

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            condition_url(patient, f"{condition.pk}/correct"),
            {"code": "stroke", "onset_date": "2021-01-01"},
        )

    assert response.status_code == 409
    assert "already corrected or removed" in response.content.decode()


def test_an_old_link_to_correct_a_replaced_condition_opens_its_history(
    anesthetist_browser, patient
):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})
    anesthetist_browser.post(
        condition_url(patient, f"{condition.pk}/correct"),
        {"code": "stroke", "onset_date": "2020-01-01", "reason": "Clinic letter."},
    )

    response = anesthetist_browser.get(condition_url(patient, f"{condition.pk}/correct"))

    assert response.status_code == 302
    assert response["Location"] == condition_url(patient, f"{condition.pk}/history")
    history = anesthetist_browser.get(response["Location"]).content.decode()
    assert "already corrected or removed" in history
    assert "Current" in history


def test_a_condition_is_removed_with_a_reason(anesthetist_browser, patient):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})

    response = anesthetist_browser.post(
        condition_url(patient, f"{condition.pk}/remove"),
        {"reason": "Entered in error."},
        follow=True,
    )

    condition.refresh_from_db()
    assert condition.removed_at is not None
    assert condition.removal_reason == "Entered in error."
    assert "Stroke removed from the record." in response.content.decode()
    with nothing_changes(reads_allowed=True):
        again = anesthetist_browser.post(
            condition_url(patient, f"{condition.pk}/remove"), {"reason": "Again."}
        )
    assert f"Condition {condition.pk} was removed." in again.content.decode()


def test_removing_asks_for_confirmation_and_a_reason_first(anesthetist_browser, patient):
    condition = PatientConditionFactory(patient=patient, code="myasthenia-gravis", attributes={})

    record = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()
    # The patient page only links to the removal; nothing is removed in one click.
    assert f'href="{condition_url(patient, f"{condition.pk}/remove")}"' in record
    assert f'action="{condition_url(patient, f"{condition.pk}/remove")}"' not in record
    confirm = anesthetist_browser.get(condition_url(patient, f"{condition.pk}/remove"))
    assert confirm.status_code == 200
    assert "Remove Myasthenia gravis from the record?" in confirm.content.decode()

    with nothing_changes(reads_allowed=True):
        refused = anesthetist_browser.post(
            condition_url(patient, f"{condition.pk}/remove"), {"reason": " "}
        )

    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "reason": ["Give the reason for removing this condition from the record."]
    }


def test_a_correction_without_a_reason_is_refused_next_to_the_reason(anesthetist_browser, patient):
    condition = PatientConditionFactory(patient=patient, code="stroke", attributes={})

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            condition_url(patient, f"{condition.pk}/correct"),
            {"code": "stroke", "onset_date": "2020-01-01"},
        )

    assert response.status_code == 400
    assert response.context["form"].errors == {"reason": ["Give the reason for the correction."]}


def test_a_medication_is_recorded_and_removed(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/medications/new",
        {"code": "pyridostigmine", "started_date": "2024-05-03"},
    )
    assert response.status_code == 302
    medication = PatientMedication.objects.get()
    assert medication.started == dt.date(2024, 5, 3)

    anesthetist_browser.post(
        f"/patients/{patient.pk}/medications/{medication.pk}/remove", {"reason": "Stopped."}
    )

    medication.refresh_from_db()
    assert medication.removed_at is not None


def test_medication_errors_are_next_to_their_fields(anesthetist_browser, patient):
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            f"/patients/{patient.pk}/medications/new",
            {"code": "snake-oil", "started_date": "not a date"},
        )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Select a valid choice." in errors["code"][0]
    assert errors["started_date"] == ["Enter a valid date."]


def test_an_auditor_cannot_change_the_record(auditor_browser, patient):
    condition = PatientConditionFactory(patient=patient)
    medication = PatientMedicationFactory(patient=patient)

    assert auditor_browser.get(condition_url(patient)).status_code == 403
    with nothing_changes(reads_allowed=True):
        assert auditor_browser.post(condition_url(patient), {"code": "stroke"}).status_code == 403
    with nothing_changes(reads_allowed=True):
        assert (
            auditor_browser.post(condition_url(patient, f"{condition.pk}/remove")).status_code
            == 403
        )
    with nothing_changes(reads_allowed=True):
        assert (
            auditor_browser.post(
                f"/patients/{patient.pk}/medications/{medication.pk}/remove"
            ).status_code
            == 403
        )
    assert (
        "Record a condition" not in auditor_browser.get(f"/patients/{patient.pk}/").content.decode()
    )


def test_records_of_another_departments_patient_are_not_found(
    anesthetist_browser, other_department
):
    elsewhere = PatientFactory(department=other_department)
    condition = PatientConditionFactory(patient=elsewhere)

    assert anesthetist_browser.get(condition_url(elsewhere)).status_code == 404
    with nothing_changes(reads_allowed=True):
        assert (
            anesthetist_browser.post(condition_url(elsewhere, f"{condition.pk}/remove")).status_code
            == 404
        )


def test_a_medication_given_by_a_synonym_is_recorded_as_its_code(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/medications/new",
        {"code": "magnesium-sulphate", "started_date": "2026-11-21"},
    )

    assert response.status_code == 302
    assert PatientMedication.objects.get().code == "magnesium-sulfate"


def test_recording_an_ongoing_condition_again_warns_links_to_it_and_records_nothing(
    anesthetist_browser, patient
):
    existing = PatientConditionFactory(patient=patient, code="myasthenia-gravis", attributes={})

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            condition_url(patient), {"code": "myasthenia-gravis", "onset_date": "2021-04-01"}
        )

    assert response.status_code == 409
    page = response.content.decode()
    assert "Myasthenia gravis is already recorded for this patient" in page
    assert f'href="/patients/{patient.pk}/conditions/{existing.pk}/history"' in page
    # What was typed is kept for the confirmation.
    assert 'value="2021-04-01"' in page


def test_a_confirmed_second_episode_is_recorded(anesthetist_browser, patient):
    PatientConditionFactory(patient=patient, code="stroke", attributes={})

    response = anesthetist_browser.post(
        condition_url(patient),
        {"code": "stroke", "onset_date": "2021-04-01", "duplicate_confirmed": "yes"},
    )

    assert response.status_code == 302
    assert PatientCondition.objects.filter(patient=patient, code="stroke").count() == 2


def test_a_resolved_episode_is_no_duplicate(anesthetist_browser, patient):
    PatientConditionFactory(
        patient=patient, code="stroke", attributes={}, resolved_date=dt.date(2020, 6, 1)
    )

    response = anesthetist_browser.post(
        condition_url(patient), {"code": "stroke", "onset_date": "2021-04-01"}
    )

    assert response.status_code == 302
