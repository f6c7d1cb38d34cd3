"""Template filters of the pre-op pages."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration_minutes(value: dt.timedelta) -> int:
    """A duration in whole minutes, rounded up: "try again in 15 minutes"."""
    seconds = int(value.total_seconds())
    return -(-seconds // 60)


@register.simple_tag(takes_context=True)
def age(context: template.Context, birth_date: dt.date) -> str:
    """The patient's age today in the department's time zone: months under two years (dosing
    of the very young is by months), whole years after."""
    workplace = context.get("workplace")
    zone = zoneinfo.ZoneInfo(workplace.department.time_zone if workplace else "UTC")
    today = timezone.now().astimezone(zone).date()
    months = (today.year - birth_date.year) * 12 + today.month - birth_date.month
    if today.day < birth_date.day:
        months -= 1
    if months < 0:
        return ""
    if months < 24:
        return f"{months} month{'' if months == 1 else 's'}"
    years = months // 12
    return f"{years} years"
