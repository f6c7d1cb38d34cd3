"""Recording a patient's conditions, medications and receptor state: nothing is ever lost,
and every change lands in the ledger in the same transaction."""

import datetime as dt
import json

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from periop.api import ConflictError, DomainError
from periop.assessments import services
from periop.assessments.models import (
    Patient,
    PatientCondition,
    PatientMedication,
    PatientReceptorState,
)
from periop.assessments.selectors import (
    patient_condition_history,
    patient_conditions,
    patient_medications,
    patient_receptor_state_active,
    patient_state_for,
)
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from tests.conftest import nothing_changes
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(anesthetist):
    return Actor.from_user(anesthetist)


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


def last_event():
    return AuditEvent.objects.order_by("-sequence").first()


# --- patients ------------------------------------------------------------------------------


def test_registering_a_patient_is_audited_as_a_create(actor, department):
    patient = services.patient_create(
        actor=actor,
        department=department,
        mrn=" MRN-1 ",
        name="Ada Lovelace",
        birth_date=dt.date(1985, 12, 10),
        sex="female",
    )

    assert patient.mrn == "MRN-1"
    event = last_event()
    assert (event.action, event.resource_type, event.resource_id) == (
        "create",
        "patient",
        str(patient.pk),
    )
    assert event.patient_id == patient.pk
    assert event.department_id == department.pk
    # The ledger points at the patient; it does not copy the name.
    assert "Ada" not in event.payload


def test_a_second_patient_with_the_same_mrn_is_refused(actor, department):
    PatientFactory(mrn="MRN-1", department=department)

    with pytest.raises(DomainError) as error:
        services.patient_create(
            actor=actor,
            department=department,
            mrn="MRN-1",
            name="B",
            birth_date=dt.date(1990, 1, 1),
        )

    assert error.value.field == "mrn"
    assert Patient.objects.count() == 1


def test_a_birth_date_in_the_future_is_refused(actor, department):
    with pytest.raises(DomainError) as error:
        services.patient_create(
            actor=actor,
            department=department,
            mrn="MRN-2",
            name="B",
            birth_date=timezone.now().date() + dt.timedelta(days=2),
        )

    assert error.value.field == "birth_date"
    assert "is in the future" in error.value.message


# --- conditions ----------------------------------------------------------------------------


def test_a_date_onset_stays_a_date_and_an_instant_stays_an_instant(actor, patient):
    onset_instant = dt.datetime(2026, 1, 12, 14, 0, tzinfo=dt.UTC)

    by_date = services.patient_condition_record(
        actor=actor, patient=patient, code="myasthenia-gravis", onset=dt.date(2020, 5, 1)
    )
    by_instant = services.patient_condition_record(
        actor=actor, patient=patient, code="stroke", onset=onset_instant
    )

    by_date.refresh_from_db()
    by_instant.refresh_from_db()
    assert (by_date.onset_date, by_date.onset_at) == (dt.date(2020, 5, 1), None)
    assert (by_instant.onset_date, by_instant.onset_at) == (None, onset_instant)
    state = patient_state_for(patient=patient, at=timezone.now()).state
    assert [condition.onset for condition in state.conditions] == [
        dt.date(2020, 5, 1),
        onset_instant,
    ]
    assert type(state.conditions[0].onset) is dt.date


def test_recording_a_condition_is_audited_with_the_time_the_data_refers_to(actor, patient):
    condition = services.patient_condition_record(
        actor=actor,
        patient=patient,
        code="burn",
        onset=dt.datetime(2026, 1, 12, 14, 0, tzinfo=dt.UTC),
        attributes={"tbsa_percent": 32.5},
    )

    event = last_event()
    assert (event.action, event.resource_type, event.resource_id) == (
        "create",
        "patient-condition",
        str(condition.pk),
    )
    assert event.patient_id == patient.pk
    assert event.data_time == dt.datetime(2026, 1, 12, 14, 0, tzinfo=dt.UTC)
    payload = json.loads(event.payload)
    assert payload["code"] == "burn"
    # The ledger takes no floats: the attribute value is kept as text.
    assert payload["attributes"] == {"tbsa_percent": "32.5"}


def test_an_unknown_condition_code_is_refused(actor, patient):
    with pytest.raises(DomainError) as error:
        services.patient_condition_record(actor=actor, patient=patient, code="flu")

    assert error.value.field == "code"
    assert "Unknown condition code 'flu'" in error.value.message


def test_an_onset_in_the_future_is_refused(actor, patient):
    tomorrow = timezone.now() + dt.timedelta(days=1)

    with pytest.raises(DomainError) as error:
        services.patient_condition_record(actor=actor, patient=patient, code="burn", onset=tomorrow)

    assert error.value.field == "onset"
    assert not PatientCondition.objects.exists()


def test_a_correction_keeps_the_old_version_and_links_both_ways(actor, patient):
    original = services.patient_condition_record(
        actor=actor, patient=patient, code="burn", onset=dt.date(2026, 1, 1)
    )

    corrected = services.patient_condition_correct(
        actor=actor,
        condition=original,
        code="burn",
        onset=dt.date(2026, 1, 3),
        resolved=None,
        attributes={"tbsa_percent": 20},
        reason="Date taken from the burns unit letter.",
    )

    original.refresh_from_db()
    assert original.onset == dt.date(2026, 1, 1)
    assert original.replaced_by_id == corrected.pk
    assert corrected.replaces_id == original.pk
    assert (original.version, corrected.version) == (1, 2)
    assert list(patient_conditions(patient=patient)) == [corrected]
    assert list(patient_condition_history(condition=corrected)) == [original, corrected]
    assert list(patient_condition_history(condition=original)) == [original, corrected]
    event = last_event()
    payload = json.loads(event.payload)
    assert event.action == "update"
    assert payload["replaces"] == original.pk
    assert payload["before"]["onset"] == "2026-01-01"
    assert payload["onset"] == "2026-01-03"
    assert payload["reason"] == "Date taken from the burns unit letter."


def test_a_replaced_version_cannot_be_corrected_or_removed(actor, patient):
    original = services.patient_condition_record(actor=actor, patient=patient, code="stroke")
    services.patient_condition_correct(
        actor=actor,
        condition=original,
        code="stroke",
        onset=None,
        resolved=None,
        attributes={},
        reason="Typo.",
    )

    with pytest.raises(ConflictError, match="change the current version"):
        services.patient_condition_correct(
            actor=actor, condition=original, code="stroke", onset=None, resolved=None, attributes={}
        )
    with pytest.raises(ConflictError):
        services.patient_condition_remove(actor=actor, condition=original)


def test_a_removal_keeps_the_row_with_who_when_and_why(actor, anesthetist, patient):
    condition = services.patient_condition_record(actor=actor, patient=patient, code="sepsis")

    services.patient_condition_remove(actor=actor, condition=condition, reason="Wrong patient.")

    condition.refresh_from_db()
    assert condition.removed_at is not None
    assert condition.removed_by == anesthetist
    assert condition.removal_reason == "Wrong patient."
    assert list(patient_conditions(patient=patient)) == []
    assert list(patient_conditions(patient=patient, include_inactive=True)) == [condition]
    assert patient_state_for(patient=patient, at=timezone.now()).state.conditions == ()
    event = last_event()
    assert (event.action, event.resource_id) == ("delete", str(condition.pk))
    assert json.loads(event.payload)["reason"] == "Wrong patient."


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_removal_or_a_correction_without_a_reason_is_refused_and_changes_nothing(
    actor, patient, reason
):
    condition = services.patient_condition_record(actor=actor, patient=patient, code="sepsis")
    medication = services.patient_medication_record(
        actor=actor, patient=patient, code="pyridostigmine"
    )

    with nothing_changes():
        with pytest.raises(DomainError, match="Give the reason for removing") as removal:
            services.patient_condition_remove(actor=actor, condition=condition, reason=reason)
        with pytest.raises(DomainError, match="Give the reason for removing") as stop:
            services.patient_medication_remove(actor=actor, medication=medication, reason=reason)
        with pytest.raises(DomainError, match="Give the reason for the correction") as fix:
            services.patient_condition_correct(
                actor=actor,
                condition=condition,
                code="sepsis",
                onset=None,
                resolved=None,
                attributes={},
                reason=reason,
            )

    assert removal.value.field == stop.value.field == fix.value.field == "reason"


def test_a_removed_condition_cannot_be_removed_again(actor, patient):
    condition = services.patient_condition_record(actor=actor, patient=patient, code="sepsis")
    services.patient_condition_remove(actor=actor, condition=condition, reason="Duplicate.")

    with pytest.raises(ConflictError, match="was removed"):
        services.patient_condition_remove(actor=actor, condition=condition)


def test_the_database_refuses_an_onset_that_is_both_a_date_and_an_instant(patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        PatientCondition.objects.create(
            patient=patient,
            code="burn",
            onset_date=dt.date(2026, 1, 1),
            onset_at=dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC),
        )


# --- medications ---------------------------------------------------------------------------


def test_a_medication_is_recorded_and_removed_without_losing_it(actor, patient):
    medication = services.patient_medication_record(
        actor=actor, patient=patient, code="pyridostigmine", started=dt.date(2024, 5, 3)
    )
    assert last_event().resource_type == "patient-medication"

    services.patient_medication_remove(actor=actor, medication=medication, reason="Stopped.")

    medication.refresh_from_db()
    assert medication.removed_at is not None
    assert list(patient_medications(patient=patient)) == []
    assert list(patient_medications(patient=patient, include_inactive=True)) == [medication]
    assert last_event().action == "delete"
    with pytest.raises(ConflictError):
        services.patient_medication_remove(actor=actor, medication=medication)


def test_an_unknown_medication_code_is_refused(actor, patient):
    with pytest.raises(DomainError) as error:
        services.patient_medication_record(actor=actor, patient=patient, code="aspirin")

    assert error.value.field == "code"
    assert not PatientMedication.objects.exists()


# --- receptor state ------------------------------------------------------------------------


def test_a_recorded_receptor_state_overrides_until_cleared(actor, patient):
    services.patient_receptor_state_record(
        actor=actor, patient=patient, value="up", reason="Prolonged immobility at home."
    )
    assert patient_state_for(patient=patient, at=timezone.now()).state.receptor_state_override == (
        "up"
    )

    services.patient_receptor_state_clear(actor=actor, patient=patient)

    assert patient_state_for(patient=patient, at=timezone.now()).state.receptor_state_override is (
        None
    )
    assert patient_receptor_state_active(patient=patient) is None
    assert PatientReceptorState.objects.count() == 1


def test_recording_a_new_receptor_state_clears_the_one_in_force(actor, patient):
    first = services.patient_receptor_state_record(
        actor=actor, patient=patient, value="up", reason="Immobility."
    )
    second = services.patient_receptor_state_record(
        actor=actor, patient=patient, value="down", reason="Second opinion."
    )

    first.refresh_from_db()
    assert first.cleared_at is not None
    assert patient_receptor_state_active(patient=patient) == second
    assert last_event().action == "update"


def test_a_receptor_state_needs_a_reason(actor, patient):
    with pytest.raises(DomainError) as error:
        services.patient_receptor_state_record(actor=actor, patient=patient, value="up", reason=" ")

    assert error.value.field == "reason"


def test_the_database_allows_one_receptor_state_in_force_per_patient(patient):
    PatientReceptorState.objects.create(patient=patient, value="up", reason="A")

    with pytest.raises(IntegrityError), transaction.atomic():
        PatientReceptorState.objects.create(patient=patient, value="down", reason="B")


def test_clearing_without_a_recorded_receptor_state_is_a_conflict(actor, patient):
    with pytest.raises(ConflictError, match="No receptor state"):
        services.patient_receptor_state_clear(actor=actor, patient=patient)


# --- atomicity -----------------------------------------------------------------------------


def test_a_failure_after_the_audit_append_leaves_neither_the_condition_nor_its_event(
    actor, patient, monkeypatch
):
    from periop.assessments.services import records

    real_append = records.audit_event_append

    def append_then_fail(**kwargs):
        real_append(**kwargs)
        raise RuntimeError("the service failed after writing")

    monkeypatch.setattr(records, "audit_event_append", append_then_fail)
    events_before = AuditEvent.objects.count()

    with pytest.raises(RuntimeError):
        services.patient_condition_record(actor=actor, patient=patient, code="burn")

    assert not PatientCondition.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_a_failed_correction_leaves_the_old_version_current(actor, patient, monkeypatch):
    from periop.assessments.services import records

    condition = services.patient_condition_record(actor=actor, patient=patient, code="burn")

    def fail(**kwargs):
        raise RuntimeError("the ledger is unavailable")

    monkeypatch.setattr(records, "audit_event_append", fail)

    with pytest.raises(RuntimeError):
        services.patient_condition_correct(
            actor=actor,
            condition=condition,
            code="stroke",
            onset=None,
            resolved=None,
            attributes={},
            reason="Misdiagnosed.",
        )

    assert list(patient_conditions(patient=patient, include_inactive=True)) == [condition]
    condition.refresh_from_db()
    assert condition.replaced_by_id is None
