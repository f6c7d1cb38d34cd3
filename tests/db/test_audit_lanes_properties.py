"""Properties of the ledger in lanes, over any interleaving of appends to lanes, with some of
them rolled back: every lane is gapless from its base and verifies, and any one altered or
deleted event is found at its own sequence."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from periop.audit import lanes
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify
from tests.db.test_audit_tampering import as_owner

pytestmark = pytest.mark.django_db

# (lane, events appended, kept or rolled back): three lanes and mostly kept, so that lanes
# often hold several events on both sides of the one tampered with.
STEPS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(1, 4), st.sampled_from([True, True, True, False])),
    min_size=1,
    max_size=12,
)
EXAMPLES = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _RolledBack(Exception):
    pass


def _play(
    use_lane: Callable[[int], None], steps: list[tuple[int, int, bool]]
) -> dict[int, list[int]]:
    """Appends as the steps say; returns the sequences kept, by lane."""
    kept: dict[int, list[int]] = {}
    for lane, count, keep in steps:
        use_lane(lane)
        try:
            with transaction.atomic():
                events = [
                    audit_event_append(
                        actor=Actor.system(), action="read", resource_type="patient", resource_id=n
                    )
                    for n in range(count)
                ]
                if not keep:
                    raise _RolledBack
        except _RolledBack:
            continue
        kept.setdefault(lane, []).extend(event.sequence for event in events)
    return kept


@EXAMPLES
@given(steps=STEPS)
def test_any_interleaving_of_lanes_and_rollbacks_leaves_gapless_lanes_that_verify(
    audit_lane, steps
):
    with transaction.atomic():
        kept = _play(audit_lane, steps)

        result = audit_chain_verify()

        assert result.ok, result.problems
        for lane, sequences in kept.items():
            base = lanes.lane_base(lane)
            assert sequences == list(range(base + 1, base + len(sequences) + 1))
        walked = {lane.lane: lane.events for lane in result.lanes if lane.events}
        assert walked == {lane: len(sequences) for lane, sequences in kept.items()}
        transaction.set_rollback(True)


@EXAMPLES
@given(steps=STEPS, pick=st.integers(0, 10_000), delete=st.booleans())
def test_any_one_altered_or_deleted_event_in_any_lane_is_found_at_its_sequence(
    audit_lane, steps, pick, delete
):
    with transaction.atomic():
        by_lane = _play(audit_lane, steps)
        kept = [sequence for sequences in by_lane.values() for sequence in sequences]
        if kept:
            target = kept[pick % len(kept)]
            if delete:
                as_owner("DELETE FROM audit_auditevent WHERE sequence = %s", [target])
            else:
                as_owner(
                    "UPDATE audit_auditevent SET resource_id = 'x' WHERE sequence = %s", [target]
                )

            result = audit_chain_verify()

            # One problem, at that event: the events after it in its lane, and the other
            # lanes, are not blamed.
            assert [problem.sequence for problem in result.problems] == [target]
        transaction.set_rollback(True)
