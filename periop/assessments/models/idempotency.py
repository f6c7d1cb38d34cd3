"""Idempotency keys of assessment creation: a client that never saw the answer to its create
(a timeout, a dropped connection) retries with the same key and gets the assessment its first
request created, never a second one."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from periop.assessments.models.assessments import Assessment


class IdempotencyKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    # The digest of the request the key was first used with: the same key with another
    # request is a client error, not a retry.
    request_digest = models.CharField(max_length=80)
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"Idempotency key {self.pk}"
