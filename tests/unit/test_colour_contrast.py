"""The pages' colours meet WCAG 2.2 AA contrast.

Every colour is a custom property in the `:root` block of the stylesheet. This test reads them
from the file and checks each pair of text and background (4.5:1), each border and coloured
edge that identifies something (3:1), and the focus indicator against every background a
focusable element sits on (3:1). A new colour, a changed value, or a colour written outside
`:root` fails here, so AA cannot be lost silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STYLESHEET = Path(__file__).resolve().parents[2] / "periop" / "static" / "periop" / "periop.css"

TEXT = 4.5  # normal-size text (SC 1.4.3); the pages use no large-text exception
NON_TEXT = 3.0  # borders, coloured edges and focus indicators (SC 1.4.11)

LIGHT_BACKGROUNDS = [
    "background",
    "panel",
    "card",
    "card-contraindicated",
    "card-avoid",
    "card-adjust",
    "card-monitor",
]
LEVELS = ["contraindicated", "avoid", "adjust", "monitor", "none"]

# (foreground, background, minimum ratio, where the pair appears)
PAIRS: list[tuple[str, str, float, str]] = [
    *[("text", bg, TEXT, "body text, input text and borders") for bg in LIGHT_BACKGROUNDS],
    *[("muted", bg, TEXT, "hints, drug classes, triggers, references") for bg in LIGHT_BACKGROUNDS],
    *[("link", bg, TEXT, "links and 'Why (rationale)'") for bg in LIGHT_BACKGROUNDS],
    *[("error", bg, TEXT, "error messages and error borders") for bg in LIGHT_BACKGROUNDS],
    ("text", "focus", TEXT, "the skip link when focused"),
    ("text", "button-secondary", TEXT, "secondary buttons"),
    ("text", "button-secondary-hover", TEXT, "secondary buttons under the pointer"),
    ("success", "background", TEXT, "the 'Signed' status"),
    ("on-dark", "header", TEXT, "the site header and its links"),
    ("on-dark", "button", TEXT, "primary buttons"),
    ("on-dark", "button-hover", TEXT, "primary buttons under the pointer"),
    ("on-dark", "button-disabled", TEXT, "the disabled 'Sign assessment' button"),
    *[("on-dark", f"level-{level}", TEXT, "caution level labels") for level in LEVELS],
    ("print-ink", "background", TEXT, "the print view"),
    ("border", "background", NON_TEXT, "table rules, card outlines, the footer line"),
    ("border", "panel", NON_TEXT, "the edge of a grey panel"),
    ("button", "background", NON_TEXT, "the shape of a primary button"),
    ("success", "panel", NON_TEXT, "the edge of a success message"),
    ("level-avoid", "panel", NON_TEXT, "the edge of a warning and of 'Signing is not possible'"),
    ("level-contraindicated", "card-contraindicated", NON_TEXT, "a caution card's edge"),
    ("level-avoid", "card-avoid", NON_TEXT, "a caution card's edge"),
    ("level-adjust", "card-adjust", NON_TEXT, "a caution card's edge"),
    ("level-monitor", "card-monitor", NON_TEXT, "a caution card's edge"),
    ("level-none", "card", NON_TEXT, "a caution card's edge"),
]

# Every background a focusable element can sit on or be filled with. The indicator is a yellow
# outline inside a dark ring: one of the two must stand out from each.
FOCUS_BACKGROUNDS = [
    *LIGHT_BACKGROUNDS,
    "header",
    "button",
    "button-hover",
    "button-secondary",
    "button-secondary-hover",
]
FOCUS_COLOURS = ("focus", "focus-ring")

# Colours that carry no information, each with the reason.
DECORATIVE = {
    "button-shadow": "the 3D edge under a primary button, which its label identifies",
    "button-secondary-shadow": "the 3D edge under a secondary button, which its label identifies",
}

HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")


def stylesheet() -> str:
    return re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(encoding="utf-8"), flags=re.S)


def root_colours() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", stylesheet())
    assert root, "the stylesheet has no :root block"
    return dict(re.findall(r"--([\w-]+)\s*:\s*(#[0-9a-fA-F]{6})\s*;", root.group(1)))


def rules() -> list[tuple[str, str]]:
    """(selector, declarations) of every innermost rule except :root."""
    return [
        (selector.strip(), body)
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", stylesheet())
        if selector.strip() != ":root"
    ]


def luminance(colour: str) -> float:
    """Relative luminance as WCAG 2.2 defines it, of a colour written #rrggbb."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_ratio_is_computed_as_wcag_defines_it():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    # The palest grey that passes on white, a well-known reference value.
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize(
    ("foreground", "background", "minimum", "where"),
    PAIRS,
    ids=[f"{fg}-on-{bg}" for fg, bg, _, _ in PAIRS],
)
def test_each_pair_meets_wcag_aa(foreground, background, minimum, where):
    colours = root_colours()
    ratio = contrast(colours[foreground], colours[background])

    assert ratio >= minimum, (
        f"--{foreground} {colours[foreground]} on --{background} {colours[background]} "
        f"({where}) has a contrast of {ratio:.2f}:1, below {minimum}:1"
    )


@pytest.mark.parametrize("background", FOCUS_BACKGROUNDS)
def test_the_focus_indicator_stands_out_from_every_background(background):
    colours = root_colours()
    best = max(contrast(colours[part], colours[background]) for part in FOCUS_COLOURS)

    assert best >= NON_TEXT, f"neither part of the focus indicator stands out on --{background}"


def test_the_two_parts_of_the_focus_indicator_contrast_with_each_other():
    colours = root_colours()

    assert contrast(colours["focus"], colours["focus-ring"]) >= NON_TEXT


def test_every_colour_is_checked_or_explained():
    checked = {name for fg, bg, _, _ in PAIRS for name in (fg, bg)}
    checked |= set(FOCUS_BACKGROUNDS) | set(FOCUS_COLOURS) | set(DECORATIVE)

    assert set(root_colours()) - checked == set(), "add the new colours' pairs to this test"
    assert checked - set(root_colours()) == set(), "this test names colours the CSS lacks"


def test_colours_are_written_only_as_custom_properties():
    literal = [
        selector
        for selector, body in rules()
        if HEX.search(body) or re.search(r"\b(rgba?|hsla?)\(|:\s*(white|black)\b", body)
    ]

    assert literal == [], "define the colour in :root and use var(--name)"


def test_every_rule_with_text_and_background_colours_is_a_checked_pair():
    text_pairs = {(fg, bg) for fg, bg, minimum, _ in PAIRS if minimum >= TEXT}
    unchecked = []
    for selector, body in rules():
        foreground = re.search(r"(?<![-\w])color\s*:\s*var\(--([\w-]+)\)", body)
        background = re.search(r"background(?:-color)?\s*:\s*var\(--([\w-]+)\)", body)
        if foreground and background:
            pair = (foreground.group(1), background.group(1))
            if pair not in text_pairs:
                unchecked.append((selector, pair))

    assert unchecked == []


def test_every_text_colour_and_background_in_use_is_paired_for_text():
    used_text = set()
    used_backgrounds = set()
    for _selector, body in rules():
        used_text |= set(re.findall(r"(?<![-\w])color\s*:\s*var\(--([\w-]+)\)", body))
        used_backgrounds |= set(re.findall(r"background(?:-color)?\s*:\s*var\(--([\w-]+)\)", body))
    text_foregrounds = {fg for fg, _, minimum, _ in PAIRS if minimum >= TEXT}
    text_backgrounds = {bg for _, bg, minimum, _ in PAIRS if minimum >= TEXT}

    assert used_text - text_foregrounds == set()
    assert used_backgrounds - text_backgrounds == set()
