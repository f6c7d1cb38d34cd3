"""Idempotency keys of the API's creating requests: a client that never saw the answer to its
request (a timeout, a dropped connection) retries with the same key and gets the answer of its
first request, never a second record.

Assessment creation answers a retry with the assessment as it is now (`assessment`); every
other creating endpoint answers with the response its first request received, stored here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from periop.assessments.models.assessments import Assessment
from periop.assessments.models.patients import Patient


class IdempotencyKey(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    # The digest of the request the key was first used with: the same key with another
    # request is a client error, not a retry.
    request_digest = models.CharField(max_length=80)
    assessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The first request's answer, for the endpoints that replay it as it was.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # Whose data the answer shows: a replay is audited as a read of it.
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resource_type = models.CharField(max_length=40, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"Idempotency key {self.pk}"
