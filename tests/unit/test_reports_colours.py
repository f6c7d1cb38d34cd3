"""The report pages' and charts' colours meet WCAG 2.2 AA against the white page: text 4.5:1,
chart bars and focus rings 3:1. Every colour in the report stylesheet is checked, so a new or
changed colour that fails AA fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from periop.reports.charts import DEFAULT_COLOUR, LEVEL_COLOURS

STYLESHEET = (
    Path(__file__).resolve().parents[2] / "periop" / "reports" / "static" / "reports" / "report.css"
)
WHITE = "#ffffff"
# Colours of the stylesheet used only for decorative rules (table grid, heading underline),
# which WCAG 1.4.11 does not require to contrast: nothing is identified by them alone.
DECORATIVE = {"#d1d5db", "#9ca3af"}


def _luminance(colour: str) -> float:
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", WHITE) == pytest.approx(21.0)
    assert contrast("#777777", WHITE) == pytest.approx(4.48, abs=0.01)


def test_every_colour_of_the_report_stylesheet_is_readable_on_white():
    colours = set(re.findall(r"#[0-9a-fA-F]{6}\b", STYLESHEET.read_text()))
    assert colours, "the stylesheet names its colours as #rrggbb"
    # White is the page itself (and the skip link's background), not something on it.
    for colour in colours - DECORATIVE - {WHITE}:
        assert contrast(colour, WHITE) >= 4.5, colour


@pytest.mark.parametrize("colour", [DEFAULT_COLOUR, *LEVEL_COLOURS.values()])
def test_chart_bars_stand_out_from_the_page(colour):
    # Bars are graphical objects (1.4.11 asks 3:1); charts.py promises the text ratio.
    assert contrast(colour, WHITE) >= 4.5
