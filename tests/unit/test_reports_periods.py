"""Report periods: whole local days of the department's time zone, as UTC instants."""

from __future__ import annotations

import datetime as dt

import pytest

from periop.reports.periods import (
    PeriodError,
    ReportPeriod,
    report_period_parse,
    report_period_shortcuts,
)

TODAY = dt.date(2026, 11, 22)


def parse(first, last, zone="Europe/London"):
    return report_period_parse(first=first, last=last, time_zone=zone, today=TODAY)


def test_the_end_is_local_midnight_after_the_last_day():
    period = parse("2026-10-01", "2026-10-31", "America/New_York")
    assert period.start == dt.datetime(2026, 10, 1, 4, 0, tzinfo=dt.UTC)
    # Daylight saving time ends on 1 November 2026 at 02:00 in New York, after midnight.
    assert period.end == dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)
    last_minute = dt.datetime(2026, 11, 1, 3, 30, tzinfo=dt.UTC)  # 23:30 on 31 October
    first_minute_out = dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC)  # 00:30 on 1 November
    assert period.start <= last_minute < period.end
    assert not first_minute_out < period.end


def test_a_period_over_the_clock_change_keeps_whole_local_days():
    period = parse("2026-03-29", "2026-03-29", "Europe/London")
    # Aware datetimes in one zone subtract as wall time; in UTC the day is 23 hours long.
    assert period.end.astimezone(dt.UTC) - period.start.astimezone(dt.UTC) == dt.timedelta(hours=23)


def test_without_dates_it_is_the_current_month_to_date():
    assert parse(None, None) == ReportPeriod(dt.date(2026, 11, 1), TODAY, "Europe/London")


def test_one_date_gives_that_month():
    assert parse("2026-02-01", None).last_day == dt.date(2026, 2, 28)
    assert parse(None, "2026-02-14").first_day == dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-02-30", "2026-03-01", "from"),
        ("2026-03-01", "soon", "to"),
        ("2026-03-02", "2026-03-01", "from"),
        ("2024-01-01", "2026-01-01", "to"),
        ("1900-01-01", "1900-01-02", "from"),
    ],
)
def test_bad_periods_name_the_field(first, last, field):
    with pytest.raises(PeriodError) as error:
        parse(first, last)
    assert error.value.field == field


def test_long_periods_are_charted_by_month():
    assert not parse("2026-01-01", "2026-03-03").by_month
    assert parse("2026-01-01", "2026-12-31").by_month


def test_the_review_shortcuts_end_today_and_cover_whole_months():
    shortcuts = {
        label: (first, last) for label, first, last in report_period_shortcuts(today=TODAY)
    }

    assert shortcuts["Last 7 days"] == (dt.date(2026, 11, 16), TODAY)
    assert shortcuts["Last 30 days"] == (dt.date(2026, 10, 24), TODAY)
    assert shortcuts["This month"] == (dt.date(2026, 11, 1), TODAY)
    assert shortcuts["Last month"] == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def test_last_month_in_january_is_the_previous_december():
    shortcuts = {
        label: (first, last)
        for label, first, last in report_period_shortcuts(today=dt.date(2027, 1, 3))
    }

    assert shortcuts["Last month"] == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
