"""Creating an assessment once per idempotency key, so that a client that never saw the answer
to its create (a timeout, a dropped connection) can retry without filing a second assessment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction

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

    def create() -> Assessment:
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
        return assessment

    created, existing = once_per_key(
        create=create,
        committed=lambda: _idempotent_assessment(user_id, idempotency_key, request_digest),
    )
    if created is not None:
        return created, False
    assert existing is not None  # noqa: S101 - once_per_key returns one or the other
    return existing, True


def _idempotent_assessment(user_id: int, key: str, request_digest: str) -> Assessment | None:
    record = (
        IdempotencyKey.objects.select_related("assessment__patient")
        .filter(user_id=user_id, key=key)
        .first()
    )
    if record is None:
        return None
    if record.request_digest != request_digest or record.assessment is None:
        raise UnprocessableError(
            "This Idempotency-Key was already used for a different request. Use a new key for "
            "a new assessment.",
            code="idempotency-key-reused",
        )
    return record.assessment


@dataclass(frozen=True)
class StoredAnswer:
    """The answer a creating request received, kept for its retries."""

    status_code: int
    body: Any
    headers: dict[str, str]
    patient_id: int
    resource_type: str
    resource_id: str


def idempotent_answer_get(*, user_id: int, key: str, request_digest: str) -> StoredAnswer | None:
    """The answer stored under (user, key); None if the key is new. The same key with another
    request is a 422."""
    record = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
    if record is None:
        return None
    if (
        record.request_digest != request_digest
        or record.status_code is None
        or record.patient_id is None
    ):
        raise UnprocessableError(
            "This Idempotency-Key was already used for a different request. Use a new key for "
            "a new record.",
            code="idempotency-key-reused",
        )
    return StoredAnswer(
        status_code=record.status_code,
        body=record.body,
        headers=dict(record.headers),
        patient_id=record.patient_id,
        resource_type=record.resource_type,
        resource_id=record.resource_id,
    )


def idempotent_answer_store(
    *, user_id: int, key: str, request_digest: str, answer: StoredAnswer
) -> None:
    """Stores the first answer under (user, key), in the transaction that created the record."""
    IdempotencyKey.objects.create(
        user_id=user_id,
        key=key,
        request_digest=request_digest,
        status_code=answer.status_code,
        body=answer.body,
        headers=answer.headers,
        patient_id=answer.patient_id,
        resource_type=answer.resource_type,
        resource_id=answer.resource_id,
    )


CreatedT = TypeVar("CreatedT")
StoredT = TypeVar("StoredT")


def once_per_key(
    *, create: Callable[[], CreatedT], committed: Callable[[], StoredT | None]
) -> tuple[CreatedT | None, StoredT | None]:
    """Runs `create` (which stores its answer under an idempotency key) in one transaction.
    When a simultaneous request with the same key committed first (`committed()` finds its
    answer), this one's work is rolled back and that answer is returned instead:
    (None, answer), whether this one failed on the key or on a rule the first one's record now
    breaks. Otherwise (created, None)."""
    try:
        with transaction.atomic():
            return create(), None
    except Exception:
        # Whatever refused this request (the key's unique constraint, or a rule that the
        # simultaneous first request has just made true, such as "already recorded"), a
        # committed answer under the same key means this was a retry: answer with it.
        stored = committed()
        if stored is None:
            raise
        return None, stored
