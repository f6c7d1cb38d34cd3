"""The implausible-weight warning's wording and whom it concerns (no database: the patient is
never saved)."""

import datetime as dt
from decimal import Decimal

import pytest

from periop.assessments import checks
from periop.assessments.models import Patient
from periop.assessments.services.plausibility import weight_warning
from periop.drugs.engine.growth import DAYS_PER_MONTH
from periop.drugs.plausibility import growth_table
from tests.knowledge_releases import knowledge_copy

AT = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)


def child(sex: str, birth_date: dt.date) -> Patient:
    return Patient(name="Test", mrn="MRN1", birth_date=birth_date, sex=sex)


def heaviest_plausible(sex: str, birth_date: dt.date) -> Decimal:
    """The heaviest weight the CDC cut-off lets pass at the planned time, to the gram."""
    lms = growth_table().lms(sex, (AT.date() - birth_date).days / DAYS_PER_MONTH)
    assert lms is not None
    unit = (lms.weight_at(2) - lms.m) / 2
    return Decimal(lms.m + growth_table().implausible_above * unit).quantize(Decimal("0.001"))


def test_a_weight_implausible_for_one_sex_only_is_no_warning_when_the_sex_is_not_recorded():
    born = dt.date(2022, 12, 1)
    heaviest = {sex: heaviest_plausible(sex, born) for sex in ("female", "male")}
    lower, higher = sorted(heaviest, key=heaviest.__getitem__)
    assert heaviest[lower] < heaviest[higher]  # at 4 years the ranges end apart
    between = (heaviest[lower] + heaviest[higher]) / 2

    assert weight_warning(patient=child(lower, born), at=AT, weight_kg=between) is not None
    assert weight_warning(patient=child(higher, born), at=AT, weight_kg=between) is None
    assert weight_warning(patient=child("unknown", born), at=AT, weight_kg=between) is None
    assert weight_warning(patient=child("other", born), at=AT, weight_kg=between) is None
    beyond_both = heaviest[higher] + 1
    assert weight_warning(patient=child("other", born), at=AT, weight_kg=beyond_both) is not None


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (dt.date(2026, 11, 20), "a girl aged 11 days"),
        (dt.date(2026, 10, 1), "a girl aged 2 months"),
        (dt.date(2025, 6, 2), "a girl aged 17 months"),
        (dt.date(2024, 12, 1), "a girl aged 2 years"),
        (dt.date(2007, 12, 2), "a girl aged 18 years"),
    ],
)
def test_the_age_is_given_in_days_months_or_years_at_the_planned_time(born, age):
    message = weight_warning(patient=child("female", born), at=AT, weight_kg=Decimal("400"))

    assert message is not None
    assert age in message
    assert message.startswith("Weight 400 kg is outside the plausible range")


def test_a_plausible_weight_an_adult_and_a_time_before_birth_give_no_warning():
    cases = [
        ("2022-12-01", "16"),  # a boy of 4 at 16 kg
        ("2006-11-30", "400"),  # 20 years old: not checked
        ("2027-01-01", "1"),  # planned before birth (refused elsewhere)
    ]
    for born, weight in cases:
        patient = child("male", dt.date.fromisoformat(born))
        assert weight_warning(patient=patient, at=AT, weight_kg=Decimal(weight)) is None


def test_a_knowledge_base_without_the_weight_for_age_chart_fails_the_system_check(
    settings, tmp_path
):
    assert checks.growth_table_readable() == []
    directory = knowledge_copy(tmp_path, "2026.12.1")
    (directory / "growth" / "cdc-2000-weight-for-age.toml").unlink()
    settings.KNOWLEDGE_BASE_DIR = directory

    errors = checks.growth_table_readable()

    assert [error.id for error in errors] == ["assessments.E002"]
    assert "has no weight-for-age chart (growth/cdc-2000-weight-for-age.toml)" in errors[0].msg
