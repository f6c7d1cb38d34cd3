"""Creating an assessment once per idempotency key, so that a client that never saw the answer
to its create (a timeout, a dropped connection) can retry without filing a second assessment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction

from periop.accounts.models import Department
from periop.api import DomainError, UnprocessableError
from periop.assessments.models import Assessment, IdempotencyKey, Patient
from periop.assessments.services.assessments import assessment_create
from periop.audit.services import Actor


def assessment_create_once(
    *,
    actor: Actor,
    idempotency_key: str,
    request_digest: str,
    patient: Patient,
    department: Department,
    planned_at: dt.datetime,
    procedure: str,
    weight_kg: Decimal,
    drugs: Sequence[str],
) -> tuple[Assessment, bool]:
    """As `assessment_create`, once per (user, `idempotency_key`): a retry with the same key
    and the same request (`request_digest`) returns the assessment the first request created,
    and True to say so. The same key with another request is a 422."""
    user_id = actor.user_id
    if user_id is None:
        raise DomainError("An idempotency key belongs to a signed-in user.", code="invalid")
    existing = _idempotent_assessment(user_id, idempotency_key, request_digest)
    if existing is not None:
        return existing, True
    try:
        with transaction.atomic():
            assessment = assessment_create(
                actor=actor,
                patient=patient,
                department=department,
                planned_at=planned_at,
                procedure=procedure,
                weight_kg=weight_kg,
                drugs=drugs,
            )
            IdempotencyKey.objects.create(
                user_id=user_id,
                key=idempotency_key,
                request_digest=request_digest,
                assessment=assessment,
            )
    except IntegrityError:
        # A simultaneous request with the same key committed first: this one created nothing
        # (its assessment and audit event were rolled back with it), and answers with that one.
        existing = _idempotent_assessment(user_id, idempotency_key, request_digest)
        if existing is None:
            raise
        return existing, True
    return assessment, False


def _idempotent_assessment(user_id: int, key: str, request_digest: str) -> Assessment | None:
    record = (
        IdempotencyKey.objects.select_related("assessment__patient")
        .filter(user_id=user_id, key=key)
        .first()
    )
    if record is None:
        return None
    if record.request_digest != request_digest:
        raise UnprocessableError(
            "This Idempotency-Key was already used for a different request. Use a new key for "
            "a new assessment.",
            code="idempotency-key-reused",
        )
    return record.assessment
