"""Warnings about a weight that is allowed but unlikely: biologically implausible for the age
and sex on the 2000 CDC growth charts (`periop.drugs.engine.growth`).

The growth chart is part of the knowledge-base release (`growth/cdc-2000-weight-for-age.toml`,
counted in its digest and signed off like a rule): a weight is checked against the chart of
the release in force, the active one for a check, an assessment's own release for an
assessment (`kb`). A release stored before the chart was part of releases has none: its
weights are checked on the chart such releases were always checked on, the shipped file's,
pinned by the digest of its data (`LEGACY_GROWTH_DATA_SHA256`), so an assessment of such a
release keeps the warning it showed. Should the shipped data ever differ from the pin, a
child's weight (under 240 months, the charts' range) under such a release is not checked, and
the answer says so with a `weight-unchecked` warning instead of staying silent
(`GrowthChartMissing`).

A warning never blocks. Two doors ask it: a recorded patient (birth date, so the exact age in
days: assessments and patient checks, through `periop.assessments.services.plausibility`) and
the stateless `POST /api/v1/checks`, which knows the age only in whole years. For the latter
the weight is called implausible only when it is implausible at every age the patient can be
within that year (checked at the table's own rows in the year and at the year's two ends, where
on this table every year's lightest and heaviest plausible weights fall: a test holds this
against every day), so the warning never rests on an age the caller did not give.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings

from periop.drugs.engine import KnowledgeBase
from periop.drugs.engine.growth import (
    DAYS_PER_MONTH,
    GROWTH_FILE,
    GrowthSex,
    GrowthTable,
    WeightForAge,
    load_growth_table,
)
from periop.drugs.engine.toml_checks import canonical_json
from periop.drugs.registry import get_knowledge_base

logger = logging.getLogger(__name__)

IMPLAUSIBLE_WEIGHT = "implausible-weight"
WEIGHT_UNCHECKED = "weight-unchecked"
_NOUN: dict[GrowthSex, str] = {"male": "boy", "female": "girl"}
MONTHS_PER_YEAR = 12
# The ages the 2000 CDC charts cover (birth to 20 years): a weight at these ages is one a
# release's chart would check, so a release without a chart flags it as not checked.
CHART_MONTHS = 240

# Releases stored before the chart was part of a release (2026.11.3 and earlier) checked
# weights against the chart shipped with the application. Its data (every table, the cut-offs
# and the source, parsed: comments do not count) are pinned by this SHA-256 of their canonical
# JSON, so that a weight under such a release is still checked on exactly the chart it was
# checked on then, and an assessment of it keeps the warning it showed when it was made. If the
# shipped file's data ever differ from the pin, that chart is not used: such releases' weights
# are flagged as not checked (`weight-unchecked`), never checked on another table.
LEGACY_GROWTH_DATA_SHA256 = "dcf08afe3bec9fa9915a2306f5fcbd001fc6071537e887f5c4eb6f913ac42942"

__all__ = ["GROWTH_FILE", "IMPLAUSIBLE_WEIGHT", "WEIGHT_UNCHECKED", "GrowthChartMissing"]


@functools.cache
def legacy_growth_table() -> GrowthTable | None:
    """The chart releases without one of their own were checked on: the shipped file, when its
    data are still those pinned by `LEGACY_GROWTH_DATA_SHA256`; None otherwise (logged)."""
    path = settings.BASE_DIR / "fixtures" / "knowledge" / GROWTH_FILE
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        logger.error("The shipped growth chart cannot be read: weights left unchecked.")
        return None
    if hashlib.sha256(canonical_json(document).encode()).hexdigest() != LEGACY_GROWTH_DATA_SHA256:
        logger.error(
            "The shipped growth chart's data differ from those releases before 2026.11.4 were "
            "checked on: their weights are left unchecked."
        )
        return None
    return load_growth_table(path)


def _chart_of(kb: KnowledgeBase) -> GrowthTable | None:
    """The release's own chart, else (a release stored before charts were part of releases)
    the pinned chart such releases were checked on, if the shipped file still holds it."""
    return kb.growth if kb.growth is not None else legacy_growth_table()


class GrowthChartMissing(LookupError):
    """The release in force has no growth chart, so a child's weight cannot be checked; the
    message says so, for the answer's `weight-unchecked` warning."""

    @classmethod
    def of_release(cls, kb: KnowledgeBase) -> GrowthChartMissing:
        return cls(
            f"Weight not checked for plausibility: knowledge-base release {kb.version} has no "
            "growth chart of its own (it was stored before the CDC weight-for-age chart was "
            "part of a release), and the chart such releases were checked on is no longer the "
            "one shipped. Check the weight and its units (kg)."
        )


def growth_table(kb: KnowledgeBase | None = None) -> GrowthTable:
    """The CDC weight-for-age table of release `kb` (the active release when None); raises
    GrowthChartMissing when that release has none."""
    kb = get_knowledge_base() if kb is None else kb
    table = _chart_of(kb)
    if table is None:
        raise GrowthChartMissing.of_release(kb)
    return table


def growth_sexes(sex: str | None) -> tuple[GrowthSex, ...]:
    """The chart(s) a recorded sex is checked against: both for other or unknown."""
    if sex == "male":
        return ("male",)
    if sex == "female":
        return ("female",)
    return ("male", "female")


def _score(value: float) -> str:
    return f"{value:+.1f}"


def _message(
    table: GrowthTable, weight_kg: Decimal, age: str, results: Sequence[WeightForAge]
) -> str:
    weight = f"{weight_kg.normalize():f}"
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


def _table_for(kb: KnowledgeBase | None, age_months: float) -> GrowthTable | None:
    """The chart of `kb` (the active release when None); None for an age no chart covers;
    GrowthChartMissing for a child's age when the release has no chart."""
    try:
        return growth_table(kb)
    except GrowthChartMissing:
        if age_months < CHART_MONTHS:
            raise
        return None


def weight_warning_at_age(
    *,
    birth_date: dt.date,
    sex: str | None,
    on: dt.date,
    weight_kg: Decimal,
    kb: KnowledgeBase | None = None,
) -> str | None:
    """The warning for a weight implausible for a child born on `birth_date`, of `sex`, on
    the day `on`, on the growth chart of release `kb` (the active release when None); None
    when it is plausible or the patient is 20 years (240 months) or older. A sex other than
    female or male is checked against boys and girls, and warned about only when the weight
    is implausible for both. Raises GrowthChartMissing for a child when `kb` has no chart."""
    age_days = (on - birth_date).days
    if age_days < 0:
        return None
    table = _table_for(kb, age_days / DAYS_PER_MONTH)
    if table is None:
        return None
    results: list[WeightForAge] = []
    for chart in growth_sexes(sex):
        result = table.weight_for_age(sex=chart, age_days=age_days, weight_kg=float(weight_kg))
        if result is None or not result.implausible:
            return None
        results.append(result)
    return _message(table, weight_kg, _age_text(birth_date, on), results)


def weight_warning_in_year(
    *, age_years: int, sex: str | None, weight_kg: Decimal, kb: KnowledgeBase | None = None
) -> str | None:
    """The warning for a weight implausible at every age from `age_years` to just under
    `age_years + 1`, for `sex` (both charts when it is other or unknown), on the growth chart
    of release `kb` (the active release when None); None otherwise, and from 20 years on. The
    message quotes the z-scores at the age in the year nearest to plausible, the most
    favourable reading of the weight. Raises GrowthChartMissing for a child when `kb` has no
    chart."""
    start = age_years * MONTHS_PER_YEAR
    end = start + MONTHS_PER_YEAR
    table = _table_for(kb, start)
    if table is None or start >= table.below_months:
        return None
    # The year's last day; each chart reads its first, its last, and the rows between them.
    last = (end * DAYS_PER_MONTH - 1) / DAYS_PER_MONTH
    results: list[WeightForAge] = []
    for chart in growth_sexes(sex):
        ages = [start, *table.row_ages(chart, start, end), last]
        readings = []
        for months in ages:
            reading = table.weight_for_age(
                sex=chart, age_days=round(months * DAYS_PER_MONTH), weight_kg=float(weight_kg)
            )
            if reading is None:
                continue
            if not reading.implausible:
                return None
            readings.append(reading)
        if not readings:
            return None
        results.append(min(readings, key=lambda reading: abs(reading.modified_z)))
    age = "under 1 year" if age_years == 0 else f"{age_years} year{'' if age_years == 1 else 's'}"
    return _message(table, weight_kg, age, results)


def weight_warnings(message: str | None) -> list[dict[str, Any]]:
    """A warning as answers carry it: `code`, `field` and `message` (none when no message)."""
    if message is None:
        return []
    return [{"code": IMPLAUSIBLE_WEIGHT, "field": "weight_kg", "message": message}]


def unchecked_warnings(error: GrowthChartMissing) -> list[dict[str, Any]]:
    """The warning that a child's weight was not checked: the release in force has no chart."""
    return [{"code": WEIGHT_UNCHECKED, "field": "weight_kg", "message": str(error)}]
