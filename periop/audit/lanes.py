"""Lanes: the ledger as several hash chains appended in parallel.

One chain serialises every append of every process on its head's lock. With
`AUDIT_LANES` set above 1, each database connection of each application process appends to one
of that many chains (its lane), so appends to different lanes never wait for each other.

The events keep their format: a lane is a range of sequence numbers. Lane L numbers its events
`L * STRIDE + 1, L * STRIDE + 2, ...`, gapless, each linked to the one before it in the lane,
the first to the genesis hash. Lane 0 is the ledger as it was before lanes: 1, 2, 3, ... .
The sequence is hashed, so an event cannot be moved to another lane without breaking its HMAC,
and a checkpoint of `(sequence, hash)` names its lane by its sequence. Each lane has its own
head row (`AuditChainHead.id == lane + 1`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q

from periop.audit.models import AuditChainHead

# Events per lane: a thousand events a second for 30,000 years. The sequence is a 64-bit
# integer, which leaves room for MAX_LANES lanes many times over.
STRIDE = 10**15
MAX_LANES = 64


def lane_of(sequence: int) -> int:
    """The lane of an event, by its sequence."""
    return sequence // STRIDE if sequence > 0 else 0


def lane_position(sequence: int) -> int:
    """The event's place in its lane: 1 for the lane's first event."""
    return sequence - lane_of(sequence) * STRIDE


def lane_base(lane: int) -> int:
    """The sequence a lane's head holds before its first event."""
    return lane * STRIDE


def head_id(lane: int) -> int:
    """The id of the lane's row in the head table."""
    return lane + 1


def lane_heads(using: str = DEFAULT_DB_ALIAS) -> list[tuple[int, int, str]]:
    """Every lane's head as stored, in lane order: (lane, sequence of its last event, hash)."""
    rows = AuditChainHead.objects.using(using).order_by("id").values_list("id", "sequence", "hash")
    return [(head - 1, sequence, digest) for head, sequence, digest in rows]


def lane_count() -> int:
    """How many lanes appends are spread over (`AUDIT_LANES`)."""
    return int(settings.AUDIT_LANES)


# The advisory locks by which a PostgreSQL connection holds its lane: (this class, lane).
ADVISORY_LOCK_CLASS = 0x50455249  # "PERI"

# The lane each database connection holds, by the driver's connection object (a new
# connection, after a close or a failed health check, chooses again).
_held: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def current_lane(connection: BaseDatabaseWrapper) -> int:
    """The lane this connection appends to.

    On PostgreSQL each connection takes a lane of its own, for as long as it lives: the first
    free one from its preferred lane on, held by a session advisory lock, so the appenders of
    different server processes never share a lane while there are lanes enough. When every
    lane is taken (more connections than lanes), or behind a pooler where a session's lock
    means nothing, it shares its preferred lane. Sharing costs speed, never correctness: an
    append is ordered by the lane head's row lock, whoever else appends there.

    The preferred lane is the thread's id modulo the lanes (on Linux a process's first thread
    has the process's id, so the workers of a server start from different lanes)."""
    lanes = lane_count()
    if lanes == 1:
        return 0
    preferred = threading.get_native_id() % lanes
    if connection.vendor != "postgresql":
        return preferred
    connection.ensure_connection()
    held = _held.get(connection.connection)
    if held is not None and held < lanes:
        return held
    chosen = preferred
    with connection.cursor() as cursor:
        for step in range(lanes):
            lane = (preferred + step) % lanes
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, lane])
            if cursor.fetchone()[0]:
                chosen = lane
                break
    _held[connection.connection] = chosen
    return chosen


def cursor_parse(text: str) -> dict[int, int]:
    """The lane positions a feed cursor names ({lane: sequence of the last event read}), from
    its text: sequences separated by commas, each naming its lane. A lane at its base (no event
    read) is left out. ValueError for anything else, a lane named twice included."""
    positions: dict[int, int] = {}
    for item in text.split(","):
        if not (item.isascii() and item.isdigit()) or len(item) > 20:
            raise ValueError(f"'{item[:30]}' is not a sequence number.")
        sequence = int(item)
        lane = lane_of(sequence)
        if lane >= MAX_LANES:
            raise ValueError(f"{sequence} is in no lane: a ledger has at most {MAX_LANES}.")
        if lane in positions:
            raise ValueError(f"Lane {lane} is named twice.")
        positions[lane] = sequence
    return {lane: sequence for lane, sequence in positions.items() if sequence > lane_base(lane)}


def cursor_text(positions: Mapping[int, int]) -> str:
    """A feed cursor's text: the lanes' positions in lane order ("" when none). A ledger in one
    lane gives one sequence number, the cursor it had before lanes."""
    return ",".join(
        str(positions[lane]) for lane in sorted(positions) if positions[lane] > lane_base(lane)
    )


def pinned(heads: Mapping[int, int]) -> Q:
    """Events up to the given lane heads ({lane: head sequence}): what a report pinned to
    those heads may show. Lanes not named have no events in it."""
    condition = Q(pk__in=[])
    for lane, sequence in heads.items():
        condition |= Q(sequence__gt=lane_base(lane), sequence__lte=sequence)
    return condition
