"""Weight-for-age against the 2000 CDC growth charts: is a child's weight plausible?

Pure Python (standard library only). The data, with their citation, are in
`fixtures/knowledge/growth/cdc-2000-weight-for-age.toml`: the L, M and S of weight-for-age by
sex and age in months, and the CDC's cut-offs for a biologically implausible value (BIV). The
computation follows the CDC's SAS program for the growth charts (`cdc-source-code.sas`):

- the age in months is the age in days divided by 30.4375;
- L, M and S are interpolated linearly between the two rows around that age;
- the LMS z-score is ((weight / M) ** L - 1) / (L * S), or log(weight / M) / S when |L| < 0.01;
- the modified z-score is (weight - M) divided by half the distance between M and the weight
  at z = +2 (a weight above M) or z = -2 (a weight below M);
- the weight is implausible when the modified z-score is below -5 or above +8, from birth to
  under 240 months. Older patients, and ages the table does not cover, are not checked.
"""

from __future__ import annotations

import math
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

GrowthSex = Literal["female", "male"]

# CDC: "If age is in days, divide by 30.4375."
DAYS_PER_MONTH = 30.4375
# The z-score of the weight that bounds the modified z-score's unit.
_UNIT_Z = 2.0


@dataclass(frozen=True)
class LMS:
    age_months: float
    l: float  # noqa: E741 - the LMS method's own name
    m: float
    s: float

    def weight_at(self, z: float) -> float:
        """The weight (kg) at z-score `z`: M * (1 + L * S * z) ** (1 / L)."""
        if abs(self.l) < 0.01:
            return self.m * math.exp(self.s * z)
        return float(self.m * (1 + self.l * self.s * z) ** (1 / self.l))


@dataclass(frozen=True)
class WeightForAge:
    sex: GrowthSex
    age_months: float
    median_kg: float
    z: float
    modified_z: float
    implausible: bool


@dataclass(frozen=True)
class GrowthTable:
    rows: dict[GrowthSex, tuple[LMS, ...]]
    implausible_below: float
    implausible_above: float
    # Ages from 0 to under this many months are checked.
    below_months: float
    # The rows' ages by sex, for the search in `lms` (worked out once per table).
    row_ages_by_sex: dict[GrowthSex, tuple[float, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        ages = {sex: tuple(row.age_months for row in rows) for sex, rows in self.rows.items()}
        object.__setattr__(self, "row_ages_by_sex", ages)

    def _ages(self, sex: GrowthSex) -> tuple[float, ...]:
        return self.row_ages_by_sex[sex]

    def row_ages(self, sex: GrowthSex, from_months: float, to_months: float) -> list[float]:
        """The ages of the table's rows from `from_months` to before `to_months`."""
        return [age for age in self._ages(sex) if from_months <= age < to_months]

    def lms(self, sex: GrowthSex, age_months: float) -> LMS | None:
        """L, M and S at `age_months`, interpolated between the rows around it (as the CDC
        program does); None outside the table's ages."""
        rows = self.rows[sex]
        if not rows[0].age_months <= age_months < min(self.below_months, rows[-1].age_months):
            return None
        index = bisect_right(self._ages(sex), age_months) - 1
        low, high = rows[index], rows[index + 1]
        share = (age_months - low.age_months) / (high.age_months - low.age_months)
        return LMS(
            age_months=age_months,
            l=low.l + share * (high.l - low.l),
            m=low.m + share * (high.m - low.m),
            s=low.s + share * (high.s - low.s),
        )

    def weight_for_age(
        self, *, sex: GrowthSex, age_days: int, weight_kg: float
    ) -> WeightForAge | None:
        """The weight's z-score and modified z-score for a child of `sex` aged `age_days`;
        None when the age is outside the table (adults included)."""
        if weight_kg <= 0:
            raise ValueError(f"A weight is above 0 kg, not {weight_kg}.")
        age_months = age_days / DAYS_PER_MONTH
        lms = self.lms(sex, age_months)
        if lms is None:
            return None
        modified = modified_z_score(weight_kg, lms)
        return WeightForAge(
            sex=sex,
            age_months=age_months,
            median_kg=lms.m,
            z=z_score(weight_kg, lms),
            modified_z=modified,
            implausible=not self.implausible_below <= modified <= self.implausible_above,
        )


def z_score(weight_kg: float, lms: LMS) -> float:
    """The LMS z-score of a weight."""
    if abs(lms.l) < 0.01:
        return math.log(weight_kg / lms.m) / lms.s
    return float(((weight_kg / lms.m) ** lms.l - 1) / (lms.l * lms.s))


def modified_z_score(weight_kg: float, lms: LMS) -> float:
    """The CDC's modified z-score: the distance from the median in units of half the distance
    between the median and the weight at z = +2 (above the median) or z = -2 (below it)."""
    if weight_kg < lms.m:
        unit = (lms.m - lms.weight_at(-_UNIT_Z)) / _UNIT_Z
    else:
        unit = (lms.weight_at(_UNIT_Z) - lms.m) / _UNIT_Z
    return (weight_kg - lms.m) / unit


def load_growth_table(path: Path) -> GrowthTable:
    """Reads the weight-for-age file; a malformed one is a ValueError naming what is wrong."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    rows: dict[GrowthSex, tuple[LMS, ...]] = {}
    sexes: tuple[tuple[GrowthSex, str], ...] = (("male", "boys"), ("female", "girls"))
    for sex, key in sexes:
        table = tuple(LMS(*(float(value) for value in row)) for row in data[key]["rows"])
        ages = [row.age_months for row in table]
        if len(table) < 2 or ages != sorted(set(ages)):
            raise ValueError(f"{path.name}: [{key}] rows must be at least two, by rising age.")
        if any(row.m <= 0 or row.s <= 0 for row in table):
            raise ValueError(f"{path.name}: [{key}] M and S must be above 0.")
        rows[sex] = table
    implausible = data["implausible"]
    below, above = float(implausible["below"]), float(implausible["above"])
    if not below < 0 < above:
        raise ValueError(f"{path.name}: [implausible] below must be under 0 and above over 0.")
    return GrowthTable(
        rows=rows,
        implausible_below=below,
        implausible_above=above,
        below_months=float(implausible["below_months"]),
    )
