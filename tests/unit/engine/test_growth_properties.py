"""Properties of the weight-for-age computation for any L, M and S and any age of the table, and
the checks of a weight-for-age file (the CDC's own table is in test_growth.py)."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import KnowledgeBaseError, load_knowledge_base
from periop.drugs.engine.growth import (
    DAYS_PER_MONTH,
    LMS,
    GrowthTable,
    growth_table_from_document,
    largest_l_times_s,
    load_growth_table,
    modified_z_score,
    z_score,
)
from periop.drugs.engine.toml_checks import Entry
from tests.unit.engine.builders import KnowledgeFiles
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY

FILE = (
    Path(__file__).resolve().parents[3] / "fixtures/knowledge/growth/cdc-2000-weight-for-age.toml"
)
TABLE = load_growth_table(FILE)
DOCUMENT = tomllib.loads(FILE.read_text(encoding="utf-8"))
SEXES = ("male", "female")

# L from -2 to 2, with the values around 0 (where the LMS formulas take their limit) and at
# the edge of that limit, 0.01, drawn more often.
L_VALUES = st.one_of(
    st.floats(-2, 2),
    st.floats(-0.02, 0.02),
    st.sampled_from([0.0, 0.01, -0.01, 0.0099999, -0.0099999, 0.0100001]),
)


def row(l: float, m: float, s: float) -> LMS:  # noqa: E741 - the LMS method's own name
    return LMS(age_months=0.0, l=l, m=m, s=s)


@settings(max_examples=300, deadline=None)
@given(L_VALUES, st.floats(1, 100), st.floats(0.05, 0.3), st.floats(-3, 3))
def test_the_z_score_of_the_weight_at_a_z_score_is_that_z_score(l, m, s, z):  # noqa: E741
    """Where the LMS curve has a weight at that z-score (1 + L x S x z above 0)."""
    assume(1 + l * s * z > 0.05 and 1 + l * s * (z + 0.5) > 0.05)
    lms = row(l, m, s)
    weight = lms.weight_at(z)

    assert weight > 0
    assert lms.weight_at(0) == pytest.approx(m, rel=1e-12)
    assert z_score(weight, lms) == pytest.approx(z, abs=1e-9)
    # Heavier at a higher z-score: the weights are ordered as the z-scores are.
    assert lms.weight_at(z + 0.5) > weight
    assert z_score(weight * 1.01, lms) > z_score(weight, lms)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.floats(-0.02, 0.02), st.sampled_from([0.01, -0.01, 0.0099999, -0.0099999])),
    st.floats(1, 100),
    st.floats(0.05, 0.3),
)
def test_the_lms_formulas_meet_at_the_edge_of_their_limit_for_l_near_0(l, m, s):  # noqa: E741
    """Box-Cox at L and its limit at L = 0 (log and exp) differ by O(L): across |L| = 0.01 the
    weight at a z-score moves by well under 1 % and its z-score by under 0.01."""
    for z in (-2.0, 2.0):
        weight = row(l, m, s).weight_at(z)
        limit = m * math.exp(s * z)
        assert weight == pytest.approx(limit, rel=abs(l) * 0.2 + 1e-12)
        assert z_score(limit, row(l, m, s)) == pytest.approx(z, abs=abs(l) * 0.7 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(L_VALUES, st.floats(1, 100), st.floats(0.05, 0.3), st.floats(-8, 8))
def test_the_modified_z_score_counts_units_of_half_the_distance_to_z_2(
    l,  # noqa: E741
    m,
    s,
    times,
):
    """Above the median a unit is half the distance from M to the weight at z = +2, below it
    half the distance to the weight at z = -2."""
    assume(1 - 2 * abs(l) * s > 0.05)
    lms = row(l, m, s)
    unit = (lms.weight_at(2) - m) / 2 if times >= 0 else (m - lms.weight_at(-2)) / 2
    weight = m + times * unit
    if weight <= 0:
        return

    assert modified_z_score(weight, lms) == pytest.approx(times, abs=1e-9)


@pytest.mark.parametrize("l", [0.01, -0.01, 0.0100001])
def test_from_an_l_of_0_01_the_box_cox_formula_applies_as_in_the_cdc_program(l):  # noqa: E741
    lms = row(l, 10.0, 0.1)

    assert z_score(12.0, lms) == ((12.0 / 10.0) ** l - 1) / (l * 0.1)
    assert lms.weight_at(1.5) == 10.0 * (1 + l * 0.1 * 1.5) ** (1 / l)


@pytest.mark.parametrize("l", [0.0, 0.0099999, -0.0099999])
def test_under_an_l_of_0_01_the_log_formula_applies_as_in_the_cdc_program(l):  # noqa: E741
    lms = row(l, 10.0, 0.1)

    assert z_score(12.0, lms) == math.log(12.0 / 10.0) / 0.1
    assert lms.weight_at(1.5) == 10.0 * math.exp(0.1 * 1.5)


# A chart whose L, M and S do not change with age, so that every weight of it is exact in binary:
# the weight at z = +2 is 10 x 1.25 = 12.5 kg and at z = -2 7.5 kg, a unit is 1.25 kg either
# side, and a modified z-score of +8 is 20 kg, of -5 3.75 kg.
FLAT = GrowthTable(
    rows={
        sex: (
            LMS(0.0, 1.0, 10.0, 0.125),
            LMS(120.0, 1.0, 10.0, 0.125),
            LMS(300.0, 1.0, 10.0, 0.125),
        )
        for sex in SEXES
    },
    implausible_below=-5.0,
    implausible_above=8.0,
    below_months=240.0,
)


@pytest.mark.parametrize("sex", SEXES)
@pytest.mark.parametrize(
    ("weight_kg", "modified_z", "implausible"),
    [
        (20.0, 8.0, False),
        (20.0 + 1e-9, 8.0, True),
        (3.75, -5.0, False),
        (3.75 - 1e-9, -5.0, True),
        (10.0, 0.0, False),
    ],
)
def test_a_weight_on_a_cut_off_is_plausible_and_one_beyond_it_is_not(
    sex, weight_kg, modified_z, implausible
):
    result = FLAT.weight_for_age(sex=sex, age_days=1000, weight_kg=weight_kg)

    assert result is not None
    assert result.modified_z == pytest.approx(modified_z, abs=1e-6)
    assert (result.implausible, result.median_kg, result.sex) == (implausible, 10.0, sex)
    assert result.age_months == 1000 / DAYS_PER_MONTH
    assert result.z == pytest.approx((weight_kg / 10 - 1) / 0.125)


@pytest.mark.parametrize("sex", SEXES)
def test_ages_from_birth_to_under_below_months_are_checked_on_a_longer_table(sex):
    """The table runs to 300 months, the cut-offs only to under 240."""
    assert FLAT.lms(sex, 0.0) == LMS(0.0, 1.0, 10.0, 0.125)
    assert FLAT.lms(sex, 239.99) is not None
    assert FLAT.lms(sex, 240.0) is None
    assert FLAT.lms(sex, -0.01) is None
    assert FLAT.weight_for_age(sex=sex, age_days=-1, weight_kg=10.0) is None


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SEXES), st.floats(0, 240, exclude_max=True))
@example("female", 0.0)
@example("male", 0.25)  # the first two rows are half a month apart, as are the last two
@example("male", 0.5)
@example("female", 239.75)
def test_l_m_and_s_lie_on_the_line_between_the_rows_around_the_age(sex, age_months):
    rows = TABLE.rows[sex]
    lms = TABLE.lms(sex, age_months)
    assert lms is not None
    low = max((r for r in rows if r.age_months <= age_months), key=lambda r: r.age_months)
    high = min((r for r in rows if r.age_months > age_months), key=lambda r: r.age_months)
    share = (age_months - low.age_months) / (high.age_months - low.age_months)

    assert lms.age_months == age_months
    for name in ("l", "m", "s"):
        at_low, at_high = getattr(low, name), getattr(high, name)
        expected = at_low + share * (at_high - at_low)
        assert getattr(lms, name) == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert min(at_low, at_high) - 1e-12 <= getattr(lms, name) <= max(at_low, at_high) + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SEXES), st.floats(-10, 300), st.floats(0, 60))
def test_the_row_ages_of_a_span_are_those_from_its_start_to_before_its_end(sex, start, length):
    end = start + length
    ages = [r.age_months for r in TABLE.rows[sex]]

    got = TABLE.row_ages(sex, start, end)

    assert got == [age for age in ages if start <= age < end]


def test_the_row_ages_of_a_span_include_its_start_and_exclude_its_end():
    assert TABLE.row_ages("male", 12.5, 14.5) == [12.5, 13.5]
    assert TABLE.row_ages("female", 0.0, 1.5) == [0.0, 0.5]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(SEXES),
    st.integers(0, math.ceil(240 * DAYS_PER_MONTH) - 1),
    st.floats(0.5, 200),
)
def test_a_weight_for_age_reads_the_chart_at_the_age_in_months(sex, age_days, weight_kg):
    result = TABLE.weight_for_age(sex=sex, age_days=age_days, weight_kg=weight_kg)
    lms = TABLE.lms(sex, age_days / DAYS_PER_MONTH)

    assert result is not None
    assert lms is not None
    assert result.age_months == age_days / DAYS_PER_MONTH
    assert (result.sex, result.median_kg) == (sex, lms.m)
    assert result.z == z_score(weight_kg, lms)
    assert result.modified_z == modified_z_score(weight_kg, lms)
    assert result.implausible == (not -5 <= result.modified_z <= 8)


@pytest.mark.parametrize("weight_kg", [0, -0.5])
def test_a_weight_of_0_or_less_is_refused(weight_kg):
    with pytest.raises(ValueError, match="above 0 kg"):
        TABLE.weight_for_age(sex="female", age_days=100, weight_kg=weight_kg)


# ---------------------------------------------------------------------------------------------
# The file's checks
# ---------------------------------------------------------------------------------------------


def _changed(change) -> dict:
    document = copy.deepcopy(DOCUMENT)
    change(document)
    return document


def _set(path: tuple[str, ...], value):
    def change(document):
        *parents, last = path
        for key in parents:
            document = document[key]
        document[last] = value

    return change


def _delete(*path: str):
    def change(document):
        *parents, last = path
        for key in parents:
            document = document[key]
        del document[last]

    return change


def _boys_row(position: int, value):
    def change(document):
        document["boys"]["rows"][position] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_delete("boys"), "missing required table [boys]."),
        (_delete("girls"), "missing required table [girls]."),
        (_delete("implausible"), "missing required table [implausible]."),
        (_set(("girls", "rows"), "none"), "[girls]: rows must be an array of"),
        (_boys_row(1, [0.5, 1.0, 2.0]), "[boys]: row 2 must be [age in months, L, M, S]"),
        (_boys_row(1, [0.5, 1.0, 2.0, 0.1, 9]), "[boys]: row 2 must be [age in months, L, M, S]"),
        (_boys_row(0, "row"), "[boys]: row 1 must be [age in months, L, M, S]"),
        (_boys_row(2, [1.5, True, 2.0, 0.1]), "[boys]: row 3 must be a number, not True"),
        (_boys_row(2, [1.5, "1", 2.0, 0.1]), "[boys]: row 3 must be a number, not '1'"),
        (_boys_row(2, [1.5, math.inf, 2.0, 0.1]), "[boys]: row 3 must be a number, not inf"),
        (_boys_row(2, [1.5, 1.0, 0.0, 0.1]), "[boys]: M and S must be above 0."),
        (_boys_row(2, [1.5, 1.0, 4.0, -0.1]), "[boys]: M and S must be above 0."),
        (_boys_row(2, [1.5, 1.0, 4.0, 0.0]), "[boys]: M and S must be above 0."),
        (_boys_row(1, [0.0, 1.0, 4.0, 0.1]), "[boys]: rows must be at least two, by rising age."),
        (_boys_row(2, [0.4, 1.0, 4.0, 0.1]), "[boys]: rows must be at least two, by rising age."),
        (
            _set(("girls", "rows"), [[0.0, 1.0, 3.4, 0.14]]),
            "[girls]: rows must be at least two, by rising age.",
        ),
        (_set(("implausible", "below"), 0), "below must be under 0 and above over 0."),
        (_set(("implausible", "below"), 1), "below must be under 0 and above over 0."),
        (_set(("implausible", "above"), 0), "below must be under 0 and above over 0."),
        (_set(("implausible", "above"), -2), "below must be under 0 and above over 0."),
        (_set(("implausible", "below_months"), 0), "below_months must be above 0."),
        (_set(("implausible", "below_months"), -12), "below_months must be above 0."),
        (_set(("implausible", "above"), "8"), "above must be a number, not '8'"),
    ],
)
def test_a_malformed_file_is_refused_naming_what_is_wrong(change, message):
    with pytest.raises(KnowledgeBaseError) as raised:
        growth_table_from_document(_changed(change), Entry("weight.toml", ""))

    assert message in str(raised.value)


def test_the_file_as_shipped_reads_its_cut_offs_and_every_row():
    table = growth_table_from_document(_changed(lambda document: None), Entry("weight.toml", ""))

    assert (table.implausible_below, table.implausible_above, table.below_months) == (-5, 8, 240)
    for sex, key in (("male", "boys"), ("female", "girls")):
        assert [[r.age_months, r.l, r.m, r.s] for r in table.rows[sex]] == DOCUMENT[key]["rows"]


def test_two_rows_are_enough_and_a_median_under_1_kg_is_accepted():
    def change(document):
        document["girls"]["rows"] = [[0.0, 1.0, 0.8, 0.1], [0.5, 1.0, 0.9, 0.1]]

    table = growth_table_from_document(_changed(change), Entry("weight.toml", ""))

    assert [(r.age_months, r.m) for r in table.rows["female"]] == [(0.0, 0.8), (0.5, 0.9)]


def test_small_cut_offs_and_a_short_checked_age_are_accepted():
    def change(document):
        document["implausible"].update(below=-0.5, above=0.5, below_months=0.5)

    table = growth_table_from_document(_changed(change), Entry("weight.toml", ""))

    assert (table.implausible_below, table.implausible_above, table.below_months) == (
        -0.5,
        0.5,
        0.5,
    )
    assert table.lms("male", 0.4) is not None
    assert table.lms("male", 0.5) is None


def test_a_knowledge_base_with_the_chart_reads_it_and_one_without_has_none(tmp_path):
    """The real knowledge base ships the chart; the synthetic one, like a release stored before
    the chart was part of releases, has none."""
    assert load_knowledge_base(KNOWLEDGE_DIRECTORY).growth == TABLE
    assert KnowledgeFiles(tmp_path).load().growth is None


def test_a_file_that_cannot_be_read_is_refused(tmp_path):
    broken = tmp_path / "weight.toml"
    broken.write_text("[source\n", encoding="utf-8")

    with pytest.raises(KnowledgeBaseError, match=r"weight.toml: the file cannot be read"):
        load_growth_table(broken)


# ---------------------------------------------------------------------------------------------
# The LMS curve's domain: the weight at z = -2 and +2 exists only while |L x S| < 0.5
# ---------------------------------------------------------------------------------------------


def _two_rows(low: tuple[float, float], high: tuple[float, float]):
    """The girls' table replaced by two rows a month apart, (L, S) at each, M at 3 and 4 kg."""

    def change(document):
        document["girls"]["rows"] = [[0.0, low[0], 3.0, low[1]], [1.0, high[0], 4.0, high[1]]]

    return change


@pytest.mark.parametrize(
    ("low", "high", "reaches"),
    [
        ((-2.0, 0.3), (-2.0, 0.3), "0.6"),  # at both rows
        ((0.5, 0.2), (2.5, 0.2), "0.5"),  # exactly the bound, at the second row
        ((-2.0, 0.1), (-2.0, 0.25), "0.5"),
        # Under the bound at both rows, beyond it between them: L falls as S rises, and their
        # product peaks at 1.0 halfway (the rows alone would pass).
        ((1.8, 0.2), (0.2, 1.8), "1"),
    ],
)
def test_a_chart_whose_curve_has_no_weight_at_z_2_is_refused(low, high, reaches):
    with pytest.raises(KnowledgeBaseError) as raised:
        growth_table_from_document(_changed(_two_rows(low, high)), Entry("weight.toml", ""))

    assert f"[girls]: rows 1 and 2: |L x S| reaches {reaches} between them" in str(raised.value)


def test_a_chart_whose_product_peaks_under_the_bound_between_rows_is_accepted():
    # |L x S| is 0.2 and 0.18 at the rows and about 0.33 near halfway.
    first, second = LMS(0.0, 1.0, 3.0, 0.2), LMS(1.0, 0.2, 4.0, 0.9)
    assert largest_l_times_s(first, second) == pytest.approx(0.3302, abs=1e-4)
    table = growth_table_from_document(
        _changed(_two_rows((1.0, 0.2), (0.2, 0.9))), Entry("weight.toml", "")
    )
    for age_days in range(31):
        result = table.weight_for_age(sex="female", age_days=age_days, weight_kg=3.5)
        assert result is not None
        assert math.isfinite(result.modified_z)


LS_PAIRS = st.tuples(st.floats(-3, 3), st.floats(0.01, 1.5))


@settings(max_examples=300, deadline=None)
@given(LS_PAIRS, LS_PAIRS, st.floats(0, 1, exclude_max=True), st.floats(0.05, 50))
def test_a_chart_the_loader_accepts_gives_a_modified_z_score_at_every_age(low, high, at, weight):
    """Any L and S the loader lets through: every age between the rows has a finite modified
    z-score (before the check, |L x S| of 0.5 or more raised TypeError or ZeroDivisionError,
    or gave a complex number)."""
    document = _changed(_two_rows(low, high))
    rows = LMS(0.0, low[0], 3.0, low[1]), LMS(1.0, high[0], 4.0, high[1])
    if largest_l_times_s(*rows) >= 0.5:
        with pytest.raises(KnowledgeBaseError, match=r"\|L x S\| reaches"):
            growth_table_from_document(document, Entry("w.toml", ""))
        return
    table = growth_table_from_document(document, Entry("w.toml", ""))
    lms = table.lms("female", at)
    assert lms is not None

    unit_above, unit_below = lms.weight_at(2) - lms.m, lms.m - lms.weight_at(-2)
    assert unit_above > 0
    assert unit_below > 0
    assert math.isfinite(modified_z_score(weight, lms))


@settings(max_examples=300, deadline=None)
@given(LS_PAIRS, LS_PAIRS)
def test_the_largest_l_times_s_between_two_rows_is_the_largest_on_the_line(low, high):
    """Against the product read at 2,001 points of the way: never below any of them, and no
    further above the largest than the curve can rise between two neighbouring points."""
    first, second = LMS(0.0, low[0], 3.0, low[1]), LMS(1.0, high[0], 4.0, high[1])
    found = largest_l_times_s(first, second)
    steps = 2000
    readings = [
        abs((first.l + t * (second.l - first.l)) * (first.s + t * (second.s - first.s)))
        for t in (i / steps for i in range(steps + 1))
    ]
    curvature = abs((second.l - first.l) * (second.s - first.s))

    assert found >= max(readings) - 1e-12
    assert found <= max(readings) + curvature / steps**2 + 1e-12
