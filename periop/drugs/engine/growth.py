"""Weight-for-age against the 2000 CDC growth charts: is a child's weight plausible?

Pure Python (standard library only). The data, with their citation, are the knowledge base's
`growth/cdc-2000-weight-for-age.toml` (`GROWTH_FILE`), part of a release like the rule files:
the L, M and S of weight-for-age by sex and age in months, and the CDC's cut-offs for a
biologically implausible value (BIV). The loader validates the file, counts it in the release
digest when the knowledge base has it, and compiles it into `KnowledgeBase.growth`. The
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

import itertools
import math
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from periop.drugs.engine.toml_checks import Entry, KnowledgeFiles, Table

GrowthSex = Literal["female", "male"]

# The growth chart's path inside a knowledge base (and the key of its text in a release).
GROWTH_FILE = "growth/cdc-2000-weight-for-age.toml"
# The tables of the file: by sex, the table of its rows.
SEX_TABLES: tuple[tuple[GrowthSex, str], ...] = (("male", "boys"), ("female", "girls"))
_SOURCE_KEYS = ("citation", "tables", "url", "program", "program_url", "read_on")
_IMPLAUSIBLE_KEYS = ("below", "above", "below_months", "source", "url", "modified_z_url")

# CDC: "If age is in days, divide by 30.4375."
DAYS_PER_MONTH = 30.4375
# The z-score of the weight that bounds the modified z-score's unit.
_UNIT_Z = 2.0
# That weight, M * (1 + L * S * z) ** (1 / L), exists at z = -2 and +2 only while
# 1 - 2 * |L * S| is above 0.
_LARGEST_L_TIMES_S = 1 / _UNIT_Z


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


def largest_l_times_s(low: LMS, high: LMS) -> float:
    """The largest |L x S| between two rows, L and S interpolated linearly between them as
    `GrowthTable.lms` does: their product is a quadratic in the share of the way from `low` to
    `high`, largest at an end or at its vertex."""
    l_step, s_step = high.l - low.l, high.s - low.s
    shares = [0.0, 1.0]
    if l_step * s_step != 0:
        vertex = -(low.l * s_step + low.s * l_step) / (2 * l_step * s_step)
        if 0 < vertex < 1:
            shares.append(vertex)
    return max(abs((low.l + t * l_step) * (low.s + t * s_step)) for t in shares)


def read_growth_chart(files: KnowledgeFiles) -> GrowthTable | None:
    """The validated growth chart of a knowledge base, or None when it has none (a release
    stored before the chart was part of releases). Raises KnowledgeBaseError."""
    if not files.exists(GROWTH_FILE):
        return None
    return growth_table_from_document(*files.read(GROWTH_FILE))


def load_growth_table(path: Path) -> GrowthTable:
    """Reads a weight-for-age file on its own; a malformed one is a KnowledgeBaseError naming
    what is wrong."""
    entry = Entry(path.name, "")
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        entry.fail(f"the file cannot be read: {error}.")
    return growth_table_from_document(document, entry)


def _number(entry: Entry, value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        entry.fail(f"{what} must be a number, not {value!r}.")
    return float(value)


def growth_table_from_document(document: Table, file: Entry) -> GrowthTable:
    """The growth chart of a parsed weight-for-age file; raises KnowledgeBaseError naming the
    table and the row that is wrong."""
    file.keys(document, ("source", "implausible", "boys", "girls"), required=("source",))
    source = file.at("[source]")
    source.keys(
        source.table(document["source"], "[source]"), _SOURCE_KEYS, required=("citation", "url")
    )
    source.text(document["source"], "citation")
    rows: dict[GrowthSex, tuple[LMS, ...]] = {}
    for sex, key in SEX_TABLES:
        entry = file.at(f"[{key}]")
        if key not in document:
            file.fail(f"missing required table [{key}].")
        table = entry.table(document[key], f"[{key}]")
        entry.keys(table, ("rows",), required=("rows",))
        if not isinstance(table["rows"], list):
            entry.fail("rows must be an array of [age in months, L, M, S].")
        parsed: list[LMS] = []
        for position, row in enumerate(table["rows"], 1):
            if not isinstance(row, list) or len(row) != 4:
                entry.fail(f"row {position} must be [age in months, L, M, S], not {row!r}.")
            parsed.append(LMS(*(_number(entry, value, f"row {position}") for value in row)))
        ages = [row.age_months for row in parsed]
        if len(parsed) < 2 or ages != sorted(set(ages)):
            entry.fail("rows must be at least two, by rising age.")
        if any(row.m <= 0 or row.s <= 0 for row in parsed):
            entry.fail("M and S must be above 0.")
        for position, (low, high) in enumerate(itertools.pairwise(parsed), 1):
            largest = largest_l_times_s(low, high)
            if largest >= _LARGEST_L_TIMES_S:
                entry.fail(
                    f"rows {position} and {position + 1}: |L x S| reaches {largest:.3g} between "
                    f"them; the weight at z = -2 and +2 exists only while |L x S| stays under "
                    f"{_LARGEST_L_TIMES_S} (M x (1 + L x S x z) ** (1 / L))."
                )
        rows[sex] = tuple(parsed)
    if "implausible" not in document:
        file.fail("missing required table [implausible].")
    entry = file.at("[implausible]")
    implausible = entry.table(document["implausible"], "[implausible]")
    entry.keys(implausible, _IMPLAUSIBLE_KEYS, required=("below", "above", "below_months"))
    below = _number(entry, implausible["below"], "below")
    above = _number(entry, implausible["above"], "above")
    if not below < 0 < above:
        entry.fail("below must be under 0 and above over 0.")
    below_months = _number(entry, implausible["below_months"], "below_months")
    if below_months <= 0:
        entry.fail("below_months must be above 0.")
    return GrowthTable(
        rows=rows,
        implausible_below=below,
        implausible_above=above,
        below_months=below_months,
    )
