"""Knowledge-base releases as data: every release ever imported, and which one is active.

A release row holds the full content of the knowledge base (the TOML texts, by path) and its
digest, so any assessment can be re-evaluated on the release it was signed under. Releases and
activations are append-only: database triggers reject UPDATE and DELETE
(`periop.drugs.guards`). The active release is the one of the latest activation.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models


class KnowledgeBaseRelease(models.Model):
    version = models.CharField(max_length=20, unique=True)
    digest = models.CharField(max_length=71, unique=True, help_text="sha256: + hex")
    # Canonical JSON (sorted keys) of {path inside the knowledge base: TOML text}: loading it
    # gives back exactly the release, and its digest is recomputed and checked on every load.
    content = models.TextField()
    released_on = models.DateField()
    imported_at = models.DateTimeField()
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    imported_by_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.version} ({self.digest[:19]}…)"

    def texts(self) -> dict[str, str]:
        texts: dict[str, str] = json.loads(self.content)
        return texts


class KnowledgeBaseActivation(models.Model):
    """One change of the active release. The latest row names the active one."""

    release = models.ForeignKey(
        KnowledgeBaseRelease, on_delete=models.PROTECT, related_name="activations"
    )
    activated_at = models.DateTimeField()
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    activated_by_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.release.version} active from {self.activated_at.isoformat()}"


class SignOffKind(models.TextChoices):
    """One sign-off of each kind, by two different people, for every new or changed rule."""

    CONSULTANT_ANAESTHETIST = "consultant-anaesthetist", "Consultant anaesthetist"
    CLINICAL_PHARMACIST = "clinical-pharmacist", "Clinical pharmacist"


class RuleSignOff(models.Model):
    """A reviewer's sign-off of one rule of a candidate release, exactly as its content reads
    (`rule_digest`): a sign-off of other content does not count."""

    release = models.ForeignKey(
        KnowledgeBaseRelease, on_delete=models.PROTECT, related_name="sign_offs"
    )
    rule_id = models.CharField(max_length=100)
    rule_digest = models.CharField(max_length=71)
    kind = models.CharField(max_length=30, choices=SignOffKind.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()

    class Meta:
        ordering = ["release", "rule_id", "signed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "rule_id", "rule_digest", "kind"],
                name="rule_sign_off_one_per_kind",
            ),
            models.UniqueConstraint(
                fields=["release", "rule_id", "rule_digest", "reviewer"],
                name="rule_sign_off_one_per_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} in {self.release.version}: {self.kind} by {self.reviewer}"


class RuleComment(models.Model):
    release = models.ForeignKey(
        KnowledgeBaseRelease, on_delete=models.PROTECT, related_name="comments"
    )
    rule_id = models.CharField(max_length=100)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["release", "rule_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.rule_id} in {self.release.version} by {self.author}"


class TuningChange(models.TextChoices):
    RAISE = "raise", "Raise the level"
    MONITOR_TO_NONE = "monitor-to-none", "Lower monitor to none"
    LOCAL_TEXT = "local-text", "Add local text"


class LocalTuning(models.Model):
    """A department administrator's proposal to tune one rule for the department. It applies
    once it has a consultant anaesthetist's and a clinical pharmacist's sign-off."""

    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="tunings"
    )
    rule_id = models.CharField(max_length=100)
    change = models.CharField(max_length=20, choices=TuningChange.choices)
    level = models.CharField(max_length=20, blank=True, help_text="The raised level.")
    text = models.TextField(blank=True, help_text="The local text.")
    reason = models.TextField(help_text="Why the department tunes the rule.")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField()

    class Meta:
        ordering = ["department", "rule_id", "proposed_at", "id"]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.change} in {self.department}"


class TuningSignOff(models.Model):
    tuning = models.ForeignKey(LocalTuning, on_delete=models.PROTECT, related_name="sign_offs")
    kind = models.CharField(max_length=30, choices=SignOffKind.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField()
    comment = models.TextField(blank=True, default="", help_text="The reviewer's comment.")

    class Meta:
        ordering = ["tuning", "signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tuning", "kind"], name="tuning_sign_off_one_per_kind"),
            models.UniqueConstraint(
                fields=["tuning", "reviewer"], name="tuning_sign_off_one_per_reviewer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tuning}: {self.kind} by {self.reviewer}"
