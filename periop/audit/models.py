"""The append-only, hash-chained audit ledger (ASTM E2147-18 fields required by ONC).

Rows are written by exactly one function, `periop.audit.services.audit_event_append`, and never
changed: database triggers reject UPDATE, DELETE and TRUNCATE, and every row carries an HMAC
chained to its predecessor so any alteration, deletion or insertion is detected.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models


class Action(models.TextChoices):
    """Type of action (ASTM E2147 7.1.8), plus ONC's privilege changes."""

    CREATE = "create", "Create"
    READ = "read", "Read"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    SIGN = "sign", "Sign"
    OVERRIDE = "override", "Override"
    QUERY = "query", "Query"
    EXPORT = "export", "Export"
    PRINT = "print", "Print"
    LOGIN = "login", "Login"
    LOGIN_FAILED = "login-failed", "Login failed"
    PRIVILEGE_CHANGE = "privilege-change", "Privilege change"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class ActorKind(models.TextChoices):
    USER = "user", "User (browser)"
    API_CLIENT = "api-client", "API client (token)"
    SYSTEM = "system", "System"
    ANONYMOUS = "anonymous", "Anonymous"


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("Audit events are append-only: they cannot be updated.")

    def delete(self) -> NoReturn:
        raise TypeError("Audit events are append-only: they cannot be deleted.")


class AuditEvent(models.Model):
    # Gapless: 1, 2, 3, ... in commit order. A gap means a deleted row.
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(help_text="When the event happened, UTC (7.1.1).")
    data_time = models.DateTimeField(
        null=True, blank=True, help_text="The time the data refers to, where different (7.1.2)."
    )
    # Plain ids, not foreign keys: the ledger outlives and never depends on the rows it describes.
    patient_id = models.BigIntegerField(null=True, blank=True, help_text="Patient (7.1.6).")
    actor_user_id = models.BigIntegerField(null=True, blank=True, help_text="User (7.1.7).")
    actor_username = models.CharField(max_length=150, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    action = models.CharField(max_length=20, choices=Action.choices, help_text="7.1.8")
    resource_type = models.CharField(max_length=64, help_text="Data accessed (7.1.9).")
    resource_id = models.CharField(max_length=64, blank=True)
    data_category = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    request_id = models.CharField(max_length=64, blank=True)
    department_id = models.BigIntegerField(null=True, blank=True)
    # Canonical JSON exactly as hashed: text, not JSON, so no database can reorder or re-type it.
    payload = models.TextField(default="{}")
    key_id = models.CharField(max_length=32)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects: ClassVar[models.Manager[AuditEvent]] = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["department_id", "occurred_at"], name="audit_dept_time"),
            models.Index(fields=["patient_id", "occurred_at"], name="audit_patient_time"),
            models.Index(fields=["actor_user_id", "occurred_at"], name="audit_actor_time"),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time"),
            models.Index(fields=["occurred_at"], name="audit_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sequence__gte=1), name="audit_sequence_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.resource_type} {self.resource_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Audit events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("Audit events are append-only: they cannot be deleted.")


class AuditChainHead(models.Model):
    """The head of one lane of the ledger (`id` is the lane + 1; lane 0, id 1, is the ledger's
    first chain): the row that lane's appenders lock to serialise it.

    Not evidence itself: verification walks the events. It only makes concurrent appends to a
    lane wait for each other instead of forking it (see `periop.audit.lanes`).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    # The sequence of the lane's last event (the lane's base before its first).
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [
            # 64 is periop.audit.lanes.MAX_LANES.
            models.CheckConstraint(
                condition=models.Q(id__gte=1, id__lte=64), name="audit_head_lane"
            )
        ]

    def __str__(self) -> str:
        return f"Audit lane {self.id - 1} head at event {self.sequence}"
