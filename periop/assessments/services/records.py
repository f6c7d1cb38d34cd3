"""Recording a patient's conditions, medications and receptor state.

Nothing recorded is ever lost: a correction writes a new version that replaces the old row,
a removal marks the row removed with who, when and why. Each change and its audit event
commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from periop.api import ConflictError, DomainError
from periop.assessments.models import (
    RECEPTOR_STATE_CHOICES,
    Patient,
    PatientCondition,
    PatientMedication,
    PatientReceptorState,
)
from periop.assessments.selectors import patient_conditions_ongoing
from periop.assessments.services.common import (
    CATEGORY_CONDITION,
    CATEGORY_MEDICATION,
    CATEGORY_RECEPTOR_STATE,
    audit_safe,
)
from periop.assessments.time_points import (
    TimePoint,
    split_time_point,
    time_point_start,
    time_point_text,
)
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine import check_condition_attributes
from periop.drugs.registry import get_knowledge_base
from periop.drugs.time_rules import (
    before_birth,
    in_the_future,
    resolved_before_onset,
    stopped_before_started,
)

CATALOGUE_HINT = "See GET /api/v1/knowledge-base."


def _first_problem(checks: list[tuple[str, str | None]]) -> None:
    """Raises the first failed check as a field error."""
    for field, message in checks:
        if message:
            raise DomainError(message, field=field)


def record_times_check(
    *,
    patient: Patient,
    start: TimePoint | None,
    end: TimePoint | None,
    kind: str,
) -> None:
    """The date rules of a recorded condition (onset, resolved) or medication (started,
    stopped), one set for the API and the web forms: these dates drive the cautions. The
    start cannot be in the future nor before birth; the end cannot come before the start nor
    before birth; a condition cannot be resolved in the future (a medication may be planned to
    stop)."""
    now = timezone.now()
    birth = patient.birth_date
    if kind == "condition":
        _first_problem(
            [
                ("onset", in_the_future(start, now, "Onset")),
                ("onset", before_birth(start, birth, "Onset")),
                ("resolved", in_the_future(end, now, "Resolved")),
                ("resolved", before_birth(end, birth, "Resolved")),
                ("resolved", resolved_before_onset(start, end)),
            ]
        )
    else:
        _first_problem(
            [
                ("started", in_the_future(start, now, "Started")),
                ("started", before_birth(start, birth, "Started")),
                ("stopped", before_birth(end, birth, "Stopped")),
                ("stopped", stopped_before_started(start, end)),
            ]
        )


AGO_UNITS = ("days", "hours")
DOSE_TEXT_LIMIT = 200


def time_point_ago(
    *,
    patient: Patient,
    amount: int,
    unit: str,
    time_zone: zoneinfo.ZoneInfo,
    field: str = "onset_ago",
) -> TimePoint:
    """A time given as "N days ago" or "N hours ago", as the record stores it.

    N days ago is that calendar day in the department's time zone, as a date: the whole day,
    time unknown, which the engine reads as a range of instants and takes the most cautious
    reading of (the contract's uncertain input). N hours ago is that instant, to the minute.
    A negative count, or one reaching back before the patient's birth, is refused."""
    if unit not in AGO_UNITS:
        raise DomainError("Choose days or hours.", field=f"{field}_unit")
    if amount < 0:
        raise DomainError(f"Give the number of {unit} ago as 0 or more.", field=field)
    now = timezone.now()
    today = now.astimezone(time_zone).date()
    born = patient.birth_date
    if unit == "days":
        most = (today - born).days
        if amount > most:
            raise DomainError(
                f"{amount} days ago is before the patient's birth on {born:%d %b %Y}: "
                f"at most {most} days.",
                field=field,
            )
        return today - dt.timedelta(days=amount)
    birth_start = dt.datetime.combine(born, dt.time(), tzinfo=time_zone)
    most = int((now - birth_start).total_seconds() // 3600)
    if amount > most:
        raise DomainError(
            f"{amount} hours ago is before the patient's birth on {born:%d %b %Y}: "
            f"at most {most} hours.",
            field=field,
        )
    return (now - dt.timedelta(hours=amount)).replace(second=0, microsecond=0).astimezone(dt.UTC)


def _check_condition(code: str, attributes: Mapping[str, Any]) -> None:
    knowledge_base = get_knowledge_base()
    if code not in knowledge_base.conditions:
        raise DomainError(f"Unknown condition code '{code}'. {CATALOGUE_HINT}", field="code")
    problems = check_condition_attributes(knowledge_base, code, attributes)
    if problems:
        name, message = sorted(problems.items())[0]
        raise DomainError(f"{name}: {message}", field="attributes")


def condition_release_problems(
    code: str, attributes: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """What of a condition the active knowledge-base release does not know: (field, attribute
    name or "", message), field "code" or "attributes"; [] when it knows it all. A release
    activated after the condition was recorded may have renamed its code, or dropped one of
    its attributes or values."""
    knowledge_base = get_knowledge_base()
    release = f"Knowledge-base release {knowledge_base.version}, now active,"
    if code not in knowledge_base.conditions:
        return [("code", "", f"{release} does not know the condition code '{code}'.")]
    return [
        ("attributes", name, f"{release} does not accept {name}: {message}")
        for name, message in sorted(
            check_condition_attributes(knowledge_base, code, attributes).items()
        )
    ]


def condition_release_notices(condition: PatientCondition) -> list[str]:
    """For a recorded condition shown: what of it the active release does not know, with what
    to do; [] when it knows it all. The record shows as recorded either way."""
    if condition.removed_at is not None or condition.replaced_by_id is not None:
        return []
    return [
        f"{message} Correct or remove this entry: checks and new assessments for the patient "
        "are refused until then."
        for _, _, message in condition_release_problems(condition.code, condition.attributes or {})
    ]


def medication_release_notices(medication: PatientMedication) -> list[str]:
    """For a recorded medication shown: a note when the active release does not know its code."""
    knowledge_base = get_knowledge_base()
    if medication.removed_at is not None or medication.code in knowledge_base.drugs:
        return []
    return [
        f"Knowledge-base release {knowledge_base.version}, now active, does not know the drug "
        f"code '{medication.code}'. Remove this entry and record the medication as the release "
        "names it: checks and new assessments for the patient are refused until then."
    ]


def condition_correction_check(
    *, condition: PatientCondition, code: str, attributes: Mapping[str, Any]
) -> None:
    """Refuses (a field error) a correction that keeps what the active release no longer knows
    of the recorded condition (its code, an attribute or a value), naming it and the release:
    the correction must change it. The API and the web forms share it."""
    if code != condition.code:
        return  # another condition: checked as a new one would be
    stored = condition.attributes or {}
    recorded = {(field, name) for field, name, _ in condition_release_problems(code, stored)}
    definition = get_knowledge_base().conditions.get(code)
    for field, name, message in condition_release_problems(code, attributes):
        kept = (field, name) in recorded and (
            field == "code"
            # An attribute the release dropped, whatever its value; else the value recorded.
            or (definition is not None and name not in definition.attributes)
            or stored.get(name) == attributes.get(name)
        )
        if kept:
            raise DomainError(
                f"{message} It is recorded on this entry: correct it to what the release "
                "accepts, or remove the entry.",
                field=field,
            )


def _condition_fields(
    *,
    patient: Patient,
    code: str,
    onset: TimePoint | None,
    resolved: TimePoint | None,
    attributes: Mapping[str, Any],
) -> dict[str, Any]:
    """The checked columns of a new condition version; raises DomainError."""
    attributes = dict(attributes)
    _check_condition(code, attributes)
    record_times_check(patient=patient, start=onset, end=resolved, kind="condition")
    onset_date, onset_at = split_time_point(onset)
    resolved_date, resolved_at = split_time_point(resolved)
    return {
        "code": code,
        "onset_date": onset_date,
        "onset_at": onset_at,
        "resolved_date": resolved_date,
        "resolved_at": resolved_at,
        "attributes": attributes,
    }


def _condition_payload(condition: PatientCondition) -> dict[str, Any]:
    return {
        "code": condition.code,
        "onset": time_point_text(condition.onset),
        "resolved": time_point_text(condition.resolved),
        "attributes": audit_safe(condition.attributes or {}),
        "version": condition.version,
    }


def _refuse_removed(record: PatientCondition | PatientMedication, kind: str) -> None:
    if record.removed_at is not None:
        raise ConflictError(f"{kind} {record.pk} was removed.", code="removed")


def _lock_current_condition(condition: PatientCondition) -> PatientCondition:
    locked = PatientCondition.objects.select_for_update().get(pk=condition.pk)
    if locked.replaced_by_id is not None:
        raise ConflictError(
            f"Condition {locked.pk} was corrected by version {locked.replaced_by_id}; "
            "change the current version.",
            code="not-current",
        )
    _refuse_removed(locked, "Condition")
    return locked


def _required_reason(reason: str, what: str) -> str:
    """A removal or a correction changes what the cautions rest on: it always says why."""
    reason = reason.strip()
    if not reason:
        raise DomainError(f"Give the reason for {what}.", field="reason")
    return reason


def _mark_removed(
    *,
    actor: Actor,
    record: PatientCondition | PatientMedication,
    reason: str,
    resource_type: str,
    data_category: str,
    payload: dict[str, Any],
) -> None:
    """Marks a locked, current record removed and appends its audit event, with the reason."""
    record.removed_at = timezone.now()
    record.removed_by_id = actor.user_id
    record.removal_reason = reason.strip()
    record.save(update_fields=["removed_at", "removed_by", "removal_reason"])
    patient = record.patient
    audit_event_append(
        actor=actor,
        action=Action.DELETE,
        resource_type=resource_type,
        resource_id=record.pk,
        data_category=data_category,
        patient_id=patient.pk,
        department_id=patient.department_id,
        payload={**payload, "reason": record.removal_reason},
    )


class DuplicateConditionError(ConflictError):
    """The condition is already recorded, ongoing: a second entry is usually a mistake."""

    def __init__(self, message: str, *, duplicates: Sequence[PatientCondition]) -> None:
        super().__init__(message, code="duplicate-condition")
        self.duplicates = list(duplicates)

    def as_payload(self) -> dict[str, Any]:
        return {
            **super().as_payload(),
            "existing": [
                {"id": row.pk, "onset": time_point_text(row.onset)} for row in self.duplicates
            ],
        }


def _refuse_unconfirmed_duplicate(*, patient: Patient, code: str) -> None:
    """Recording a condition the patient already has, ongoing (neither resolved, corrected
    nor removed), needs the clinician's confirmation that this is another episode: the web
    form's checkbox, the API's `duplicate_confirmed`."""
    ongoing = patient_conditions_ongoing(patient=patient, code=code)
    if not ongoing:
        return
    name = get_knowledge_base().conditions[code].name
    entries = "; ".join(
        f"condition {row.pk}, onset {time_point_text(row.onset) or 'unknown'}" for row in ongoing
    )
    raise DuplicateConditionError(
        f"{name} is already recorded for this patient, ongoing ({entries}). Correct that entry "
        "instead, or confirm that this is another episode (duplicate_confirmed: true) to "
        "record it as well.",
        duplicates=ongoing,
    )


def patient_condition_record(
    *,
    actor: Actor,
    patient: Patient,
    code: str,
    onset: TimePoint | None = None,
    resolved: TimePoint | None = None,
    attributes: Mapping[str, Any] | None = None,
    duplicate_confirmed: bool = False,
) -> PatientCondition:
    """Records a condition for the patient (version 1 of a new lineage). A condition already
    recorded and ongoing is recorded again only when `duplicate_confirmed` (409 otherwise,
    naming the entry there)."""
    fields = _condition_fields(
        patient=patient, code=code, onset=onset, resolved=resolved, attributes=attributes or {}
    )
    with transaction.atomic():
        if not duplicate_confirmed:
            # Under the patient's row lock, so two clinicians recording the same condition at
            # once cannot both miss the other's entry.
            Patient.objects.select_for_update().filter(pk=patient.pk).first()
            _refuse_unconfirmed_duplicate(patient=patient, code=code)
        condition = PatientCondition.objects.create(
            patient=patient,
            **fields,
            recorded_by_id=actor.user_id,
            recorded_at=timezone.now(),
        )
        audit_event_append(
            actor=actor,
            action=Action.CREATE,
            resource_type="patient-condition",
            resource_id=condition.pk,
            data_category=CATEGORY_CONDITION,
            patient_id=patient.pk,
            department_id=patient.department_id,
            data_time=time_point_start(onset),
            payload=_condition_payload(condition),
        )
    return condition


def patient_condition_correct(
    *,
    actor: Actor,
    condition: PatientCondition,
    code: str,
    onset: TimePoint | None,
    resolved: TimePoint | None,
    attributes: Mapping[str, Any],
    reason: str = "",
) -> PatientCondition:
    """Corrects a current condition: a new version replaces it; the old row is kept as it was,
    marked as replaced. A correction needs a reason, and cannot keep what the active release
    no longer knows of the entry (`condition_correction_check`). Returns the new version."""
    condition_correction_check(condition=condition, code=code, attributes=attributes)
    fields = _condition_fields(
        patient=condition.patient,
        code=code,
        onset=onset,
        resolved=resolved,
        attributes=attributes,
    )
    with transaction.atomic():
        old = _lock_current_condition(condition)
        reason = _required_reason(reason, "the correction")
        new = PatientCondition.objects.create(
            patient_id=old.patient_id,
            **fields,
            lineage=old.lineage,
            version=old.version + 1,
            replaces=old,
            correction_reason=reason.strip(),
            recorded_by_id=actor.user_id,
            recorded_at=timezone.now(),
        )
        PatientCondition.objects.filter(pk=old.pk).update(replaced_by=new)
        patient = old.patient
        audit_event_append(
            actor=actor,
            action=Action.UPDATE,
            resource_type="patient-condition",
            resource_id=new.pk,
            data_category=CATEGORY_CONDITION,
            patient_id=patient.pk,
            department_id=patient.department_id,
            data_time=time_point_start(onset),
            payload={
                **_condition_payload(new),
                "replaces": old.pk,
                "before": _condition_payload(old),
                "reason": new.correction_reason,
            },
        )
    condition.replaced_by_id = new.pk
    return new


def patient_condition_remove(
    *, actor: Actor, condition: PatientCondition, reason: str = ""
) -> PatientCondition:
    """Removes a current condition from the record, with a reason; the row stays, marked
    removed."""
    with transaction.atomic():
        locked = _lock_current_condition(condition)
        reason = _required_reason(reason, "removing this condition from the record")
        _mark_removed(
            actor=actor,
            record=locked,
            reason=reason,
            resource_type="patient-condition",
            data_category=CATEGORY_CONDITION,
            payload=_condition_payload(locked),
        )
    return locked


def patient_medication_record(
    *,
    actor: Actor,
    patient: Patient,
    code: str,
    started: TimePoint | None = None,
    stopped: TimePoint | None = None,
    dose_text: str = "",
) -> PatientMedication:
    """Records a current or recent medication of the patient (a synonym is stored as its code).
    `dose_text` is the dose as the clinician wrote it, kept and shown with the record; the
    engine never reads it."""
    canonical = get_knowledge_base().canonical_drug_code(code)
    if canonical is None:
        raise DomainError(f"Unknown drug code '{code}'. {CATALOGUE_HINT}", field="code")
    code = canonical
    dose_text = " ".join(dose_text.split())
    if len(dose_text) > DOSE_TEXT_LIMIT:
        raise DomainError(f"Keep the dose under {DOSE_TEXT_LIMIT} characters.", field="dose_text")
    record_times_check(patient=patient, start=started, end=stopped, kind="medication")
    started_date, started_at = split_time_point(started)
    stopped_date, stopped_at = split_time_point(stopped)
    with transaction.atomic():
        medication = PatientMedication.objects.create(
            patient=patient,
            code=code,
            started_date=started_date,
            started_at=started_at,
            stopped_date=stopped_date,
            stopped_at=stopped_at,
            dose_text=dose_text,
            recorded_by_id=actor.user_id,
            recorded_at=timezone.now(),
        )
        audit_event_append(
            actor=actor,
            action=Action.CREATE,
            resource_type="patient-medication",
            resource_id=medication.pk,
            data_category=CATEGORY_MEDICATION,
            patient_id=patient.pk,
            department_id=patient.department_id,
            data_time=time_point_start(started),
            payload={
                "code": code,
                "started": time_point_text(started),
                "stopped": time_point_text(stopped),
                **({"dose_text": dose_text} if dose_text else {}),
            },
        )
    return medication


def patient_medication_remove(
    *, actor: Actor, medication: PatientMedication, reason: str = ""
) -> PatientMedication:
    """Removes a medication from the record; the row stays, marked removed."""
    with transaction.atomic():
        locked = PatientMedication.objects.select_for_update().get(pk=medication.pk)
        _refuse_removed(locked, "Medication")
        reason = _required_reason(reason, "removing this medication from the record")
        _mark_removed(
            actor=actor,
            record=locked,
            reason=reason,
            resource_type="patient-medication",
            data_category=CATEGORY_MEDICATION,
            payload={"code": locked.code},
        )
    return locked


def _patient_lock(patient: Patient) -> None:
    """Locks the patient's row until the transaction ends, so that receptor-state writes for
    one patient run one after another. Locking the record in force is not enough: when none
    is in force there is no row to lock, and simultaneous records would all insert one and
    collide on the one-in-force constraint (review F12)."""
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()


def patient_receptor_state_record(
    *, actor: Actor, patient: Patient, value: str, reason: str
) -> PatientReceptorState:
    """Records a clinician's receptor state for the patient, replacing the one in force.

    It overrides the derived state in new assessments and patient checks until cleared.
    """
    if value not in {choice for choice, _label in RECEPTOR_STATE_CHOICES}:
        raise DomainError(
            f"Unknown receptor state '{value}'. Choose from up, down, mixed, normal.",
            field="value",
        )
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for recording a receptor state.", field="reason")
    with transaction.atomic():
        _patient_lock(patient)
        now = timezone.now()
        previous = (
            PatientReceptorState.objects.select_for_update()
            .filter(patient=patient, cleared_at__isnull=True)
            .first()
        )
        if previous is not None:
            previous.cleared_at = now
            previous.cleared_by_id = actor.user_id
            previous.clear_reason = "Replaced by a newly recorded receptor state."
            previous.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
        record = PatientReceptorState.objects.create(
            patient=patient,
            value=value,
            reason=reason,
            recorded_by_id=actor.user_id,
            recorded_at=now,
        )
        audit_event_append(
            actor=actor,
            action=Action.CREATE if previous is None else Action.UPDATE,
            resource_type="patient-receptor-state",
            resource_id=record.pk,
            data_category=CATEGORY_RECEPTOR_STATE,
            patient_id=patient.pk,
            department_id=patient.department_id,
            payload={
                "value": value,
                "reason": reason,
                "replaces": previous.pk if previous else None,
            },
        )
    return record


def patient_receptor_state_clear(
    *, actor: Actor, patient: Patient, reason: str = ""
) -> PatientReceptorState:
    """Clears the recorded receptor state in force; the derived state applies again."""
    with transaction.atomic():
        _patient_lock(patient)
        record = (
            PatientReceptorState.objects.select_for_update()
            .filter(patient=patient, cleared_at__isnull=True)
            .first()
        )
        if record is None:
            raise ConflictError(
                "No receptor state is recorded for this patient.", code="no-receptor-state"
            )
        record.cleared_at = timezone.now()
        record.cleared_by_id = actor.user_id
        record.clear_reason = reason.strip()
        record.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
        audit_event_append(
            actor=actor,
            action=Action.DELETE,
            resource_type="patient-receptor-state",
            resource_id=record.pk,
            data_category=CATEGORY_RECEPTOR_STATE,
            patient_id=patient.pk,
            department_id=patient.department_id,
            payload={"value": record.value, "reason": record.clear_reason},
        )
    return record
