"""Registering patients, recording reads of patient data, and pharmacy checks by patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from periop.accounts.models import Department
from periop.api import DomainError
from periop.assessments.models import Patient, PatientCondition, Sex
from periop.assessments.selectors import patient_condition_history, patient_state_for
from periop.assessments.services.common import (
    CATEGORY_CHECK,
    CATEGORY_CONDITION,
    CATEGORY_DEMOGRAPHICS,
    evaluate_recorded,
)
from periop.assessments.services.plausibility import patient_weight_warnings
from periop.assessments.services.snapshots import canonical_json, digest, inputs_to_dict
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine.tuning import evaluation_tune
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.registry import knowledge_base_for_digest
from periop.drugs.tunings import department_tunings

OLDEST_AGE_YEARS = 130


def patient_create(
    *,
    actor: Actor,
    department: Department,
    mrn: str,
    name: str,
    birth_date: dt.date,
    sex: str = Sex.UNKNOWN,
) -> Patient:
    """Registers a patient in `department`; the MRN must be new in that department.

    Another department's patients are never consulted, so the answer does not reveal whether
    an MRN is registered elsewhere.
    """
    mrn, name = mrn.strip(), name.strip()
    if not mrn:
        raise DomainError("Give the medical record number.", field="mrn")
    if not name:
        raise DomainError("Give the patient's name.", field="name")
    if sex not in Sex.values:
        raise DomainError(f"Unknown sex '{sex}'. Choose from {', '.join(Sex.values)}.", field="sex")
    today = timezone.now().date()
    if birth_date > today:
        raise DomainError(
            f"Birth date ({birth_date.isoformat()}) is in the future.", field="birth_date"
        )
    if today.year - birth_date.year > OLDEST_AGE_YEARS:
        raise DomainError(
            f"Birth date ({birth_date.isoformat()}) is more than {OLDEST_AGE_YEARS} years ago.",
            field="birth_date",
        )
    duplicate = DomainError(
        f"A patient with MRN '{mrn}' is already registered in this department.", field="mrn"
    )
    if Patient.objects.filter(department=department, mrn=mrn).exists():
        raise duplicate
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                department=department,
                mrn=mrn,
                name=name,
                birth_date=birth_date,
                sex=sex,
                created_by_id=actor.user_id,
                created_at=timezone.now(),
            )
            audit_event_append(
                actor=actor,
                action=Action.CREATE,
                resource_type="patient",
                resource_id=patient.pk,
                data_category=CATEGORY_DEMOGRAPHICS,
                patient_id=patient.pk,
                department_id=department.pk,
                payload={"fields": ["mrn", "name", "birth_date", "sex"]},
            )
    except IntegrityError:
        # Another request registered the same MRN between the check and the insert.
        raise duplicate from None
    return patient


def patient_data_read(
    *,
    actor: Actor,
    patient: Patient,
    resource_type: str,
    resource_id: str | int = "",
    data_category: str,
    department_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Records that `actor` saw this patient's data (ASTM E2147 7.1.8 access). The department
    is the patient's unless the data belongs to another (an assessment's)."""
    audit_event_append(
        actor=actor,
        action=Action.READ,
        resource_type=resource_type,
        resource_id=resource_id or patient.pk,
        data_category=data_category,
        patient_id=patient.pk,
        department_id=department_id or patient.department_id,
        payload=payload,
    )


def patient_condition_history_read(
    *, actor: Actor, patient: Patient, condition: PatientCondition
) -> list[PatientCondition]:
    """Every version of the condition, oldest first, recorded as a read naming each one shown
    (for the REST history and the history page alike)."""
    versions = list(patient_condition_history(condition=condition))
    patient_data_read(
        actor=actor,
        patient=patient,
        resource_type="patient-condition",
        resource_id=condition.pk,
        data_category=CATEGORY_CONDITION,
        payload={"condition_ids": [row.pk for row in versions]},
    )
    return versions


@dataclass(frozen=True, slots=True)
class ShownRow:
    """One row of a list as shown: the department it belongs to, its patient and, for lists
    of other records, the record's id."""

    department_id: int
    patient_id: int
    resource_id: int | None = None


def patient_data_query(
    *,
    actor: Actor,
    resource_type: str,
    data_category: str,
    rows: Sequence[ShownRow],
    searched_department_ids: Iterable[int],
    filters: dict[str, Any],
) -> None:
    """Records a list read: one event per department searched (or shown), each naming only
    that department's patients, whatever the page size.

    An event carries its department, so each department's auditors see what was searched and
    shown there, and nothing of another department's patients or searches.
    """
    searched = sorted({*searched_department_ids, *(row.department_id for row in rows)})
    # A superuser searches no department in particular: with nothing shown, one event
    # without a department (which only administrators of the whole system see).
    department_ids: list[int | None] = [*searched] or [None]
    for department_id in department_ids:
        shown = [row for row in rows if row.department_id == department_id]
        unique_patients = sorted({row.patient_id for row in shown})
        audit_event_append(
            actor=actor,
            action=Action.QUERY,
            resource_type=resource_type,
            data_category=data_category,
            patient_id=unique_patients[0] if len(unique_patients) == 1 else None,
            department_id=department_id,
            payload={
                "filters": {key: str(value) for key, value in filters.items()},
                "patient_ids": unique_patients,
                "resource_ids": [row.resource_id for row in shown if row.resource_id is not None],
            },
        )


def patient_check_run(
    *,
    actor: Actor,
    patient: Patient,
    drugs: Sequence[str],
    at: dt.datetime,
    weight_kg: Decimal | None = None,
) -> dict[str, Any]:
    """The pharmacy check against the patient's record: current conditions, medications and
    recorded receptor state, with the tunings in force in the patient's department applied.
    Audited as a read of that patient, with the levels shown. The check's response body."""
    recorded = patient_state_for(patient=patient, at=at, weight_kg=weight_kg)
    evaluation = evaluate_recorded(recorded=recorded, drugs=drugs, at=at, time_field="at")
    body = evaluation_tune(
        evaluation_to_dict(evaluation), department_tunings(patient.department_id)
    )
    # The same warning as an assessment's for a weight implausible for the age (never a
    # block), on the growth chart of the release the check was evaluated on.
    body["warnings"] = (
        patient_weight_warnings(
            patient=patient,
            at=at,
            weight_kg=weight_kg,
            kb=knowledge_base_for_digest(evaluation.knowledge_base_digest),
        )
        if weight_kg is not None
        else []
    )
    inputs = canonical_json(inputs_to_dict(recorded=recorded, drugs=drugs, at=at))
    with transaction.atomic():
        audit_event_append(
            actor=actor,
            action=Action.READ,
            resource_type="patient",
            resource_id=patient.pk,
            data_category=CATEGORY_CHECK,
            patient_id=patient.pk,
            department_id=patient.department_id,
            data_time=at,
            payload={
                "check": "patient",
                "inputs_digest": digest(inputs),
                "condition_ids": [row.pk for row in recorded.conditions],
                "medication_ids": [row.pk for row in recorded.medications],
                "receptor_state_id": recorded.receptor_state.pk
                if recorded.receptor_state
                else None,
                "knowledge_base": {
                    "version": evaluation.knowledge_base_version,
                    "digest": evaluation.knowledge_base_digest,
                },
                "cautions": {caution["drug"]: caution["level"] for caution in body["cautions"]},
                **({"tunings": body["tunings"]} if "tunings" in body else {}),
            },
        )
    return body
