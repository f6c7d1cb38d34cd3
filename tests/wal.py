"""PostgreSQL's count of WAL syncs to disk, for tests of which commits wait for the disk."""

from __future__ import annotations

from django.db import connection


def wal_syncs() -> int:
    """The cluster's WAL syncs so far (statistics flushed first, read afresh)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT wal_sync FROM pg_stat_wal")
        return int(cursor.fetchone()[0])
