"""Pre-operative assessments and the acknowledgements of their cautions.

An assessment stores, on every create and edit, an immutable snapshot of what the engine was
given and what it answered. Once signed, the row is never updated or deleted (database
triggers enforce it, see `periop.assessments.guards`); an amendment is a new assessment that
supersedes it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from periop.accounts.models import Department
from periop.assessments.models.patients import RECEPTOR_STATE_CHOICES, Patient
from periop.drugs.weights import MAXIMUM_WEIGHT_KG, MINIMUM_WEIGHT_KG

LEVEL_CHOICES = [
    ("contraindicated", "Contraindicated"),
    ("avoid", "Avoid"),
    ("adjust", "Adjust"),
    ("monitor", "Monitor"),
    ("none", "None"),
]
# Levels that must be acknowledged, as accepted or overridden, before signing.
ACKNOWLEDGED_LEVELS = ("contraindicated", "avoid")


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class Assessment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="assessments")
    planned_at = models.DateTimeField(help_text="Planned time of the procedure.")
    procedure = models.CharField(max_length=200)
    weight_kg = models.DecimalField(max_digits=6, decimal_places=2)
    drugs = models.JSONField(default=list, help_text="Planned drug codes, in the order given.")
    status = models.CharField(
        max_length=8, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT
    )
    # Bumped on every edit; the ETag is "<id>-<revision>".
    revision = models.PositiveIntegerField(default=1)
    # Every version (the original and its amendments) shares a lineage.
    lineage = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        help_text="The signed assessment this one amends.",
    )
    amendment_reason = models.TextField(blank=True)

    # The snapshot of the last evaluation: canonical JSON text, exactly as evaluated and shown.
    inputs_snapshot = models.TextField()
    cautions_snapshot = models.TextField()
    highest_level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    acknowledgement_required = models.JSONField(
        default=list, help_text="Drugs whose caution must be acknowledged before signing."
    )
    receptor_state = models.CharField(max_length=8, choices=RECEPTOR_STATE_CHOICES)
    receptor_state_derived = models.CharField(max_length=8, choices=RECEPTOR_STATE_CHOICES)
    receptor_state_overridden = models.BooleanField(default=False)
    receptor_state_sources = models.JSONField(default=list)
    receptor_state_record = models.ForeignKey(
        "assessments.PatientReceptorState",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clinician-recorded receptor state that overrode the derived one.",
    )
    knowledge_base_version = models.CharField(max_length=32)
    knowledge_base_digest = models.CharField(max_length=80)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # The hash of the sign event in the audit ledger: the printed record quotes it.
    sign_event_hash = models.CharField(max_length=64, blank=True)
    # The plan as signed (canonical JSON): each drug's decision and re-evaluated level. Null
    # for drafts and for assessments signed before plans existed. (Nullable, so that SQLite
    # adds the column in place instead of rebuilding the guarded table.)
    plan_snapshot = models.TextField(null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "planned_at"], name="assessment_dept_planned"),
            models.Index(fields=["department", "created_at"], name="assessment_dept_created"),
            models.Index(fields=["patient", "created_at"], name="assessment_patient_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[choice.value for choice in AssessmentStatus]),
                name="assessment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__gte=MINIMUM_WEIGHT_KG, weight_kg__lte=MAXIMUM_WEIGHT_KG),
                name="assessment_weight_range",
            ),
            models.CheckConstraint(
                condition=Q(revision__gte=1), name="assessment_revision_positive"
            ),
            models.CheckConstraint(
                condition=Q(status=AssessmentStatus.DRAFT)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="assessment_signed_has_signer",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment {self.pk} ({self.status}, revision {self.revision})"

    @property
    def etag(self) -> str:
        return f'"{self.pk}-{self.revision}"'

    @property
    def is_signed(self) -> bool:
        return self.status == AssessmentStatus.SIGNED


class Decision(models.TextChoices):
    """What a clinician decided for one planned drug. `accepted` (the caution is accepted:
    the drug is withheld) and `overridden` (given despite it) are the v1 acknowledgements; the
    plan adds giving a drug as planned or adjusted."""

    ACCEPTED = "accepted", "Withheld: will not be given"
    OVERRIDDEN = "overridden", "Override: given despite the caution"
    GIVE = "give", "Given as planned"
    GIVE_ADJUSTED = "give-adjusted", "Given adjusted"


class ReasonCode(models.TextChoices):
    BENEFIT_OUTWEIGHS_RISK = "benefit-outweighs-risk", "Benefit outweighs risk"
    NO_ALTERNATIVE = "no-alternative", "No reasonable alternative"
    ALREADY_TOLERATED = "already-tolerated", "Previously tolerated by this patient"
    CAUTION_NOT_APPLICABLE = "caution-not-applicable", "Caution does not apply to this patient"
    OTHER_DOCUMENTED = "other-documented", "Other reason, documented in the comment"


# Reasons that only make sense with the clinician's explanation beside them.
REASONS_NEEDING_COMMENT = (ReasonCode.CAUTION_NOT_APPLICABLE, ReasonCode.OTHER_DOCUMENTED)


class Acknowledgement(models.Model):
    """A clinician's decision on one planned drug of one revision: the v1 acknowledgement of a
    contraindicated or avoid caution, or a plan decision at any level. One decision per drug
    and revision is in force; those it replaced stay, with `replaced_at` set."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    revision = models.PositiveIntegerField(help_text="The assessment revision it applies to.")
    drug = models.CharField(max_length=64)
    level = models.CharField(max_length=16, choices=LEVEL_CHOICES)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    reason_code = models.CharField(max_length=32, choices=ReasonCode.choices, blank=True)
    comment = models.TextField(blank=True)
    alternative = models.CharField(
        max_length=64, blank=True, help_text="The drug chosen instead of a withheld one."
    )
    dose_mg = models.DecimalField(
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="The dose decided, in mg, when given adjusted or despite the caution.",
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)
    # A decision changed before signing is kept, marked replaced; the new row names the one it
    # replaces. Only the decision in force (not replaced) counts in the plan and the reports.
    replaced_at = models.DateTimeField(
        null=True, blank=True, help_text="When a later decision replaced this one."
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The earlier decision on the same drug that this one replaces.",
    )

    class Meta:
        ordering = ["acknowledged_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "revision", "drug"],
                condition=Q(replaced_at__isnull=True),
                name="acknowledgement_in_force_once_per_revision",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=[choice.value for choice in Decision]),
                name="acknowledgement_decision_valid",
            ),
            models.CheckConstraint(
                condition=Q(reason_code="") | Q(reason_code__in=ReasonCode.values),
                name="acknowledgement_reason_valid",
            ),
            models.CheckConstraint(
                condition=~Q(decision=Decision.OVERRIDDEN) | ~Q(reason_code=""),
                name="acknowledgement_override_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(reason_code__in=REASONS_NEEDING_COMMENT) | ~Q(comment=""),
                name="acknowledgement_reason_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"Acknowledgement {self.pk} ({self.drug}, {self.decision})"

    @property
    def in_force(self) -> bool:
        return self.replaced_at is None
