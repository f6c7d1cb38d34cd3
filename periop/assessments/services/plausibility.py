"""Warnings about recorded values that are allowed but unlikely: a child's weight that is
biologically implausible for the age and sex on the 2000 CDC growth charts.

A warning never blocks: the assessment is saved, and the API and the web page show the same
message (both ask this module). It is worked out from the assessment as stored (weight,
planned time, the patient's birth date and sex), so it shows for as long as the weight stays.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from django.conf import settings

from periop.assessments.growth import GrowthSex, GrowthTable, WeightForAge, load_growth_table
from periop.assessments.models import Assessment, Patient, Sex

IMPLAUSIBLE_WEIGHT = "implausible-weight"
GROWTH_FILE = "growth/cdc-2000-weight-for-age.toml"
_NOUN: dict[GrowthSex, str] = {"male": "boy", "female": "girl"}


@functools.cache
def growth_table() -> GrowthTable:
    """The CDC weight-for-age table, read once per process."""
    return load_growth_table(settings.BASE_DIR / "fixtures" / "knowledge" / GROWTH_FILE)


def _age_text(birth_date: dt.date, on: dt.date) -> str:
    """The age in completed days under a month, months under two years, years after."""
    months = (on.year - birth_date.year) * 12 + on.month - birth_date.month
    if on.day < birth_date.day:
        months -= 1
    if months < 1:
        days = (on - birth_date).days
        return f"{days} day{'' if days == 1 else 's'}"
    if months < 24:
        return f"{months} month{'' if months == 1 else 's'}"
    return f"{months // 12} years"


def _score(value: float) -> str:
    return f"{value:+.1f}"


def weight_warning(*, patient: Patient, at: dt.datetime, weight_kg: Decimal) -> str | None:
    """The warning for a weight that is implausible for the patient's age and sex at `at`, or
    None. Patients of 20 years (240 months) and over are not checked. A patient whose sex is
    recorded as other or unknown is checked against boys and girls and warned about only when
    the weight is implausible for both."""
    on = at.astimezone(dt.UTC).date()
    age_days = (on - patient.birth_date).days
    if age_days < 0:
        return None
    table = growth_table()
    recorded: dict[str, tuple[GrowthSex, ...]] = {Sex.MALE: ("male",), Sex.FEMALE: ("female",)}
    sexes = recorded.get(patient.sex, ("male", "female"))
    results: list[WeightForAge] = []
    for sex in sexes:
        result = table.weight_for_age(sex=sex, age_days=age_days, weight_kg=float(weight_kg))
        if result is None or not result.implausible:
            return None
        results.append(result)
    weight = f"{weight_kg.normalize():f}"
    age = _age_text(patient.birth_date, on)
    below, above = f"{table.implausible_below:+g}", f"{table.implausible_above:+g}"
    plausible = f"plausible is {below} to {above}"
    if len(results) == 1:
        (result,) = results
        who = f"a {_NOUN[result.sex]} aged {age}"
        scores = f"modified weight-for-age z-score {_score(result.modified_z)}; {plausible}"
    else:
        who = f"a child aged {age}, both as a boy and as a girl"
        scores = (
            "the sex is not recorded as female or male; modified weight-for-age z-score "
            + ", ".join(f"{_score(r.modified_z)} as a {_NOUN[r.sex]}" for r in results)
            + f"; {plausible}"
        )
    return (
        f"Weight {weight} kg is outside the plausible range of the CDC growth charts for "
        f"{who} ({scores}). Check the weight and its units (kg)."
    )


def assessment_warnings(assessment: Assessment) -> list[dict[str, Any]]:
    """The assessment's warnings, as the API returns them: `code`, `field` and `message`."""
    message = weight_warning(
        patient=assessment.patient, at=assessment.planned_at, weight_kg=assessment.weight_kg
    )
    if message is None:
        return []
    return [{"code": IMPLAUSIBLE_WEIGHT, "field": "weight_kg", "message": message}]
