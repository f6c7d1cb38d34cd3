"""Charts drawn as SVG on the server: the same markup shows in the browser and prints in the
PDF (WeasyPrint runs no JavaScript). Each chart is an image with a title and a description
for screen readers, every bar is labelled with its value in text, and the figures are also
given in a table next to it, so colour is never the only carrier of meaning."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Colours with at least 4.5:1 contrast against white, one per caution level.
LEVEL_COLOURS = {
    "contraindicated": "#9b1c1c",
    "avoid": "#b4470a",
    "adjust": "#7a5c00",
    "monitor": "#1d5b99",
    "none": "#4b5563",
}
DEFAULT_COLOUR = "#1d5b99"
# Average advance of a character of DejaVu Sans at the 13 px of bar labels, rounded up: enough
# to reserve room for a label without measuring text (no font metrics on the server).
LABEL_CHARACTER_WIDTH = 8


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, int]],
    colours: dict[str, str] | None = None,
    width: int = 640,
) -> SafeString:
    """Horizontal bars, one per (label, value), the value written at the end of each bar."""
    bar_height, gap, value_width = 22, 6, 70
    # The labels are right-aligned against the bars: reserve room for the longest, so no
    # label is cut at the chart's left edge, but keep 40 % of the width for the bars. A label
    # longer than that is shortened with an ellipsis (its full text is in the bar's title and
    # in the table beside the chart).
    longest = max((len(label) for label, _ in bars), default=0)
    label_width = min(max(100, longest * LABEL_CHARACTER_WIDTH + 12), width * 3 // 5)
    fits = (label_width - 12) // LABEL_CHARACTER_WIDTH
    height = max(1, len(bars)) * (bar_height + gap) + gap
    largest = max((value for _, value in bars), default=0) or 1
    span = width - label_width - value_width
    parts = []
    for index, (label, value) in enumerate(bars):
        y = gap + index * (bar_height + gap)
        length = round(span * value / largest)
        colour = (colours or {}).get(label, DEFAULT_COLOUR)
        parts.append(
            format_html(
                "<g><title>{label}: {value}</title>"
                '<text x="{tx}" y="{ty}" text-anchor="end" font-size="13">{shown}</text>'
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}"></rect>'
                '<text x="{vx}" y="{ty}" font-size="13">{value}</text></g>',
                label=label,
                shown=label if len(label) <= fits else label[: fits - 1] + "\u2026",
                value=f"{value:,}",
                tx=label_width - 8,
                ty=y + bar_height - 6,
                x=label_width,
                y=y,
                w=length,
                h=bar_height,
                colour=colour,
                vx=label_width + length + 6,
            )
        )
    description = "; ".join(f"{label}: {value:,}" for label, value in bars) or "No data."
    return _svg(chart_id, title, description, width, height, parts)


def column_chart(
    *, chart_id: str, title: str, columns: Sequence[tuple[str, int]], width: int = 640
) -> SafeString:
    """Vertical columns over time (one per day or month), with the axis labelled sparsely."""
    height, top, bottom, left = 200, 16, 34, 44
    plot_height = height - top - bottom
    count = max(1, len(columns))
    step = (width - left - 8) / count
    largest = max((value for _, value in columns), default=0) or 1
    label_every = max(1, count // 10)
    parts = [
        format_html(
            '<text x="{x}" y="{y}" text-anchor="end" font-size="11">{value}</text>'
            '<line x1="{left}" y1="{y2}" x2="{right}" y2="{y2}" stroke="#9ca3af"></line>',
            x=left - 4,
            y=top + 4,
            value=f"{largest:,}",
            left=left,
            right=width - 8,
            y2=top + plot_height,
        )
    ]
    for index, (label, value) in enumerate(columns):
        column_height = round(plot_height * value / largest)
        x = left + index * step
        parts.append(
            format_html(
                '<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{colour}">'
                "<title>{label}: {value}</title></rect>",
                x=f"{x + step * 0.1:.1f}",
                y=top + plot_height - column_height,
                w=f"{step * 0.8:.1f}",
                h=column_height,
                colour=DEFAULT_COLOUR,
                label=label,
                value=f"{value:,}",
            )
        )
        if index % label_every == 0:
            parts.append(
                format_html(
                    '<text x="{x}" y="{y}" font-size="10">{label}</text>',
                    x=f"{x:.1f}",
                    y=height - bottom + 14,
                    label=label[5:] if len(label) == 10 else label,
                )
            )
    description = "; ".join(f"{label}: {value:,}" for label, value in columns) or "No data."
    return _svg(chart_id, title, description, width, height, parts)


def _svg(
    chart_id: str, title: str, description: str, width: int, height: int, parts: list[SafeString]
) -> SafeString:
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" aria-labelledby="{id}-title {id}-desc" '
        'font-family="DejaVu Sans, Arial, sans-serif">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>',
        w=width,
        h=height,
        id=chart_id,
        title=title,
        desc=description,
    )
    # Every part above was built by format_html, which escaped its values.
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308


__all__ = ["LEVEL_COLOURS", "bar_chart", "column_chart", "escape"]
