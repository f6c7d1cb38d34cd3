"""Report periods: whole days in the department's time zone, turned into UTC instants."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

# Longest period one report covers: a year and a day, so a leap year fits.
MAXIMUM_DAYS = 367


class PeriodError(ValueError):
    """A period that cannot be reported on; the message says why, for the form or the API."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """From the start of `first_day` to the end of `last_day`, both inclusive, local time."""

    first_day: dt.date
    last_day: dt.date
    time_zone: str

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period (inclusive)."""
        return dt.datetime.combine(self.first_day, dt.time.min, tzinfo=self.zone)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (exclusive): local midnight after the last day,
        so an event at 23:59:59.999999 local on the last day is in and 00:00 is out."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time.min, self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def by_month(self) -> bool:
        """Long periods are charted by month, short ones by day."""
        return self.days > 62

    def as_dict(self) -> dict[str, str]:
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "time_zone": self.time_zone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def local_today(time_zone: str, now: dt.datetime) -> dt.date:
    """The calendar day it is at `now` in the time zone: what "today" means on a report."""
    return now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def report_period_shortcuts(*, today: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """Ready-made periods for routine activity review (HIPAA 164.308(a)(1)(ii)(D)), as
    (label, first day, last day), ending today in the department's time zone."""
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    return [
        ("Last 7 days", today - dt.timedelta(days=6), today),
        ("Last 30 days", today - dt.timedelta(days=29), today),
        ("This month", today.replace(day=1), today),
        ("Last month", last_month_end.replace(day=1), last_month_end),
    ]


def _parse_day(value: str | None, field: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PeriodError(
            f"'{value[:40]}' is not a date: use YYYY-MM-DD, for example 2026-11-01.", field=field
        ) from None


def report_period_parse(
    *, first: str | None, last: str | None, time_zone: str, today: dt.date
) -> ReportPeriod:
    """The period of the `from` and `to` parameters (dates, both inclusive). Without them, the
    current month up to today; with only one, that day's month."""
    first_day = _parse_day(first, "from")
    last_day = _parse_day(last, "to")
    if first_day is None and last_day is None:
        first_day, last_day = today.replace(day=1), today
    elif first_day is None:
        assert last_day is not None  # noqa: S101 (narrowing for the type checker)
        first_day = last_day.replace(day=1)
    elif last_day is None:
        next_month = (first_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last_day = next_month - dt.timedelta(days=1)
    if first_day > last_day:
        raise PeriodError(
            f"The period starts ({first_day}) after it ends ({last_day}).", field="from"
        )
    if (last_day - first_day).days + 1 > MAXIMUM_DAYS:
        raise PeriodError(
            f"A report covers at most {MAXIMUM_DAYS} days; split the period.", field="to"
        )
    if first_day.year < 2000 or last_day.year > 2999:
        raise PeriodError("Choose dates between the years 2000 and 2999.", field="from")
    return ReportPeriod(first_day=first_day, last_day=last_day, time_zone=time_zone)
