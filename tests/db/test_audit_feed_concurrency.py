"""The ledger read as a feed while writer processes append to its lanes (PostgreSQL, real
lanes, real commits): a reader following the cursors gets every committed event exactly once.

The property tests (test_audit_feed_properties.py) interleave appends and reads in one
process. This one rests the feed's premise on the database itself: in each lane an event
commits after every event numbered before it, whatever the writers, so a position per lane
never passes an event that commits later."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from periop.audit import lanes
from periop.audit.models import AuditEvent
from periop.audit.selectors import audit_events_feed
from tests.db.writers import start_writers

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="lanes append in parallel on PostgreSQL only"
)

# Six writers on four lanes, so two share a lane and take the head from each other: appends
# outside a transaction (one statement), two in one transaction, and some rolled back.
WRITER = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "periop.settings"
django.setup()
from django.db import transaction
from periop.audit.services import Actor, audit_event_append
writer = sys.argv[1]
def append(number, part=""):
    audit_event_append(actor=Actor.system(f"writer-{writer}"), action="read",
                       resource_type="patient", resource_id=f"{writer}-{number}{part}")
for number in range(int(sys.argv[2])):
    if number % 5 == 0:
        with transaction.atomic():
            append(number, "a")
            append(number, "b")
    elif number % 7 == 3:
        try:
            with transaction.atomic():
                append(number)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    else:
        append(number)
"""
WRITERS, PER_WRITER = 6, 150


def test_a_reader_paging_while_writers_append_to_lanes_gets_every_event_once(
    audit_guard_lifted, transactional_db
):
    processes = start_writers(
        WRITER, PER_WRITER, WRITERS, AUDIT_LANES="4", AUDIT_CHECKPOINT_EVERY_EVENTS="0"
    )
    delivered: list[int] = []
    cursor: dict[int, int] = {}
    # Pages that delivered events while writers were still appending.
    pages_while_writing = 0
    try:
        while any(process.poll() is None for process in processes):
            page = audit_events_feed(AuditEvent.objects.all(), after=cursor, count=20)
            delivered += [event.sequence for event in page.events]
            cursor = page.after
            if page.events:
                pages_while_writing += 1
            else:
                time.sleep(0.01)
    finally:
        codes = [process.wait(timeout=600) for process in processes]
    assert codes == [0] * WRITERS
    while True:
        page = audit_events_feed(AuditEvent.objects.all(), after=cursor, count=20)
        delivered += [event.sequence for event in page.events]
        cursor = page.after
        if not page.more:
            break

    stored = sorted(AuditEvent.objects.values_list("sequence", flat=True))
    kept = WRITERS * sum(
        2 if number % 5 == 0 else 0 if number % 7 == 3 else 1 for number in range(PER_WRITER)
    )
    assert len(stored) == kept
    assert len({lanes.lane_of(sequence) for sequence in stored}) > 1
    assert pages_while_writing >= 3  # the reader read while the writers wrote
    assert len(delivered) == len(set(delivered))  # nothing twice
    assert sorted(delivered) == stored  # nothing skipped
