"""Reads of the audit ledger, scoped to what the caller may see."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Max, Q, QuerySet

from periop.accounts.models import Membership
from periop.accounts.permissions import (
    AUDIT_ROLES,
    AnyUser,
    DepartmentRoles,
    known_department_ids,
)
from periop.audit import lanes
from periop.audit.models import Action, AuditEvent

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


def _failed_logins_as_members(department_ids: Any) -> Q:
    """Failed logins (and throttled or locked-out attempts) under the username of a member of
    the departments. They carry no department and no user id, since nobody signed in, so the
    username tried is what ties them to the account attacked."""
    usernames = Membership.objects.filter(department_id__in=department_ids).values("user__username")
    return Q(
        department_id__isnull=True,
        actor_user_id__isnull=True,
        action=Action.LOGIN_FAILED,
        actor_username__in=usernames,
    )


def audit_events_visible_to(
    user: AnyUser, *, known: DepartmentRoles | None = None
) -> QuerySet[AuditEvent]:
    """Events of the auditor's departments; events without a department (logins, stateless
    checks) whose actor belongs to one of those departments; and failed logins under a
    member's username. A superuser sees everything. `known`: the user's roles already read for
    the request (by `HasDepartmentRole`), so not asked again."""
    events = AuditEvent.objects.all()
    if getattr(user, "is_superuser", False):
        return events
    departments = known_department_ids(user, AUDIT_ROLES, known)
    members = Membership.objects.filter(department_id__in=departments).values("user_id")
    return events.filter(
        Q(department_id__in=departments)
        | Q(department_id__isnull=True, actor_user_id__in=members)
        | _failed_logins_as_members(departments)
    )


def audit_events_of_department(
    events: QuerySet[AuditEvent], department_id: int
) -> QuerySet[AuditEvent]:
    """The department's audit log: its events, and failed logins under its members' usernames
    (so its auditors see attempts on their colleagues' accounts)."""
    own = Q(department_id=department_id)
    return events.filter(own | _failed_logins_as_members([department_id]))


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


@dataclass(frozen=True)
class FeedPage:
    """A page of the ledger read as a feed."""

    events: list[AuditEvent]
    # Whether events followed the page when it was read.
    more: bool
    # The next page's cursor: each lane's last event read so far ({lane: sequence}).
    after: dict[int, int]


def audit_events_feed(
    events: QuerySet[AuditEvent], *, after: Mapping[int, int], count: int
) -> FeedPage:
    """The next `count` of `events` after the cursor `after` ({lane: sequence of the last event
    read}; a lane it does not name is read from its start), in the order they were recorded.

    A reader that follows the cursors gets every event once, including events appended while
    it reads. In each lane an event commits after every event numbered before it (an append
    holds its lane's head until it commits), so a lane's position is a sure place to go on
    from. One sequence number would not be: the lanes are ranges of numbers, and an event
    appended to lane 0 after a reader had moved on to lane 1 would be skipped for ever.

    One query for the lanes' heads, then one per lane with events after its position (one, for
    a ledger in one lane). Each lane gives its next `count + 1` events in sequence order; the
    page takes them merged by time, always a prefix of each lane's."""
    heads = lanes.lane_heads(events.db)
    per_lane: list[list[AuditEvent]] = []
    for lane, head, _ in heads:
        start = max(after.get(lane, 0), lanes.lane_base(lane))
        if start >= head:
            continue
        per_lane.append(
            list(
                events.filter(sequence__gt=start, sequence__lte=head).order_by("sequence")[
                    : count + 1
                ]
            )
        )
    merged = heapq.merge(*per_lane, key=lambda event: (event.occurred_at, event.sequence))
    page = list(itertools.islice(merged, count))
    positions = dict(after)
    for event in page:
        lane = lanes.lane_of(event.sequence)
        positions[lane] = max(positions.get(lane, 0), event.sequence)
    return FeedPage(events=page, more=sum(map(len, per_lane)) > count, after=positions)


def audit_patients_recently_read(
    *, user_id: int | None, department_id: int, since: dt.datetime, limit: int
) -> list[int]:
    """The patients the user read in the department since `since`, the latest read first: one
    grouped query over the user's own events of that window (index on actor and time)."""
    if user_id is None:
        return []
    rows = (
        AuditEvent.objects.filter(
            actor_user_id=user_id,
            department_id=department_id,
            action="read",
            occurred_at__gte=since,
            patient_id__isnull=False,
        )
        .values("patient_id")
        # By time, not sequence: in a ledger in lanes a higher sequence may be older.
        .annotate(last_read=Max("occurred_at"))
        .order_by("-last_read", "patient_id")[:limit]
    )
    return [row["patient_id"] for row in rows]
