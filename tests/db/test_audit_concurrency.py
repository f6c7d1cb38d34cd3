"""Concurrent writers on PostgreSQL: 8 processes x 500 events give one gapless chain."""

import pytest
from django.db import connection

from periop.audit.models import AuditEvent
from periop.audit.verification import audit_chain_verify
from tests.db.writers import run_writers
from tests.wal import wal_syncs

WRITER = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "periop.settings"
django.setup()
from django.db import transaction
from periop.audit.services import Actor, audit_event_append
writer = sys.argv[1]
for number in range(int(sys.argv[2])):
    with transaction.atomic():
        audit_event_append(actor=Actor.system(f"writer-{writer}"), action="read",
                           resource_type="patient", resource_id=f"{writer}-{number}")
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.parametrize("flush_outside_lock", ["false", "true"])
def test_eight_concurrent_writers_produce_one_gapless_chain(
    audit_guard_lifted, transactional_db, flush_outside_lock
):
    run_writers(WRITER, 500, AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK=flush_outside_lock)

    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 4001))
    assert audit_chain_verify().ok


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_flushing_outside_the_lock_commits_without_waiting_then_waits_once_per_transaction(
    db, settings, django_capture_on_commit_callbacks
):
    """With AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK the appending transaction commits asynchronously
    (the chain head's lock goes at once) and registers one wait for the flush, ahead of
    every other on-commit callback (the automatic checkpoint among them)."""
    from django.db import transaction

    from periop.audit.services import Actor, _wait_for_flush, audit_event_append

    settings.AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK = True
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        assert _synchronous_commit() == "on"
        for number in range(3):
            audit_event_append(
                actor=Actor.system(), action="read", resource_type="patient", resource_id=number
            )
        assert _synchronous_commit() == "off"

    assert callbacks[0] is _wait_for_flush
    assert callbacks.count(_wait_for_flush) == 1
    assert len(callbacks) == 4  # the wait, then one automatic checkpoint per event
    _wait_for_flush()  # runs as its own committed transaction


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_a_rolled_back_savepoint_takes_the_wait_with_it_and_the_next_append_registers_it(
    db, settings, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from periop.audit.services import Actor, _wait_for_flush, audit_event_append

    settings.AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                audit_event_append(actor=Actor.system(), action="read", resource_type="x")
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        assert _synchronous_commit() == "on"
        audit_event_append(actor=Actor.system(), action="read", resource_type="x")
        assert _synchronous_commit() == "off"

    assert callbacks == [_wait_for_flush]


def test_without_the_setting_nothing_changes_in_the_commit(
    db, settings, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from periop.audit.services import Actor, _wait_for_flush, audit_event_append

    settings.AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        audit_event_append(actor=Actor.system(), action="read", resource_type="x")
        if connection.vendor == "postgresql":
            assert _synchronous_commit() == "on"

    assert _wait_for_flush not in callbacks


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_wait_after_an_asynchronous_commit_flushes_the_wal_each_time(
    audit_guard_lifted, transactional_db
):
    """A transaction that writes no WAL of its own commits without a flush, so a wait built
    on one would wait for nothing: each wait must sync the WAL to disk."""
    from periop.audit.services import _wait_for_flush

    before = wal_syncs()
    for _ in range(10):
        _wait_for_flush()
    assert wal_syncs() - before >= 10
