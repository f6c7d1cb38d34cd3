"""The server-side SVG charts: every label stays inside the picture, and each value is text."""

from __future__ import annotations

import re

from periop.assessments.models import ReasonCode
from periop.reports.charts import LABEL_CHARACTER_WIDTH, bar_chart


def _labels(svg: str) -> list[tuple[float, str]]:
    """(x of the right edge, text) of each right-aligned label."""
    return [
        (float(x), text)
        for x, text in re.findall(
            r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end"[^>]*>([^<]*)<', svg
        )
    ]


def test_the_longest_override_reason_fits_left_of_its_bar():
    svg = bar_chart(
        chart_id="reasons",
        title="Overrides by reason",
        bars=[(label, 3) for label in ReasonCode.labels],
    )

    labels = _labels(svg)
    assert [text for _, text in labels] == list(ReasonCode.labels)
    for right_edge, text in labels:
        assert right_edge - len(text) * LABEL_CHARACTER_WIDTH >= 0, text


def test_a_label_too_long_for_the_chart_is_shortened_but_kept_in_the_title():
    long_label = "a drug name far longer than any label the chart could ever have room for"
    svg = bar_chart(chart_id="long", title="Long", bars=[(long_label, 1)])

    ((right_edge, shown),) = _labels(svg)
    assert shown.endswith("\u2026")
    assert right_edge - len(shown) * LABEL_CHARACTER_WIDTH >= 0
    assert f"<title>{long_label}: 1</title>" in svg


def test_every_bar_states_its_value_in_text():
    svg = bar_chart(chart_id="levels", title="Levels", bars=[("avoid", 1234), ("monitor", 5)])

    assert ">1,234</text>" in svg
    assert ">5</text>" in svg
    assert "avoid: 1,234; monitor: 5" in svg  # the description screen readers hear
