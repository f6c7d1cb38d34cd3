"""Reads of the audit ledger, scoped to what the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F, Q, QuerySet

from periop.accounts.models import Membership
from periop.accounts.permissions import AUDIT_ROLES, AnyUser, user_department_ids
from periop.audit.models import AuditEvent

# Sortable columns (ONC (d)(3): sort by each ASTM field): public name -> model field.
SORT_FIELDS = {
    "sequence": "sequence",
    "occurred_at": "occurred_at",
    "data_time": "data_time",
    "patient": "patient_id",
    "user": "actor_username",
    "action": "action",
    "resource_type": "resource_type",
    "data_accessed": "resource_type",
    "outcome": "outcome",
    "department": "department_id",
}


def audit_events_visible_to(user: AnyUser) -> QuerySet[AuditEvent]:
    """Events of the auditor's departments, and events without a department (logins, stateless
    checks) whose actor belongs to one of those departments. A superuser sees everything."""
    events = AuditEvent.objects.all()
    if getattr(user, "is_superuser", False):
        return events
    departments = user_department_ids(user, AUDIT_ROLES)
    members = Membership.objects.filter(department_id__in=departments).values("user_id")
    return events.filter(
        Q(department_id__in=departments) | Q(department_id__isnull=True, actor_user_id__in=members)
    )


def audit_events_filter(
    events: QuerySet[AuditEvent],
    *,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    patient_id: int | None = None,
    user: str | None = None,
    action: str | None = None,
    resource_type: str | None = None,
    department_id: int | None = None,
    ordering: str = "sequence",
) -> QuerySet[AuditEvent]:
    """Applies the report filters; `ordering` is a SORT_FIELDS name, '-' for descending."""
    if occurred_from is not None:
        events = events.filter(occurred_at__gte=occurred_from)
    if occurred_to is not None:
        events = events.filter(occurred_at__lte=occurred_to)
    if patient_id is not None:
        events = events.filter(patient_id=patient_id)
    if user:
        events = events.filter(
            Q(actor_username=user) | Q(actor_user_id=int(user))
            # An id is ASCII digits within a database integer: "²" is a digit to Python but
            # not to `int`, and a 30-digit number overflows the column (review F10).
            if user.isascii() and user.isdigit() and len(user) <= 18
            else Q(actor_username=user)
        )
    if action:
        events = events.filter(action=action)
    if resource_type:
        events = events.filter(resource_type=resource_type)
    if department_id is not None:
        events = events.filter(department_id=department_id)
    descending = ordering.startswith("-")
    field = SORT_FIELDS[ordering.lstrip("-")]
    # Events without the field (no patient, no data time) come last in either direction, on
    # SQLite and PostgreSQL alike (their defaults differ), so both give the same report.
    column = F(field)
    # The sequence breaks ties, so pages are stable.
    order: list[Any] = [column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)]
    if field != "sequence":
        order.append("-sequence" if descending else "sequence")
    return events.order_by(*order)
