"""The one function that writes to the audit ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from periop.audit.chain import canonical_json, row_hash, signing_key
from periop.audit.models import Action, ActorKind, AuditChainHead, AuditEvent, Outcome
from periop.middleware import current_request_id


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it (7.1.7): a user in a browser, a system with a token, or the system itself."""

    user_id: int | None
    username: str
    kind: str

    @classmethod
    def from_user(
        cls, user: AbstractBaseUser | AnonymousUser | None, *, via_token: bool = False
    ) -> Actor:
        if user is None or not user.is_authenticated:
            return cls(user_id=None, username="", kind=ActorKind.ANONYMOUS)
        kind = ActorKind.API_CLIENT if via_token else ActorKind.USER
        return cls(user_id=int(user.pk), username=user.get_username(), kind=kind)

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        """The actor of a DRF or Django request (token-authenticated requests are API clients)."""
        via_token = getattr(request, "auth", None) is not None
        return cls.from_user(getattr(request, "user", None), via_token=via_token)

    @classmethod
    def system(cls, name: str = "periop") -> Actor:
        return cls(user_id=None, username=name, kind=ActorKind.SYSTEM)


def audit_event_append(
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str | int = "",
    data_category: str = "",
    patient_id: int | None = None,
    department_id: int | None = None,
    outcome: str = Outcome.SUCCESS,
    data_time: dt.datetime | None = None,
    payload: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Appends one event to the chain, inside the caller's transaction.

    Call it in the same `transaction.atomic()` block as the change it records: if the change
    rolls back, so does its event. Concurrent appenders queue on the chain head's row lock
    (PostgreSQL) or on SQLite's IMMEDIATE write lock, so the chain never forks or skips; the
    unique sequence and hash constraints are the backstop.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    if outcome not in Outcome.values:
        raise ValueError(f"Unknown audit outcome {outcome!r}.")
    with transaction.atomic():
        head = _locked_head()
        key_id, key = signing_key()
        fields: dict[str, Any] = {
            "sequence": head.sequence + 1,
            "occurred_at": timezone.now(),
            "data_time": data_time,
            "patient_id": patient_id,
            "actor_user_id": actor.user_id,
            "actor_username": actor.username,
            "actor_kind": actor.kind,
            "action": action,
            "resource_type": resource_type,
            "resource_id": str(resource_id),
            "data_category": data_category,
            "outcome": outcome,
            "request_id": current_request_id() if request_id is None else request_id,
            "department_id": department_id,
            "payload": canonical_json(payload or {}),
            "key_id": key_id,
        }
        # Stored datetimes keep microseconds on both databases; hashing the stored value keeps
        # verification exact.
        digest = row_hash(key=key, previous_hash=head.hash, fields=fields)
        event = AuditEvent(**fields, previous_hash=head.hash, hash=digest)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(id=1).update(sequence=event.sequence, hash=digest)
        return event


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        # First append ever: create the head. A concurrent first append loses on the primary key
        # and its transaction fails rather than forking the chain.
        head = AuditChainHead.objects.create(id=1)
        head = AuditChainHead.objects.select_for_update().get(id=1)
    return head
