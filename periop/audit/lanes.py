"""Lanes: the ledger as several hash chains appended in parallel.

One chain serialises every append of every process on its head's lock. With
`AUDIT_LANES` set above 1, each thread of each application process appends to one of that many
chains (its lane), so appends from different lanes never wait for each other.

The events keep their format: a lane is a range of sequence numbers. Lane L numbers its events
`L * STRIDE + 1, L * STRIDE + 2, ...`, gapless, each linked to the one before it in the lane,
the first to the genesis hash. Lane 0 is the ledger as it was before lanes: 1, 2, 3, ... .
The sequence is hashed, so an event cannot be moved to another lane without breaking its HMAC,
and a checkpoint of `(sequence, hash)` names its lane by its sequence. Each lane has its own
head row (`AuditChainHead.id == lane + 1`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db.models import Q

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


def lane_count() -> int:
    """How many lanes appends are spread over (`AUDIT_LANES`)."""
    return int(settings.AUDIT_LANES)


def current_lane() -> int:
    """The lane this thread appends to: fixed for a thread's life, so one thread never holds
    two lanes' locks, and spread over the lanes by thread id (on Linux a process's first
    thread has its process id, so the workers of a server land on different lanes)."""
    lanes = lane_count()
    return threading.get_native_id() % lanes if lanes > 1 else 0


def pinned(heads: Mapping[int, int] | Iterable[tuple[int, int]]) -> Q:
    """Events up to the given lane heads ({lane: head sequence}): what a report pinned to
    those heads may show. Lanes not named have no events in it."""
    items = heads.items() if isinstance(heads, Mapping) else heads
    condition = Q(pk__in=[])
    for lane, sequence in items:
        condition |= Q(sequence__gt=lane_base(lane), sequence__lte=sequence)
    return condition
