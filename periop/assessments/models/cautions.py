"""The cautions, rule findings and condition codes of an assessment's current snapshot, one
row each.

The snapshot text is the record; these rows are a derived index of it, so department reports
can count cautions by drug, level and condition in the database instead of parsing JSON text
row by row. They are rewritten whenever the snapshot is (drafts only: a signed assessment's
snapshot, and so its rows, never change).

Each row repeats its assessment's department and creation time, which never change: a report
then reads one department's month of rows through an index on those two columns, instead of
joining millions of rows back to their assessments.
"""

from __future__ import annotations

from django.db import models

from periop.accounts.models import Department
from periop.assessments.models.assessments import LEVEL_CHOICES, Assessment

# No separate index on `assessment`: each unique constraint below starts with it.


class AssessmentCaution(models.Model):
    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="cautions", db_index=False
    )
    drug = models.CharField(max_length=64)
    drug_class = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    conflict = models.BooleanField(default=False)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(help_text="The assessment's creation time.")

    class Meta:
        ordering = ["assessment", "id"]
        indexes = [
            models.Index(fields=["department", "created_at"], name="caution_dept_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "drug"], name="assessment_caution_once"),
        ]

    def __str__(self) -> str:
        return f"Caution {self.drug} ({self.level}) of assessment {self.assessment_id}"


class AssessmentConditionCode(models.Model):
    """A condition code the assessment was evaluated with (once per code)."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="condition_codes", db_index=False
    )
    code = models.CharField(max_length=64)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(help_text="The assessment's creation time.")

    class Meta:
        ordering = ["assessment", "code"]
        indexes = [
            models.Index(fields=["department", "created_at"], name="condition_code_dept_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "code"], name="assessment_condition_code_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Condition {self.code} of assessment {self.assessment_id}"


class AssessmentFinding(models.Model):
    """A rule that fired for one planned drug, at the level the snapshot shows (after the
    department's tunings: `locally_tuned` says a tuning marked it). The per-rule figures of
    the department report count these rows."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    rule = models.CharField(max_length=100)
    drug = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    locally_tuned = models.BooleanField(default=False)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(help_text="The assessment's creation time.")

    class Meta:
        ordering = ["assessment", "drug", "rule"]
        indexes = [
            models.Index(fields=["department", "created_at"], name="finding_dept_created"),
        ]
        constraints = [
            # Also the index an override is matched through (assessment, drug, then level).
            models.UniqueConstraint(
                fields=["assessment", "drug", "rule"], name="assessment_finding_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Rule {self.rule} ({self.level}) on {self.drug} of assessment {self.assessment_id}"
