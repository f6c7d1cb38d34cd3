"""The ledger read as a feed (`audit_events_feed`, behind `GET /fhir/AuditEvent`'s next links):
whatever the interleaving of appends to lanes, at whatever times, with pages read between them,
a reader that follows the cursors gets every event it may see exactly once, each lane's in the
lane's order."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from periop.audit import lanes
from periop.audit.models import AuditEvent
from periop.audit.selectors import audit_events_feed
from periop.audit.services import Actor, audit_event_append

pytestmark = pytest.mark.django_db

START = dt.datetime(2001, 3, 1, 8, 0, tzinfo=dt.UTC)

# An append (lane, minutes after START, department 1 or 2) or a read of a page of that size.
APPEND = st.tuples(
    st.just("append"), st.integers(0, 3), st.integers(0, 30), st.sampled_from([1, 2])
)
READ = st.tuples(st.just("read"), st.integers(1, 4))
STEPS = st.lists(st.one_of(APPEND, READ), min_size=1, max_size=25)
EXAMPLES = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _read(cursor: dict[int, int], count: int) -> tuple[list[AuditEvent], bool, dict[int, int]]:
    page = audit_events_feed(AuditEvent.objects.filter(department_id=1), after=cursor, count=count)
    return page.events, page.more, page.after


@EXAMPLES
@given(steps=STEPS, last_count=st.integers(1, 5))
def test_following_the_cursors_delivers_every_event_once_whatever_the_lanes(
    audit_lane, steps, last_count
):
    with transaction.atomic():
        appended: list[AuditEvent] = []
        delivered: list[AuditEvent] = []
        cursor: dict[int, int] = {}
        for step in steps:
            if step[0] == "append":
                _, lane, minutes, department = step
                audit_lane(lane)
                with time_machine.travel(START + dt.timedelta(minutes=minutes), tick=False):
                    appended.append(
                        audit_event_append(
                            actor=Actor.system(),
                            action="read",
                            resource_type="patient",
                            department_id=department,
                        )
                    )
            else:
                events, _, cursor = _read(cursor, step[1])
                delivered.extend(events)
        pages = 0
        while True:
            events, more, cursor = _read(cursor, last_count)
            delivered.extend(events)
            pages += 1
            if not more:
                break
            assert events  # a page with more after it delivers something
            assert pages <= len(appended)

        visible = [event.sequence for event in appended if event.department_id == 1]
        got = [event.sequence for event in delivered]
        assert sorted(got) == sorted(visible)  # each once: none skipped, none repeated
        for lane in {lanes.lane_of(sequence) for sequence in got}:
            in_lane = [sequence for sequence in got if lanes.lane_of(sequence) == lane]
            assert in_lane == sorted(in_lane)
        # The cursor ends at each lane's last visible event.
        assert cursor == {lanes.lane_of(sequence): sequence for sequence in sorted(visible)}
        transaction.set_rollback(True)
