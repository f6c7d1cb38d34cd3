"""Weight-for-age on the 2000 CDC growth charts: the table, the LMS z-score, the CDC's modified
z-score and its cut-offs for a biologically implausible weight."""

import math
import tomllib
from pathlib import Path
from statistics import NormalDist

import pytest

from periop.drugs.engine import KnowledgeBaseError
from periop.drugs.engine.growth import (
    DAYS_PER_MONTH,
    LMS,
    load_growth_table,
    modified_z_score,
    z_score,
)

FILE = (
    Path(__file__).resolve().parents[3] / "fixtures/knowledge/growth/cdc-2000-weight-for-age.toml"
)
TABLE = load_growth_table(FILE)
SEXES = ("male", "female")


def z_at(percentile: float) -> float:
    return NormalDist().inv_cdf(percentile / 100)


def test_the_table_covers_birth_to_20_years_by_half_months_for_each_sex():
    expected = [0.0, 0.5, *(month + 0.5 for month in range(1, 240)), 240.0]
    for sex in SEXES:
        assert [row.age_months for row in TABLE.rows[sex]] == expected


def test_the_file_cites_the_cdc_pages_it_was_read_from():
    data = tomllib.loads(FILE.read_text())
    assert data["source"]["url"] == "https://www.cdc.gov/growthcharts/percentile_data_files.htm"
    assert data["implausible"]["url"].startswith("https://www.cdc.gov/")
    assert data["implausible"]["modified_z_url"].startswith("https://www.cdc.gov/")


@pytest.mark.parametrize("sex", SEXES)
def test_the_median_weight_has_a_z_score_and_a_modified_z_score_of_0_at_every_row(sex):
    for row in TABLE.rows[sex]:
        assert z_score(row.m, row) == pytest.approx(0, abs=1e-12)
        assert modified_z_score(row.m, row) == 0


# Published percentiles of the CDC's data files (wtageinf.csv, wtage.csv): sex, age in months,
# percentile, weight in kg. Their z-scores are those of the percentiles: P3 about -1.88.
PUBLISHED = [
    ("male", 0.0, 3, 2.355450986),
    ("male", 0.0, 97, 4.446488308),
    ("male", 24.5, 3, 10.4414422),
    ("male", 24.5, 97, 15.68840631),
    ("female", 239.5, 3, 45.04509979),
    ("female", 239.5, 5, 46.28611635),
    ("female", 239.5, 95, 82.92975179),
    ("female", 239.5, 97, 89.02866893),
]


@pytest.mark.parametrize(("sex", "age_months", "percentile", "weight_kg"), PUBLISHED)
def test_a_published_percentile_has_the_z_score_of_that_percentile(
    sex, age_months, percentile, weight_kg
):
    lms = TABLE.lms(sex, age_months)
    assert lms is not None
    assert z_score(weight_kg, lms) == pytest.approx(z_at(percentile), abs=1e-6)


@pytest.mark.parametrize("sex", SEXES)
def test_the_lms_z_score_inverts_the_lms_weight_at_every_row(sex):
    for row in TABLE.rows[sex]:
        for z in (-3.0, -1.0, 1.0, 3.0):
            assert z_score(row.weight_at(z), row) == pytest.approx(z, abs=1e-9)


@pytest.mark.parametrize("sex", SEXES)
def test_the_weights_at_z_2_and_minus_2_have_modified_z_scores_of_2_and_minus_2(sex):
    for row in TABLE.rows[sex]:
        assert modified_z_score(row.weight_at(2), row) == pytest.approx(2, abs=1e-9)
        assert modified_z_score(row.weight_at(-2), row) == pytest.approx(-2, abs=1e-9)


def test_the_modified_z_score_extrapolates_linearly_unlike_the_lms_z_score():
    """The LMS z-score flattens for very heavy weights; the modified one keeps growing, which
    is why the CDC flags implausible values with it."""
    row = TABLE.lms("male", 48.5)
    assert row is not None
    unit = (row.weight_at(2) - row.m) / 2
    for times in (3, 8, 20):
        assert modified_z_score(row.m + times * unit, row) == pytest.approx(times)
    assert z_score(row.m + 20 * unit, row) < z_score(row.m + 8 * unit, row) + 3


def test_between_two_rows_l_m_and_s_are_interpolated_linearly():
    low, high = TABLE.rows["female"][100], TABLE.rows["female"][101]
    middle = TABLE.lms("female", (low.age_months + high.age_months) / 2)
    assert middle is not None
    assert middle.l == pytest.approx((low.l + high.l) / 2)
    assert middle.m == pytest.approx((low.m + high.m) / 2)
    assert middle.s == pytest.approx((low.s + high.s) / 2)


def _bounds(sex: str, age_days: int) -> tuple[float, float]:
    """The lightest and heaviest weights the CDC cut-offs let pass at that age."""
    lms = TABLE.lms(sex, age_days / DAYS_PER_MONTH)
    assert lms is not None
    below = (lms.m - lms.weight_at(-2)) / 2
    above = (lms.weight_at(2) - lms.m) / 2
    return lms.m + TABLE.implausible_below * below, lms.m + TABLE.implausible_above * above


@pytest.mark.parametrize("sex", SEXES)
@pytest.mark.parametrize("age_days", [0, 10, 400, 1461, 3000, 6000, 7304])
def test_a_weight_is_implausible_just_beyond_the_cdc_cut_offs_and_not_on_them(sex, age_days):
    lightest, heaviest = _bounds(sex, age_days)

    def implausible(weight_kg: float) -> bool:
        result = TABLE.weight_for_age(sex=sex, age_days=age_days, weight_kg=weight_kg)
        assert result is not None
        return result.implausible

    assert not implausible(lightest * (1 + 1e-9))
    assert not implausible(heaviest * (1 - 1e-9))
    assert implausible(lightest * 0.99)
    assert implausible(heaviest * 1.01)


@pytest.mark.parametrize("sex", SEXES)
def test_ages_of_240_months_and_over_are_not_checked(sex):
    first_unchecked = math.ceil(240 * DAYS_PER_MONTH)
    assert TABLE.weight_for_age(sex=sex, age_days=first_unchecked - 1, weight_kg=60) is not None
    assert TABLE.weight_for_age(sex=sex, age_days=first_unchecked, weight_kg=60) is None
    assert TABLE.weight_for_age(sex=sex, age_days=40 * 365, weight_kg=400) is None


def test_a_weight_of_0_or_less_is_refused():
    with pytest.raises(ValueError, match="above 0 kg"):
        TABLE.weight_for_age(sex="male", age_days=100, weight_kg=0)


def test_a_malformed_table_is_refused(tmp_path):
    broken = tmp_path / "weight.toml"
    text = FILE.read_text().replace("[0.5, 1.547523128", "[0.0, 1.547523128", 1)
    broken.write_text(text)
    with pytest.raises(
        KnowledgeBaseError, match=r"weight.toml: \[boys\]: rows must be at least two, by rising age"
    ):
        load_growth_table(broken)


def test_an_lms_row_gives_the_weight_at_a_z_score():
    row = LMS(age_months=0, l=1.0, m=10.0, s=0.1)
    assert row.weight_at(1) == pytest.approx(11.0)
    assert row.weight_at(-2) == pytest.approx(8.0)
