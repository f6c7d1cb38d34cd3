"""Patients and what clinicians record about them: conditions, medications, receptor state.

Recorded facts are never lost: a correction is a new row that replaces the old one, and a
removal marks the row removed with who, when and why. "Current" means neither.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from periop.accounts.models import Department
from periop.assessments.time_points import TimePoint, join_time_point

RECEPTOR_STATE_CHOICES = [("up", "Up"), ("down", "Down"), ("mixed", "Mixed"), ("normal", "Normal")]


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Patient(models.Model):
    # The registering department: who may see and change the patient's record.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="patients")
    # Unique within the department, not across departments: a refusal for an MRN registered
    # elsewhere would tell the caller that another department treats that patient.
    mrn = models.CharField("medical record number", max_length=64)
    name = models.CharField(max_length=200)
    birth_date = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["department", "name"], name="patient_department_name")]
        constraints = [
            models.CheckConstraint(
                condition=Q(sex__in=[choice.value for choice in Sex]), name="patient_sex_valid"
            ),
            models.UniqueConstraint(
                fields=["department", "mrn"], name="patient_mrn_once_per_department"
            ),
        ]

    def __str__(self) -> str:
        # No name or MRN: this string can end up in logs.
        return f"Patient {self.pk}"


class RemovableRecord(models.Model):
    """A recorded fact that can be removed, keeping the row, who removed it, when and why."""

    code = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removal_reason = models.TextField(blank=True)

    class Meta:
        abstract = True


def _one_of(prefix: str) -> Q:
    """A time point is a date or an instant, never both."""
    return ~(Q(**{f"{prefix}_date__isnull": False}) & Q(**{f"{prefix}_at__isnull": False}))


class PatientCondition(RemovableRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="conditions")
    onset_date = models.DateField(null=True, blank=True)
    onset_at = models.DateTimeField(null=True, blank=True)
    resolved_date = models.DateField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Every version of one recorded condition shares a lineage; version counts from 1.
    lineage = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    version = models.PositiveIntegerField(default=1)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replaced_by = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    correction_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [
            models.Index(
                fields=["patient"],
                condition=Q(replaced_by__isnull=True, removed_at__isnull=True),
                name="condition_current",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=_one_of("onset"), name="condition_onset_one_kind"),
            models.CheckConstraint(
                condition=_one_of("resolved"), name="condition_resolved_one_kind"
            ),
            models.UniqueConstraint(fields=["lineage", "version"], name="condition_version_once"),
        ]

    def __str__(self) -> str:
        return f"Condition {self.pk} ({self.code}, version {self.version})"

    @property
    def onset(self) -> TimePoint | None:
        return join_time_point(self.onset_date, self.onset_at)

    @property
    def resolved(self) -> TimePoint | None:
        return join_time_point(self.resolved_date, self.resolved_at)

    @property
    def is_current(self) -> bool:
        return self.replaced_by_id is None and self.removed_at is None


class PatientMedication(RemovableRecord):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medications")
    started_date = models.DateField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_date = models.DateField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Free text as the clinician wrote it ("60 mg four times daily"): kept with the record,
    # shown and printed, never read by the engine.
    dose_text = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_one_of("started"), name="medication_started_one_kind"
            ),
            models.CheckConstraint(
                condition=_one_of("stopped"), name="medication_stopped_one_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"Medication {self.pk} ({self.code})"

    @property
    def started(self) -> TimePoint | None:
        return join_time_point(self.started_date, self.started_at)

    @property
    def stopped(self) -> TimePoint | None:
        return join_time_point(self.stopped_date, self.stopped_at)

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class PatientReceptorState(models.Model):
    """A clinician's receptor state for a cause the knowledge base does not model.

    It overrides the derived state in new assessments and patient checks until cleared.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="receptor_states")
    value = models.CharField(max_length=8, choices=RECEPTOR_STATE_CHOICES)
    reason = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clear_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(cleared_at__isnull=True),
                name="receptor_state_one_active",
            ),
            models.CheckConstraint(
                condition=Q(value__in=[value for value, _label in RECEPTOR_STATE_CHOICES]),
                name="receptor_state_value_valid",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="receptor_state_reason_given"),
        ]

    def __str__(self) -> str:
        return f"Receptor state {self.pk} ({self.value})"
