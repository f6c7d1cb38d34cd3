"""Verification of the audit chain: finds the first altered, deleted or inserted event."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from periop.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    STORED_FIELDS,
    iso_utc,
    verification_keys,
)
from periop.audit.models import AuditChainHead

CHUNK_SIZE = 5000


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    events: int
    head: str
    first_broken_sequence: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"ok": self.ok, "events": self.events, "head": self.head}
        if not self.ok:
            result["first_broken_sequence"] = self.first_broken_sequence
            result["problem"] = self.problem
        return result


def _problem(
    row: tuple[Any, ...], expected_sequence: int, previous_hash: str, keys: dict[str, bytes]
) -> tuple[int, str] | None:
    """The first thing wrong with one stored row, as (sequence, explanation), or None."""
    sequence = row[_SEQUENCE]
    if sequence != expected_sequence:
        return (
            expected_sequence,
            f"Event {expected_sequence} is missing (the next stored event is {sequence}).",
        )
    if row[_PREVIOUS_HASH] != previous_hash:
        return sequence, f"Event {sequence} does not link to event {sequence - 1}."
    key = keys.get(row[_KEY_ID])
    if key is None:
        return sequence, f"Event {sequence} names an unknown key id {row[_KEY_ID]!r}."
    message = previous_hash.encode() + b"\n" + _ENCODE(row[:_HASHED]).encode()
    if hmac.digest(key, message, "sha256").hex() != row[_HASH]:
        return sequence, f"Event {sequence} was altered: its content does not match its hash."
    return None


_HASHED = len(HASHED_FIELDS)
_SEQUENCE = HASHED_FIELDS.index("sequence")
_KEY_ID = HASHED_FIELDS.index("key_id")
_PREVIOUS_HASH = _HASHED
_HASH = _HASHED + 1
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _select_sql(vendor: str) -> str:
    """Selects the hashed columns with datetimes already in the canonical text form, so
    verification neither parses nor re-formats them."""
    columns = []
    for name in STORED_FIELDS:
        if name in {"occurred_at", "data_time"} and vendor == "postgresql":
            columns.append(
                f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            )
        else:
            columns.append(name)
    # Constant column names only: nothing from input reaches this SQL.
    return f"SELECT {', '.join(columns)} FROM audit_auditevent ORDER BY sequence"  # noqa: S608


def _sqlite_datetime(value: dt.datetime | str | None) -> str | None:
    # Django stores UTC without an offset on SQLite; its driver hands back naive datetimes.
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return iso_utc(value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value)


def _rows() -> Iterator[tuple[Any, ...]]:
    occurred = HASHED_FIELDS.index("occurred_at")
    data_time = HASHED_FIELDS.index("data_time")
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_select_sql(connection.vendor))
        while batch := cursor.fetchmany(CHUNK_SIZE):
            if connection.vendor == "postgresql":
                yield from batch
                continue
            for row in batch:
                fixed = list(row)
                fixed[occurred] = _sqlite_datetime(row[occurred])
                fixed[data_time] = _sqlite_datetime(row[data_time])
                yield tuple(fixed)


def audit_chain_verify() -> ChainVerification:
    """Walks the ledger in sequence order and recomputes every link of the chain."""
    keys = verification_keys()
    previous_hash = GENESIS_HASH
    count = 0
    # The hot loop checks the common case inline (one key, intact link, matching HMAC) and
    # hands anything unusual to `_problem`, which explains it.
    encode = _ENCODE
    digest = hmac.digest
    single_key = next(iter(keys.values())) if len(keys) == 1 else None
    for row in _rows():
        key = single_key or keys.get(row[_KEY_ID])
        if (
            key is None
            or row[_SEQUENCE] != count + 1
            or row[_PREVIOUS_HASH] != previous_hash
            or digest(key, f"{previous_hash}\n{encode(row[:_HASHED])}".encode(), "sha256").hex()
            != row[_HASH]
        ):
            problem = _problem(row, count + 1, previous_hash, keys)
            if problem is not None:
                return ChainVerification(
                    ok=False,
                    events=count,
                    head=previous_hash,
                    first_broken_sequence=problem[0],
                    problem=problem[1],
                )
        previous_hash = row[_HASH]
        count += 1

    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.sequence > count:
        return ChainVerification(
            ok=False,
            events=count,
            head=previous_hash,
            first_broken_sequence=count + 1,
            problem=(
                f"The ledger ends at event {count} but its head records {head.sequence} events: "
                "the latest events were deleted."
            ),
        )
    return ChainVerification(ok=True, events=count, head=previous_hash)
