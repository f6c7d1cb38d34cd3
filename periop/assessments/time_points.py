"""Clinical time points stored in two columns: a calendar date or an exact, aware instant.

A date means "that day, time unknown" and the engine treats it as a range of instants; an
instant is exact. Keeping them in separate columns preserves that difference in the database
instead of inventing a time of day for a date.
"""

from __future__ import annotations

import datetime as dt

TimePoint = dt.date | dt.datetime


def split_time_point(point: TimePoint | None) -> tuple[dt.date | None, dt.datetime | None]:
    """(date, None) for a calendar date, (None, instant) for an instant, (None, None) for None."""
    if point is None:
        return None, None
    # A datetime is also a date: test for it first.
    if isinstance(point, dt.datetime):
        if point.utcoffset() is None:
            raise ValueError("A clinical instant must carry its time-zone offset.")
        return None, point
    return point, None


def join_time_point(date: dt.date | None, instant: dt.datetime | None) -> TimePoint | None:
    """The stored point: the instant when set, else the date, else None (unknown)."""
    return instant if instant is not None else date


def time_point_text(point: TimePoint | None) -> str | None:
    """ISO 8601 text of a time point, for snapshots and audit payloads."""
    if point is None:
        return None
    if isinstance(point, dt.datetime):
        return point.astimezone(dt.UTC).isoformat()
    return point.isoformat()


def time_point_start(point: TimePoint | None) -> dt.datetime | None:
    """The instant an audit event's data time (ASTM 7.1.2) records for a time point.

    A date becomes its start in UTC: the ledger's column holds instants, and the payload keeps
    the exact value as entered.
    """
    if point is None:
        return None
    if isinstance(point, dt.datetime):
        return point
    return dt.datetime.combine(point, dt.time(), tzinfo=dt.UTC)
