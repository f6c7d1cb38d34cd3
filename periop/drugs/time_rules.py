"""The order rules of clinical time points, shared by every door that takes them: the check
API's serializers, the record services (API and web forms alike).

A calendar date stands for every instant of that day in every time zone, so one point is
"before" another only when it is certainly so: the latest instant it can mean is earlier than
the earliest the other can mean.
"""

from __future__ import annotations

import datetime as dt

TimePoint = dt.date | dt.datetime
_EARLIEST_OFFSET = dt.timezone(dt.timedelta(hours=14))
_LATEST_OFFSET = dt.timezone(dt.timedelta(hours=-12))


def earliest_instant(point: TimePoint) -> dt.datetime:
    """The earliest instant a time point can mean (a date starts first at UTC+14)."""
    if isinstance(point, dt.datetime):
        return point
    return dt.datetime.combine(point, dt.time(), tzinfo=_EARLIEST_OFFSET)


def latest_instant(point: TimePoint) -> dt.datetime:
    """The latest instant a time point can mean (a date ends last at UTC-12)."""
    if isinstance(point, dt.datetime):
        return point
    return dt.datetime.combine(point + dt.timedelta(days=1), dt.time(), tzinfo=_LATEST_OFFSET)


def certainly_before(first: TimePoint, second: TimePoint) -> bool:
    return latest_instant(first) < earliest_instant(second)


def resolved_before_onset(onset: TimePoint | None, resolved: TimePoint | None) -> str | None:
    """The message when a condition is resolved before its onset, else None."""
    if onset is not None and resolved is not None and certainly_before(resolved, onset):
        return f"Resolved ({resolved.isoformat()}) is before onset ({onset.isoformat()})."
    return None


def stopped_before_started(started: TimePoint | None, stopped: TimePoint | None) -> str | None:
    """The message when a medication is stopped before it started, else None."""
    if started is not None and stopped is not None and certainly_before(stopped, started):
        return f"Stopped ({stopped.isoformat()}) is before started ({started.isoformat()})."
    return None


def before_birth(point: TimePoint | None, birth_date: dt.date | None, what: str) -> str | None:
    """The message when a clinical time point is certainly before the patient's birth."""
    if point is not None and birth_date is not None and certainly_before(point, birth_date):
        return f"{what} ({point.isoformat()}) is before the patient's birth ({birth_date})."
    return None


def in_the_future(point: TimePoint | None, now: dt.datetime, what: str) -> str | None:
    """The message when a time point that must have happened has certainly not happened yet."""
    if point is not None and earliest_instant(point) > now:
        return f"{what} ({point.isoformat()}) is in the future."
    return None
