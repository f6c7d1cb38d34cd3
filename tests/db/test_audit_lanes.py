"""The ledger in lanes (AUDIT_LANES > 1): several chains, each gapless and linked in itself,
verified each on its own; tampering in any lane is found at its row."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from periop.audit import lanes, services
from periop.audit.chain import GENESIS_HASH
from periop.audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
from periop.audit.models import AuditChainHead, AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify
from tests.db.test_audit_tampering import as_owner
from tests.db.writers import run_writers

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STRIDE = lanes.STRIDE


def append(count, note=""):
    return [
        audit_event_append(
            actor=Actor.system(),
            action="read",
            resource_type="patient",
            resource_id=f"{note}{number}",
        )
        for number in range(count)
    ]


def test_each_lane_numbers_its_events_from_its_own_base_and_links_them_in_itself(audit_lane):
    audit_lane(0)
    first = append(2)
    audit_lane(2)
    second = append(3)
    audit_lane(0)
    third = append(1)

    assert [event.sequence for event in first + third] == [1, 2, 3]
    assert [event.sequence for event in second] == [2 * STRIDE + 1, 2 * STRIDE + 2, 2 * STRIDE + 3]
    assert second[0].previous_hash == GENESIS_HASH
    assert [event.previous_hash for event in second[1:]] == [event.hash for event in second[:2]]
    assert third[0].previous_hash == first[-1].hash
    heads = dict(AuditChainHead.objects.values_list("id", "sequence"))
    assert heads == {1: 3, 3: 2 * STRIDE + 3}

    result = audit_chain_verify()

    assert result.ok, result.problems
    assert result.events == 6
    assert [(lane.lane, lane.events) for lane in result.lanes] == [(0, 3), (2, 3)]
    assert [lane.head for lane in result.lanes] == [third[0].hash, second[-1].hash]


def test_a_lane_is_found_by_its_sequence_alone():
    assert [lanes.lane_of(sequence) for sequence in (1, STRIDE - 1, STRIDE + 1, 3 * STRIDE)] == [
        0,
        0,
        1,
        3,
    ]
    assert lanes.lane_position(3 * STRIDE + 7) == 7
    assert lanes.lane_position(7) == 7


def test_an_altered_event_in_a_lane_is_found_at_its_row(audit_lane):
    audit_lane(1)
    events = append(4)
    audit_lane(3)
    append(2)

    as_owner("UPDATE audit_auditevent SET resource_id = 'x' WHERE sequence = %s", [STRIDE + 3])
    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == STRIDE + 3
    assert "altered" in result.problem
    assert events[2].sequence == STRIDE + 3


def test_an_event_deleted_from_the_middle_of_a_lane_is_named(audit_lane):
    audit_lane(1)
    append(5)

    as_owner("DELETE FROM audit_auditevent WHERE sequence = %s", [STRIDE + 2])
    result = audit_chain_verify()

    assert result.first_broken_sequence == STRIDE + 2
    assert result.problem == (
        f"Event {STRIDE + 2} is missing (the next stored event is {STRIDE + 3})."
    )


def test_the_newest_events_of_a_lane_deleted_are_found_by_its_head(audit_lane):
    audit_lane(0)
    append(3)
    audit_lane(2)
    append(4)

    as_owner("DELETE FROM audit_auditevent WHERE sequence > %s", [2 * STRIDE + 2])
    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 2 * STRIDE + 3
    assert result.problem == (
        f"Lane 2 of the ledger ends at event {2 * STRIDE + 2} but its head records 4 events: "
        "the latest events were deleted."
    )


def test_a_whole_lane_deleted_is_found_by_its_head(audit_lane):
    audit_lane(3)
    append(2)

    as_owner("DELETE FROM audit_auditevent")
    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 3 * STRIDE + 1


def test_the_newest_events_of_a_lane_deleted_with_its_head_rewound_are_found_by_a_checkpoint(
    audit_lane, settings, tmp_path
):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"
    audit_lane(1)
    events = append(3)
    audit_checkpoint_write(sequence=events[-1].sequence, hash=events[-1].hash)

    as_owner("DELETE FROM audit_auditevent WHERE sequence = %s", [STRIDE + 3])
    as_owner(
        "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 2",
        [STRIDE + 2, events[1].hash],
    )
    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == STRIDE + 3
    assert f"Lane 1 of the ledger ends at event {STRIDE + 2}, before the checkpoint" in (
        result.problem
    )


def test_an_event_moved_to_another_lane_breaks_its_hash(audit_lane):
    audit_lane(1)
    append(2)

    as_owner(
        "UPDATE audit_auditevent SET sequence = %s WHERE sequence = %s",
        [2 * STRIDE + 1, STRIDE + 2],
    )
    result = audit_chain_verify()

    assert not result.ok
    named = {problem.sequence: problem.message for problem in result.problems}
    assert "altered" in named[2 * STRIDE + 1]
    # And lane 1 lost its newest event.
    assert "Lane 1 of the ledger ends at event" in named[STRIDE + 2]


def test_a_rolled_back_append_leaves_no_trace_and_the_next_one_links_to_the_committed_head(
    audit_lane,
):
    audit_lane(2)
    kept = append(1)

    def failing_change():
        with transaction.atomic():
            append(2, note="undone")
            raise RuntimeError("the caller's change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    after = append(1)

    assert after[0].sequence == 2 * STRIDE + 2
    assert after[0].previous_hash == kept[0].hash
    assert audit_chain_verify().ok


@pytest.mark.parametrize(
    "remembered",
    [
        # Lane 1 as it was before its event, as if another writer had appended that event.
        (STRIDE, GENESIS_HASH),
        # The right number with another hash: this thread's own append under that number
        # rolled back, and another writer's committed in its place.
        (STRIDE + 1, "f" * 64),
    ],
    ids=["behind", "same-number-other-event"],
)
def test_an_append_whose_remembered_head_is_stale_links_to_the_stored_head(audit_lane, remembered):
    audit_lane(1)
    first = append(1)
    services._seen_heads()[(connection.alias, 1)] = remembered
    second = append(1)

    assert second[0].sequence == STRIDE + 2
    assert second[0].previous_hash == first[0].hash
    assert audit_chain_verify().ok


def test_automatic_checkpoints_count_each_lanes_own_events(
    audit_lane, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 3
    audit_lane(2)
    with django_capture_on_commit_callbacks(execute=True):
        events = append(7)

    written = [checkpoint.sequence for checkpoint in audit_checkpoints_read().checkpoints]
    assert written == [events[2].sequence, events[5].sequence]
    assert written == [2 * STRIDE + 3, 2 * STRIDE + 6]


def test_a_lane_whose_checkpoints_are_missing_is_named(audit_lane, settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.jsonl"
    audit_lane(2)
    append(7)
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 3

    result = audit_chain_verify()

    assert not result.ok
    assert (
        f"no checkpoint at or after event {2 * STRIDE + 3}, although the ledger checkpoints "
        "each lane every 3 events and lane 2 holds 7"
    ) in result.problem


def test_a_connection_keeps_its_lane_and_one_lane_is_lane_0(settings):
    settings.AUDIT_LANES = 5
    seen = {lanes.current_lane(connection) for _ in range(10)}

    assert len(seen) == 1
    assert 0 <= seen.pop() < 5
    settings.AUDIT_LANES = 1
    assert lanes.current_lane(connection) == 0


@pytest.fixture
def other_session():
    """A second PostgreSQL session, as another server process's connection would be."""
    import psycopg

    settings = connection.settings_dict
    session = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    yield session
    session.close()


def _fresh_connection():
    """This test's Django connection, reopened: it has no lane yet."""
    connection.close()
    connection.ensure_connection()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_each_connection_takes_a_free_lane_of_its_own(
    settings, other_session, transactional_db, audit_guard_lifted
):
    settings.AUDIT_LANES = 4
    _fresh_connection()
    preferred = threading.get_native_id() % 4
    # Another process holds every lane but one.
    free = (preferred + 2) % 4
    for lane in range(4):
        if lane != free:
            other_session.execute(
                "SELECT pg_advisory_lock(%s, %s)", [lanes.ADVISORY_LOCK_CLASS, lane]
            )

    assert lanes.current_lane(connection) == free
    # Kept, without asking again.
    with CaptureQueriesContext(connection) as queries:
        assert lanes.current_lane(connection) == free
    assert len(queries) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_with_every_lane_taken_a_connection_shares_its_preferred_lane(
    settings, other_session, transactional_db, audit_guard_lifted
):
    settings.AUDIT_LANES = 3
    _fresh_connection()
    for lane in range(3):
        other_session.execute("SELECT pg_advisory_lock(%s, %s)", [lanes.ADVISORY_LOCK_CLASS, lane])

    lane = lanes.current_lane(connection)
    events = append(2)

    assert lane == threading.get_native_id() % 3
    assert [lanes.lane_of(event.sequence) for event in events] == [lane, lane]
    assert audit_chain_verify().ok


@pytest.mark.parametrize("value", ["0", "65", "-1"])
def test_a_number_of_lanes_out_of_range_is_refused_at_start(value):
    environment = {**os.environ, "AUDIT_LANES": value, "DJANGO_SETTINGS_MODULE": "periop.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode != 0
    assert f"AUDIT_LANES must be from 1 to 64, not {value}." in done.stderr
    assert ImproperlyConfigured.__name__ in done.stderr


def test_the_settings_limit_is_the_lanes_module_limit():
    source = (ROOT / "periop" / "settings.py").read_text()

    assert f"1 <= AUDIT_LANES <= {lanes.MAX_LANES}" in source


WRITER = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "periop.settings"
django.setup()
from django.db import transaction
from periop.audit.services import Actor, audit_event_append
writer = sys.argv[1]
for number in range(int(sys.argv[2])):
    try:
        with transaction.atomic():
            audit_event_append(actor=Actor.system(f"writer-{writer}"), action="read",
                               resource_type="patient", resource_id=f"{writer}-{number}")
            if number % 7 == 3:
                raise RuntimeError("rolled back")
    except RuntimeError:
        pass
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_eight_writers_sharing_three_lanes_with_rollbacks_give_gapless_lanes(
    audit_guard_lifted, transactional_db
):
    run_writers(WRITER, 280, AUDIT_LANES="3", AUDIT_CHECKPOINT_EVERY_EVENTS="0")

    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    kept = 8 * sum(1 for number in range(280) if number % 7 != 3)
    assert len(sequences) == kept
    by_lane: dict[int, list[int]] = {}
    for sequence in sequences:
        by_lane.setdefault(lanes.lane_of(sequence), []).append(lanes.lane_position(sequence))
    assert set(by_lane) <= {0, 1, 2}
    assert all(positions == list(range(1, len(positions) + 1)) for positions in by_lane.values())
    result = audit_chain_verify()
    assert result.ok, result.problems
    assert sum(lane.events for lane in result.lanes) == kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lanes append in one trip there")
@pytest.mark.parametrize("stale", [False, True], ids=["head-unmoved", "head-moved"])
def test_outside_a_transaction_an_append_is_one_statement_when_its_lane_is_unmoved(
    audit_guard_lifted, transactional_db, audit_lane, stale
):
    audit_lane(3)
    first = append(1)
    if stale:
        # Another writer's append to lane 3 since, as it would be stored.
        services._seen_heads()[(connection.alias, 3)] = (3 * STRIDE, GENESIS_HASH)

    with CaptureQueriesContext(connection) as queries:
        second = append(1)

    assert second[0].sequence == 3 * STRIDE + 2
    assert second[0].previous_hash == first[0].hash
    # Unmoved: the one conditional statement, committed by itself. Moved: that statement
    # writes nothing, then the claim and the write in a transaction of their own.
    statements = [query["sql"].split(" ", 2)[:2] for query in queries.captured_queries]
    one_trip = ["WITH", "moved"]
    if stale:
        assert statements == [
            one_trip,
            ["BEGIN"],
            ["UPDATE", "audit_auditchainhead"],
            ["WITH", "inserted"],
            ["COMMIT"],
        ]
    else:
        assert statements == [one_trip]
    assert not connection.in_atomic_block
    assert AuditEvent.objects.filter(sequence=3 * STRIDE + 2).exists()
    # Either way the lane's head is remembered again: the next append is one statement.
    with CaptureQueriesContext(connection) as queries:
        third = append(1)
    assert [query["sql"].split(" ", 2)[:2] for query in queries.captured_queries] == [one_trip]
    assert third[0].previous_hash == second[0].hash
    assert audit_chain_verify().ok
