"""Template filters of the pre-op pages."""

from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration_minutes(value: dt.timedelta) -> int:
    """A duration in whole minutes, rounded up: "try again in 15 minutes"."""
    seconds = int(value.total_seconds())
    return -(-seconds // 60)
