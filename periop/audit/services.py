"""The one function that writes to the audit ledger."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from periop.audit import lanes
from periop.audit.chain import (
    DATETIME_FIELDS,
    GENESIS_HASH,
    HASHED_FIELDS,
    STORED_FIELDS,
    canonical_json,
    row_hash,
    signing_key,
)
from periop.audit.checkpoints import audit_checkpoint_write
from periop.audit.models import Action, ActorKind, AuditEvent, Outcome
from periop.fixed_sql import per_vendor, prepared_cursor
from periop.middleware import current_request_id

logger = logging.getLogger(__name__)


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


# The choices' values, built once (`Choices.values` builds a new list on every read).
_ACTIONS = frozenset(Action.values)
_OUTCOMES = frozenset(Outcome.values)


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
    rolls back, so does its event. Concurrent appenders to one lane (to the one chain when
    `AUDIT_LANES` is 1) queue on its head's row lock (PostgreSQL) or on SQLite's IMMEDIATE
    write lock, so no lane ever forks or skips; the unique sequence and hash constraints are
    the backstop. Appenders to different lanes never wait for each other.
    """
    if action not in _ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}.")
    if outcome not in _OUTCOMES:
        raise ValueError(f"Unknown audit outcome {outcome!r}.")
    fields: dict[str, Any] = {
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
        "payload": canonical_json(payload) if payload else "{}",
    }
    connection = transaction.get_connection()
    lane = lanes.current_lane(connection)
    key_id, key = signing_key()
    fields["key_id"] = key_id
    in_lanes = connection.vendor == "postgresql" and lanes.lane_count() > 1
    event = None
    if in_lanes and connection.get_autocommit() and not settings.AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK:
        # Outside any transaction (a check, a read): one statement is the whole append, and
        # its own transaction, when the lane's head is where this thread left it.
        with prepared_cursor(connection) as cursor:
            event = _append_if_head_unmoved(cursor, connection, lane, fields, key)
    if event is None:
        # No savepoint: if the append fails, the caller's whole transaction must fail with
        # it, so a change is never committed without its event.
        with transaction.atomic(savepoint=False), prepared_cursor(connection) as cursor:
            if settings.AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK and connection.vendor == "postgresql":
                _flush_outside_lock(cursor, connection)
            if in_lanes:
                event = _append_if_head_unmoved(cursor, connection, lane, fields, key)
                if event is None:
                    event = _append_claiming(cursor, connection, lane, fields, key)
                    _seen_heads()[(connection.alias, lane)] = (event.sequence, event.hash)
            else:
                event = _append_claiming(cursor, connection, lane, fields, key)
    sequence, digest = event.sequence, event.hash
    every = settings.AUDIT_CHECKPOINT_EVERY_EVENTS
    if every > 0 and lanes.lane_position(sequence) % every == 0:
        transaction.on_commit(functools.partial(_automatic_checkpoint, sequence, digest))
    return event


def _flush_outside_lock(cursor: Any, connection: Any) -> None:
    """Once per transaction: commit without waiting for the WAL flush, which releases the
    chain head's lock at once, and wait for the flush right after the commit instead (before
    any other on-commit work, such as a checkpoint, and before the caller answers).

    Registered before the claim, so it precedes every other on-commit callback of the ledger.
    A savepoint rolled back takes both the setting and the callback with it, and a later
    append registers them again."""
    if any(callback is _wait_for_flush for _, callback, _ in connection.run_on_commit):
        return
    cursor.execute("SET LOCAL synchronous_commit TO OFF")
    transaction.on_commit(_wait_for_flush)


def _wait_for_flush() -> None:
    """Commits a transaction of our own with the session's synchronous commit: its commit
    record follows ours in the WAL, so when it is flushed, ours is too. The transaction must
    write WAL of its own, or PostgreSQL commits it without a flush: a transactional logical
    message is the smallest such write (it changes no table, and any user may emit one)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_logical_emit_message(true, 'periop-flush', '')")


def _automatic_checkpoint(sequence: int, digest: str) -> None:
    """Checkpoints the event that completed a round number of events, once it is committed.
    A checkpoint that cannot be written never fails the request that recorded the event:
    it is logged, and verification reports the missing checkpoint."""
    try:
        audit_checkpoint_write(sequence=sequence, hash=digest)
    except OSError:
        logger.exception(
            "The automatic audit checkpoint of event %s could not be written.", sequence
        )


# A lane's head row is the lock every appender of the lane queues on: incrementing it takes the
# row lock (PostgreSQL) inside an IMMEDIATE transaction (SQLite) and returns the previous link.
_CLAIM = (
    "UPDATE audit_auditchainhead SET sequence = sequence + 1 WHERE id = %s RETURNING sequence, hash"
)
# A lane's head row before its first event (its sequence is the lane's base).
_CREATE_HEAD = (
    "INSERT INTO audit_auditchainhead (id, sequence, hash) VALUES (%s, %s, %s) "
    "ON CONFLICT (id) DO NOTHING"
)
# Built from the constant STORED_FIELDS, never from input.
_INSERT = (
    f"INSERT INTO audit_auditevent ({', '.join(STORED_FIELDS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(STORED_FIELDS))}) RETURNING id"
)
_MOVE_HEAD = "UPDATE audit_auditchainhead SET hash = %s WHERE id = %s"


def _claim_next_sequence(cursor: Any, lane: int) -> tuple[int, str]:
    cursor.execute(_CLAIM, [lanes.head_id(lane)])
    row = cursor.fetchone()
    if row is None:
        # Lane 0's head row is created by a migration (it is missing only after a test
        # flush); another lane's by its first append.
        _create_head(cursor, lane)
        cursor.execute(_CLAIM, [lanes.head_id(lane)])
        row = cursor.fetchone()
    return int(row[0]), str(row[1])


def _append_claiming(
    cursor: Any, connection: Any, lane: int, fields: dict[str, Any], key: bytes
) -> AuditEvent:
    """Claims the lane's next number (waiting for the head's lock), then writes the event and
    moves the head."""
    sequence, previous_hash = _claim_next_sequence(cursor, lane)
    fields["sequence"] = sequence
    digest = row_hash(key=key, previous_hash=previous_hash, fields=fields)
    values = _stored_values(connection, fields, previous_hash, digest)
    event = _new_event(connection, fields, previous_hash, digest)
    event.id = _insert_and_move_head(cursor, connection, values, digest, lane)
    return event


def _create_head(cursor: Any, lane: int) -> None:
    cursor.execute(_CREATE_HEAD, [lanes.head_id(lane), lanes.lane_base(lane), GENESIS_HASH])


_DATETIME_COLUMNS = frozenset(DATETIME_FIELDS)


def _stored_values(
    connection: Any, fields: dict[str, Any], previous_hash: str, digest: str
) -> list[Any]:
    """The values of STORED_FIELDS, for the database."""
    adapt = connection.ops.adapt_datetimefield_value
    return [
        *(
            adapt(fields[column]) if column in _DATETIME_COLUMNS else fields[column]
            for column in HASHED_FIELDS
        ),
        previous_hash,
        digest,
    ]


def _new_event(
    connection: Any, fields: dict[str, Any], previous_hash: str, digest: str
) -> AuditEvent:
    """The event as an instance, its id still to come. Built from its values in column order,
    as the ORM builds a row it reads: keyword arguments cost twice as much (5.9 against 2.8 us)."""
    return AuditEvent.from_db(
        connection.alias,
        _COLUMNS,
        [None, *(fields[column] for column in HASHED_FIELDS), previous_hash, digest],
    )


_COLUMNS = ("id", *STORED_FIELDS)


def _insert_and_move_head(
    cursor: Any, connection: Any, values: list[Any], digest: str, lane: int
) -> int:
    if connection.vendor == "postgresql":
        # One round trip for both writes.
        cursor.execute(
            f"WITH inserted AS ({_INSERT}) "  # noqa: S608 (constant SQL)
            "UPDATE audit_auditchainhead SET hash = %s WHERE id = %s "
            "RETURNING (SELECT id FROM inserted)",
            [*values, digest, lanes.head_id(lane)],
        )
        return int(cursor.fetchone()[0])
    cursor.execute(_INSERT, values)
    event_id = int(cursor.fetchone()[0])
    cursor.execute(_MOVE_HEAD, [digest, lanes.head_id(lane)])
    return event_id


# Lanes on PostgreSQL: the event and its lane head's move in one statement, which moves the
# head only if it is where this thread last saw it (number and hash: a head this thread moved
# in a transaction that rolled back names an event that was never committed). The head's row
# lock still orders appenders of one lane; one that finds the head moved writes nothing and
# claims the head instead (`_append_claiming`).
@per_vendor
def _one_trip_sql(connection: BaseDatabaseWrapper) -> str:
    # Typed casts: the values are not a VALUES list, so PostgreSQL cannot take their types
    # from the columns. A character column casts to varchar without a length, so an overlong
    # value fails on insert as it would otherwise (an explicit cast would cut it short).
    fields: list[Any] = [AuditEvent._meta.get_field(column) for column in STORED_FIELDS]
    casts = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields)
    # Constant column names and types only: nothing from input reaches this SQL.
    return (
        "WITH moved AS (UPDATE audit_auditchainhead SET sequence = %s, hash = %s "  # noqa: S608
        "WHERE id = %s AND sequence = %s AND hash = %s RETURNING id) "
        f"INSERT INTO audit_auditevent ({', '.join(STORED_FIELDS)}) "
        f"SELECT {casts} FROM moved RETURNING id"
    )


# The lane heads this thread last wrote or read, by database alias and lane.
_seen = threading.local()


def _seen_heads() -> dict[tuple[str, int], tuple[int, str]]:
    heads: dict[tuple[str, int], tuple[int, str]] | None = getattr(_seen, "heads", None)
    if heads is None:
        heads = _seen.heads = {}
    return heads


def _append_if_head_unmoved(
    cursor: Any, connection: Any, lane: int, fields: dict[str, Any], key: bytes
) -> AuditEvent | None:
    """Appends in one statement with the lane's head where this thread last left it. None,
    having written nothing, when the head has moved since (or this thread has not appended to
    the lane yet): the caller then claims the head as a single chain does, which queues on
    the head's lock and cannot fail, so no writer retries for ever."""
    heads = _seen_heads()
    place = (connection.alias, lane)
    remembered = heads.pop(place, None)
    if remembered is None:
        return None
    sequence, previous_hash = remembered
    fields["sequence"] = sequence + 1
    digest = row_hash(key=key, previous_hash=previous_hash, fields=fields)
    cursor.execute(
        _one_trip_sql(connection),
        [
            sequence + 1,
            digest,
            lanes.head_id(lane),
            sequence,
            previous_hash,
            *_stored_values(connection, fields, previous_hash, digest),
        ],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    event = _new_event(connection, fields, previous_hash, digest)
    event.id = int(row[0])
    heads[place] = (event.sequence, digest)
    return event
