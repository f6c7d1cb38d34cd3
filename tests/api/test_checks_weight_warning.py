"""POST /api/v1/checks warns about a weight implausible for the age in years and the sex, as
patient checks and assessments do for a birth date; it never blocks the check."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from periop.drugs.engine.growth import DAYS_PER_MONTH
from periop.drugs.plausibility import (
    growth_table,
    weight_warning_at_age,
    weight_warning_in_year,
)

AT = "2026-11-22T08:00:00+00:00"


def check(client, patient, drugs=("rocuronium",)):
    return client.post(
        "/api/v1/checks",
        {"at": AT, "patient": patient, "conditions": [], "drugs": list(drugs)},
        format="json",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["", "?view=summary"])
def test_a_two_year_old_of_60_kg_is_checked_with_a_warning(pharmacist_client, view):
    response = pharmacist_client.post(
        f"/api/v1/checks{view}",
        {
            "at": AT,
            "patient": {"age_years": 2, "sex": "male", "weight_kg": 60},
            "drugs": ["rocuronium"],
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert [caution["drug"] for caution in body["cautions"]] == ["rocuronium"]
    (warning,) = body["warnings"]
    assert warning["code"] == "implausible-weight"
    assert warning["field"] == "weight_kg"
    assert warning["message"].startswith(
        "Weight 60 kg is outside the plausible range of the CDC growth charts for a boy aged "
        "2 years"
    )
    assert warning["message"].endswith("Check the weight and its units (kg).")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "patient",
    [
        {"age_years": 2, "sex": "female", "weight_kg": 12},
        # 20 years and over are not checked.
        {"age_years": 25, "sex": "male", "weight_kg": 250},
        {"age_years": 2, "sex": "male"},
        {"sex": "male", "weight_kg": 60},
        {},
    ],
)
def test_a_plausible_weight_an_adult_or_a_missing_age_or_weight_gives_no_warning(
    pharmacist_client, patient
):
    response = check(pharmacist_client, patient)

    assert response.status_code == 200
    assert response.json()["warnings"] == []


@pytest.mark.django_db
def test_a_weight_plausible_at_some_age_in_the_year_gives_no_warning(pharmacist_client):
    """9 kg is far too heavy for a newborn but ordinary at eleven months: given only "under a
    year", the check cannot call it implausible."""
    assert weight_warning_at_age(
        birth_date=dt.date(2026, 11, 22), sex="male", on=dt.date(2026, 11, 22), weight_kg=Decimal(9)
    )

    response = check(pharmacist_client, {"age_years": 0, "sex": "male", "weight_kg": 9})

    assert response.json()["warnings"] == []


def _birth_date_at(on: dt.date, age_days: int) -> dt.date:
    return on - dt.timedelta(days=age_days)


@settings(max_examples=150, deadline=None)
@given(
    age_years=st.integers(min_value=0, max_value=19),
    sex=st.sampled_from(["male", "female", "other", "unknown"]),
    weight=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("200"), places=1),
    day_in_year=st.integers(min_value=0, max_value=364),
)
def test_a_warning_for_the_year_holds_at_every_age_in_it(age_years, sex, weight, day_in_year):
    """Whenever the year-only check warns, the check with a birth date warns too, at any day
    of that year of age: the stateless warning never claims more than the age given allows."""
    message = weight_warning_in_year(age_years=age_years, sex=sex, weight_kg=weight)
    if message is None:
        return
    on = dt.date(2026, 11, 22)
    start = round(age_years * 12 * DAYS_PER_MONTH)
    end = round((age_years + 1) * 12 * DAYS_PER_MONTH) - 1
    age_days = min(start + day_in_year, end)
    assert weight_warning_at_age(
        birth_date=_birth_date_at(on, age_days), sex=sex, on=on, weight_kg=weight
    ), (age_years, sex, weight, age_days)


def test_a_weight_implausible_for_the_whole_year_for_one_sex_only_warns_only_for_that_sex():
    """The sex not recorded as female or male is warned about only when both charts agree."""
    table = growth_table()

    def heaviest_plausible(sex: str) -> float:
        # At the end of the third year of age, where the year's heaviest plausible weight is.
        lms = table.lms(sex, 35.99)
        assert lms is not None
        return lms.m + table.implausible_above * (lms.weight_at(2) - lms.m) / 2

    lighter, heavier = sorted(["female", "male"], key=heaviest_plausible)
    assert heaviest_plausible(lighter) < heaviest_plausible(heavier) - 0.2
    # Too heavy all year for the lighter chart, plausible for the heavier one at three years.
    weight = Decimal(str(round(heaviest_plausible(lighter) + 0.1, 1)))

    assert weight_warning_in_year(age_years=2, sex=lighter, weight_kg=weight)
    assert weight_warning_in_year(age_years=2, sex=heavier, weight_kg=weight) is None
    assert weight_warning_in_year(age_years=2, sex="unknown", weight_kg=weight) is None
    assert weight_warning_in_year(age_years=2, sex="other", weight_kg=weight) is None


@pytest.mark.parametrize("sex", ["male", "female"])
def test_the_ages_the_year_check_reads_hold_the_years_lightest_and_heaviest_bounds(sex):
    """The year check reads the table's rows in the year and the year's two ends, not every
    day: that is exact because, on this table, the lightest and heaviest plausible weights of
    every year fall on the days it reads."""
    table = growth_table()

    def bounds(day: int) -> tuple[float, float] | None:
        lms = table.lms(sex, day / DAYS_PER_MONTH)
        if lms is None:
            return None
        lightest = lms.m + table.implausible_below * (lms.m - lms.weight_at(-2)) / 2
        heaviest = lms.m + table.implausible_above * (lms.weight_at(2) - lms.m) / 2
        return lightest, heaviest

    for age_years in range(20):
        start, end = age_years * 12, age_years * 12 + 12
        first, last = round(start * DAYS_PER_MONTH), round(end * DAYS_PER_MONTH - 1)
        every_day = [b for day in range(first, last + 1) if (b := bounds(day))]
        read = [
            b
            for day in (
                first,
                *(round(age * DAYS_PER_MONTH) for age in table.row_ages(sex, start, end)),
                last,
            )
            if (b := bounds(day))
        ]
        assert min(b[0] for b in read) == pytest.approx(min(b[0] for b in every_day), abs=1e-9)
        assert max(b[1] for b in read) == pytest.approx(max(b[1] for b in every_day), abs=1e-9)
