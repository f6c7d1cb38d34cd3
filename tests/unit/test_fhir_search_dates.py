"""The instants a FHIR `date` search value stands for (periop.interop.fhir.audit_events)."""

import datetime as dt

import pytest

from periop.interop.fhir.audit_events import SearchParameterError, date_range

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026", ("eq", dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))),
        (
            "le2026-12",
            ("le", dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC)),
        ),
        (
            "ge2024-02-29",
            ("ge", dt.datetime(2024, 2, 29, tzinfo=UTC), dt.datetime(2024, 3, 1, tzinfo=UTC)),
        ),
        (
            "gt2026-03-29T01:30+01:00",
            (
                "gt",
                dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
                dt.datetime(2026, 3, 29, 0, 31, tzinfo=UTC),
            ),
        ),
        (
            "lt2026-01-31T23:59:59Z",
            (
                "lt",
                dt.datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC),
                dt.datetime(2026, 2, 1, tzinfo=UTC),
            ),
        ),
        (
            "2026-01-31T23:59:59.5Z",
            (
                "eq",
                dt.datetime(2026, 1, 31, 23, 59, 59, 500000, tzinfo=UTC),
                dt.datetime(2026, 1, 31, 23, 59, 59, 600000, tzinfo=UTC),
            ),
        ),
    ],
)
def test_a_date_value_is_the_range_of_its_precision(value, expected):
    prefix, start, end = date_range(value)

    assert (prefix, start, end) == expected


@pytest.mark.parametrize(
    "value",
    ["2025-02-29", "2026-00", "9999-12", "2026-01-01T25:00Z", "sa2026", "2026-01-01T10:00", "26"],
)
def test_impossible_or_unsupported_values_name_the_date_parameter(value):
    with pytest.raises(SearchParameterError) as raised:
        date_range(value)

    assert raised.value.parameter == "date"
