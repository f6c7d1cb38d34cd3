"""Reads of patients and assessments, scoped to the departments the caller may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import Http404

from periop.accounts.models import Department, Membership
from periop.accounts.permissions import (
    AnyUser,
    get_scoped_object_or_404,
    scope_to_departments,
    user_department_ids,
)
from periop.api import DomainError
from periop.assessments.models import (
    Acknowledgement,
    Assessment,
    Patient,
    PatientCondition,
    PatientMedication,
    PatientReceptorState,
)
from periop.drugs.engine import ConditionInput, MedicationInput, PatientState, ReceptorState
from periop.drugs.services import receptor_state_derive

# --- access ----------------------------------------------------------------------------------


def user_holds_role_in(user: AnyUser, department_id: int, roles: Iterable[str]) -> bool:
    """True for a superuser, or for a user with one of `roles` in that department."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(
        user_id=user.pk or 0, department_id=department_id, role__in=list(roles)
    ).exists()


def department_for_writing(
    *, user: AnyUser, department_id: int | None, roles: Iterable[str]
) -> Department:
    """The department a new record belongs to: the one given, or the user's only department
    with one of `roles`. The same message for a department that does not exist and one the
    user may not write to, so no department's existence leaks."""
    if getattr(user, "is_superuser", False):
        if department_id is None:
            raise DomainError("Choose the department.", field="department")
        department = Department.objects.filter(pk=department_id).first()
        if department is None:
            raise DomainError(f"Unknown department {department_id}.", field="department")
        return department
    allowed = user_department_ids(user, roles)
    if department_id is None:
        if len(allowed) == 1:
            return Department.objects.get(pk=next(iter(allowed)))
        raise DomainError(
            "You work in several departments: choose the department.", field="department"
        )
    if department_id not in allowed:
        raise DomainError(
            f"You cannot record patients or assessments in department {department_id}.",
            field="department",
        )
    return Department.objects.get(pk=department_id)


# --- patients ----------------------------------------------------------------------------------


def patients_visible_to(user: AnyUser) -> QuerySet[Patient]:
    """Patients registered in a department where the user holds any role."""
    return scope_to_departments(Patient.objects.all(), user)


def departments_searched(user: AnyUser) -> set[int]:
    """The departments a list of patient data searches for this user: every department where
    they hold a role (none in particular for a superuser, who sees every department)."""
    if getattr(user, "is_superuser", False):
        return set()
    return user_department_ids(user)


def patient_list(*, user: AnyUser, query: str | None = None) -> QuerySet[Patient]:
    """Visible patients, optionally searched by MRN (exact or prefix) or name (contains)."""
    patients = patients_visible_to(user).select_related("created_by")
    if query:
        patients = patients.filter(
            Q(mrn__iexact=query) | Q(mrn__istartswith=query) | Q(name__icontains=query)
        )
    return patients.order_by("name", "id")


def patient_get(*, user: AnyUser, patient_id: int) -> Patient:
    """The patient, or 404 when unknown or registered in a department the user cannot see."""
    return get_scoped_object_or_404(
        Patient.objects.select_related("department", "created_by"), user, pk=patient_id
    )


def patient_conditions(
    *, patient: Patient, include_inactive: bool = False
) -> QuerySet[PatientCondition]:
    """The patient's current conditions; every version too when `include_inactive`."""
    conditions = PatientCondition.objects.filter(patient=patient).select_related(
        "recorded_by", "removed_by"
    )
    if not include_inactive:
        conditions = conditions.filter(replaced_by__isnull=True, removed_at__isnull=True)
    return conditions.order_by("recorded_at", "id")


def patient_conditions_ongoing(*, patient: Patient, code: str) -> list[PatientCondition]:
    """The patient's current entries of this condition that are not resolved."""
    return list(
        PatientCondition.objects.filter(
            patient=patient,
            code=code,
            replaced_by__isnull=True,
            removed_at__isnull=True,
            resolved_date__isnull=True,
            resolved_at__isnull=True,
        ).order_by("recorded_at", "id")
    )


def patient_condition_get(*, patient: Patient, condition_id: int) -> PatientCondition:
    """One version of one of the patient's conditions, or 404."""
    condition = (
        PatientCondition.objects.filter(patient=patient, pk=condition_id)
        .select_related("recorded_by", "removed_by")
        .first()
    )
    if condition is None:
        raise Http404
    return condition


def patient_condition_history(*, condition: PatientCondition) -> QuerySet[PatientCondition]:
    """Every version of the condition, oldest first: originals, corrections and removals."""
    return (
        PatientCondition.objects.filter(lineage=condition.lineage)
        .select_related("recorded_by", "removed_by")
        .order_by("version", "id")
    )


def patient_medications(
    *, patient: Patient, include_inactive: bool = False
) -> QuerySet[PatientMedication]:
    medications = PatientMedication.objects.filter(patient=patient).select_related(
        "recorded_by", "removed_by"
    )
    if not include_inactive:
        medications = medications.filter(removed_at__isnull=True)
    return medications.order_by("recorded_at", "id")


def patient_medication_get(*, patient: Patient, medication_id: int) -> PatientMedication:
    medication = (
        PatientMedication.objects.filter(patient=patient, pk=medication_id)
        .select_related("recorded_by", "removed_by")
        .first()
    )
    if medication is None:
        raise Http404
    return medication


def patient_receptor_state_active(*, patient: Patient) -> PatientReceptorState | None:
    """The clinician-recorded receptor state in force, if any."""
    return (
        PatientReceptorState.objects.filter(patient=patient, cleared_at__isnull=True)
        .select_related("recorded_by", "cleared_by")
        .first()
    )


def age_in_years(birth_date: dt.date, on: dt.date) -> int | None:
    """Completed years on a day; None before birth."""
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return years if years >= 0 else None


@dataclass(frozen=True, slots=True)
class RecordedState:
    """The engine's PatientState built from the record, with the rows it came from."""

    state: PatientState
    conditions: tuple[PatientCondition, ...]
    medications: tuple[PatientMedication, ...]
    receptor_state: PatientReceptorState | None


def patient_state_for(
    *, patient: Patient, at: dt.datetime, weight_kg: Decimal | None = None
) -> RecordedState:
    """The patient's current recorded conditions, medications and receptor state as the engine
    reads them at `at`. Date-only onsets stay dates, so the engine sees their uncertainty."""
    return recorded_state_build(
        patient=patient,
        conditions=patient_conditions(patient=patient),
        medications=patient_medications(patient=patient),
        receptor_state=patient_receptor_state_active(patient=patient),
        at=at,
        weight_kg=weight_kg,
    )


def recorded_state_build(
    *,
    patient: Patient,
    conditions: Iterable[PatientCondition],
    medications: Iterable[PatientMedication],
    receptor_state: PatientReceptorState | None,
    at: dt.datetime,
    weight_kg: Decimal | None = None,
) -> RecordedState:
    """The engine's PatientState from rows already read (current versions only)."""
    conditions = tuple(conditions)
    medications = tuple(medications)
    state = PatientState(
        conditions=tuple(
            ConditionInput(
                code=condition.code,
                onset=condition.onset,
                resolved=condition.resolved,
                attributes=dict(condition.attributes or {}),
            )
            for condition in conditions
        ),
        medications=tuple(
            MedicationInput(
                code=medication.code, started=medication.started, stopped=medication.stopped
            )
            for medication in medications
        ),
        weight_kg=weight_kg,
        age_years=age_in_years(patient.birth_date, at.astimezone(dt.UTC).date()),
        sex=patient.sex,
        receptor_state_override=receptor_state.value if receptor_state else None,
    )
    return RecordedState(
        state=state,
        conditions=conditions,
        medications=medications,
        receptor_state=receptor_state,
    )


def patient_receptor_state_derive(
    *, recorded: RecordedState, at: dt.datetime
) -> ReceptorState | None:
    """The receptor state the engine derives from the recorded conditions at `at`; None when
    the record cannot be evaluated (for example a condition whose onset is after `at`)."""
    try:
        return receptor_state_derive(state=recorded.state, at=at)
    except DomainError:
        return None


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """What the patient's record page shows: current entries and both receptor states."""

    conditions: tuple[PatientCondition, ...]
    medications: tuple[PatientMedication, ...]
    receptor_state_recorded: PatientReceptorState | None
    receptor_state_derived: ReceptorState | None


def patient_record(*, patient: Patient, at: dt.datetime) -> PatientRecord:
    """The patient's current conditions and medications, the recorded receptor state and the
    one derived from the conditions at `at`."""
    recorded = recorded_state_build(
        patient=patient,
        conditions=patient_conditions(patient=patient),
        medications=patient_medications(patient=patient),
        receptor_state=patient_receptor_state_active(patient=patient),
        at=at,
    )
    return PatientRecord(
        conditions=recorded.conditions,
        medications=recorded.medications,
        receptor_state_recorded=recorded.receptor_state,
        receptor_state_derived=patient_receptor_state_derive(recorded=recorded, at=at),
    )


# --- assessments -----------------------------------------------------------------------------


def assessments_visible_to(user: AnyUser) -> QuerySet[Assessment]:
    """Assessments of departments where the user holds any role."""
    return scope_to_departments(Assessment.objects.all(), user)


def assessment_list(
    *, user: AnyUser, patient_id: int | None = None, status: str | None = None
) -> QuerySet[Assessment]:
    """Visible assessments, newest first, optionally for one patient or in one status."""
    assessments = assessments_visible_to(user).select_related(
        "patient", "created_by", "signed_by", "superseded_by"
    )
    if patient_id is not None:
        assessments = assessments.filter(patient_id=patient_id)
    if status:
        assessments = assessments.filter(status=status)
    return assessments.order_by("-created_at", "-id")


def assessment_get(*, user: AnyUser, assessment_id: int) -> Assessment:
    """The assessment, or 404 when unknown or in a department the user cannot see."""
    return get_scoped_object_or_404(
        Assessment.objects.select_related("patient", "department", "created_by", "signed_by"),
        user,
        pk=assessment_id,
    )


def assessment_patient_id(*, assessment_id: int) -> int:
    """The patient of an assessment the caller has just written to (its view checked access)."""
    return Assessment.objects.values_list("patient_id", flat=True).get(pk=assessment_id)


def assessment_versions(*, assessment: Assessment) -> list[Assessment]:
    """The amendment chain, both ways: the original first, every amendment after it."""
    return list(
        Assessment.objects.filter(lineage=assessment.lineage)
        .select_related("created_by", "signed_by")
        .order_by("created_at", "id")
    )


def assessment_acknowledgements(*, assessment: Assessment) -> list[Acknowledgement]:
    """Every acknowledgement of the assessment, of every revision, oldest first."""
    return list(
        Acknowledgement.objects.filter(assessment=assessment)
        .select_related("acknowledged_by")
        .order_by("acknowledged_at", "id")
    )


# --- the start page ----------------------------------------------------------------------------


def assessments_planned_between(
    *, department: Department, start: dt.datetime, end: dt.datetime, limit: int
) -> list[Assessment]:
    """The department's current assessments planned in [start, end), soonest first: a
    superseded assessment is left out, its amendment stands for it (one query)."""
    return list(
        Assessment.objects.filter(
            department=department,
            planned_at__gte=start,
            planned_at__lt=end,
            superseded_by__isnull=True,
        )
        .select_related("patient", "signed_by")
        .order_by("planned_at", "id")[:limit]
    )


def assessment_drafts_of(*, user: AnyUser, department: Department, limit: int) -> list[Assessment]:
    """The user's unsigned drafts in the department, most recently changed first (one query)."""
    return list(
        Assessment.objects.filter(department=department, created_by_id=user.pk, status="draft")
        .select_related("patient")
        .order_by("-updated_at", "-id")[:limit]
    )


def patients_by_ids(*, department: Department, patient_ids: Iterable[int]) -> list[Patient]:
    """The department's patients among `patient_ids`, in the order given (one query)."""
    order = list(patient_ids)
    found = {p.pk: p for p in Patient.objects.filter(department=department, pk__in=order)}
    return [found[pk] for pk in order if pk in found]


def assessment_last_weight(*, patient: Patient) -> Assessment | None:
    """The patient's most recently recorded assessment, for its weight (one query)."""
    return (
        Assessment.objects.filter(patient=patient)
        .only("weight_kg", "planned_at", "created_at")
        .order_by("-created_at", "-id")
        .first()
    )
