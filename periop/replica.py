"""Reports read from a streaming read replica when one is configured (`DATABASE_REPLICA_URL`).

Only the report views opt in, through `report_reads()`: it measures how far the replica is
behind the primary and, when that is within `REPLICA_MAX_LAG_SECONDS`, routes the report's
reads to the `replica` alias for the duration of the block (`ReplicaRouter`). Everything else,
and every write (the report's own audit event included), goes to the primary.

How far behind: the primary's WAL insert position (`pg_current_wal_lsn()`) is read right after
the chain head the report pins, then the replica's replay position
(`pg_last_wal_replay_lsn()`). A replica that has replayed at least that far holds everything
the primary had committed when the head was read: its lag is 0, and it stays 0 however long the
primary has been idle (unlike `now() - pg_last_xact_replay_timestamp()` alone, which grows
without bound on an idle primary and would send every report of a quiet night to the primary).
Only a replica that has not yet replayed that far gets a lag in seconds: the age of the newest
transaction it has replayed (`now() - pg_last_xact_replay_timestamp()`). Its data is the
primary's state at some instant after that transaction, so the age bounds its staleness from
above; it assumes the two servers' clocks agree (NTP), as PostgreSQL's own lag figures do.

A replica that cannot be reached, or whose lag exceeds the bound, is skipped: the report reads
the primary and says so, with the lag it measured.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

PRIMARY = "default"
REPLICA = "replica"

logger = logging.getLogger(__name__)

_reading_from: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "periop_reading_from", default=None
)


class ReplicaRouter:
    """Reads go to the alias a `report_reads()` block chose (the replica or the primary);
    every other read, every write and every migration to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _reading_from.get()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the primary's rows: an object read from either relates to both.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        # The replica receives the schema through replication, never by migrating it.
        return db == PRIMARY


@dataclass(frozen=True)
class ReadSource:
    """Where a report read its figures, for the report to print."""

    database: str  # "primary" or "replica"
    alias: str  # the Django database alias the reads went to
    replica_configured: bool
    lag_seconds: float | None  # the replica's lag when measured, else None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "replica_lag_seconds": self.lag_seconds,
            "reason": self.reason,
            "statement": self.statement,
        }

    @property
    def statement(self) -> str:
        """One sentence for the report pages."""
        if not self.replica_configured:
            return "Read from the primary database (no read replica is configured)."
        lag = "unknown" if self.lag_seconds is None else f"{self.lag_seconds:.3f} s"
        where = "the read replica" if self.database == "replica" else "the primary database"
        return f"Read from {where}; replica lag {lag} ({self.reason})."


def replica_configured() -> bool:
    return REPLICA in connections.settings


def primary_wal_position() -> str | None:
    """The primary's current WAL insert position (PostgreSQL, with a replica configured), or
    None."""
    primary = connections[PRIMARY]
    if primary.vendor != "postgresql" or not replica_configured():
        return None
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def replica_lag_seconds(wal_position: str | None) -> float:
    """How many seconds the replica is behind the primary's `wal_position` (0 when it has
    replayed at least that far, or when it is not a standby at all)."""
    replica = connections[REPLICA]
    if replica.vendor != "postgresql":
        # Not a streaming replica (the test mirror of a SQLite database): nothing to lag.
        return 0.0
    with replica.cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= %s::pg_lsn, "
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8",
            [wal_position or "0/0"],
        )
        in_recovery, caught_up, age = cursor.fetchone()
    if not in_recovery or (wal_position is not None and caught_up):
        return 0.0
    # Behind, and nothing replayed yet since it started: as far behind as can be told.
    return float("inf") if age is None else max(0.0, float(age))


def read_source_choose(
    wal_position: str | None = None, *, max_lag_seconds: float | None = None
) -> ReadSource:
    """The replica when it is configured, reachable and within the lag bound
    (`REPLICA_MAX_LAG_SECONDS` unless `max_lag_seconds` is given); else the primary, with the
    reason. A replica just behind `wal_position` gets `REPLICA_CATCH_UP_WAIT_SECONDS` to
    replay it (asynchronous replication usually needs milliseconds)."""
    if not replica_configured():
        return ReadSource("primary", PRIMARY, False, None, "no replica configured")
    bound = float(settings.REPLICA_MAX_LAG_SECONDS if max_lag_seconds is None else max_lag_seconds)
    deadline = time.monotonic() + float(settings.REPLICA_CATCH_UP_WAIT_SECONDS)
    try:
        lag = replica_lag_seconds(wal_position)
        while lag > bound and time.monotonic() < deadline:
            time.sleep(0.01)
            lag = replica_lag_seconds(wal_position)
    except DatabaseError:
        logger.warning("The read replica cannot be reached: the report reads the primary.")
        return ReadSource("primary", PRIMARY, True, None, "replica unreachable")
    if lag > bound:
        shown = "unknown" if lag == float("inf") else f"{lag:.3f} s"
        measured = None if lag == float("inf") else lag
        reason = f"replica lag {shown} exceeds the {bound:g} s bound"
        return ReadSource("primary", PRIMARY, True, measured, reason)
    return ReadSource("replica", REPLICA, True, lag, f"within the {bound:g} s bound")


def read_source_unrouted() -> ReadSource:
    """The source of reads made outside `report_reads()`: the primary."""
    if not replica_configured():
        return ReadSource("primary", PRIMARY, False, None, "no replica configured")
    return ReadSource("primary", PRIMARY, True, None, "read outside replica routing")


@contextmanager
def report_reads(
    wal_position: str | None = None, *, max_lag_seconds: float | None = None
) -> Iterator[ReadSource]:
    """Routes the reads inside the block to the database `read_source_choose()` picks.
    Querysets evaluated after the block (a streamed CSV) must be pinned with
    `.using(source.alias)`."""
    source = read_source_choose(wal_position, max_lag_seconds=max_lag_seconds)
    token = _reading_from.set(source.alias)
    try:
        yield source
    finally:
        _reading_from.reset(token)
