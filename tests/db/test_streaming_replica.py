"""The reports against a real streaming replica (`.ci/replica` starts one with pg_basebackup and
sets DATABASE_REPLICA_URL). Rows are committed (`transaction=True`): the replica only sees what
the primary committed and replication carried over. Replay is paused to make the replica lag."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connections

from periop.assessments.models import Assessment
from periop.audit.models import AuditChainHead
from tests.conftest import client_for
from tests.integration.test_reports_figures import build_october
from tests.integration.test_reports_pages import OCTOBER, browser

REPLICA_CONFIGURED = "replica" in connections.settings

pytestmark = [
    pytest.mark.real_replica,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
    pytest.mark.skipif(
        not REPLICA_CONFIGURED and not os.environ.get("PERIOP_REQUIRE_REPLICA"),
        reason="needs a streaming replica (DATABASE_REPLICA_URL; .ci/replica starts one)",
    ),
]


def on(alias: str, sql: str, params: list | None = None):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()


def wait_for_replay() -> None:
    """Until the replica has replayed everything the primary has written so far."""
    (position,) = on("default", "SELECT pg_current_wal_lsn()::text")
    for _ in range(500):
        if on("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])[0]:
            return
        time.sleep(0.01)
    raise AssertionError("the replica did not catch up within 5 s")


@pytest.fixture
def streaming(audit_guard_lifted: None, settings) -> Iterator[None]:
    assert REPLICA_CONFIGURED, "PERIOP_REQUIRE_REPLICA is set but no replica is configured"
    assert on("replica", "SELECT pg_is_in_recovery()") == (True,)
    assert on("default", "SELECT pg_is_in_recovery()") == (False,)
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 5
    yield
    on("replica", "SELECT pg_wal_replay_resume()")


@pytest.fixture
def paused_replica(streaming: None) -> Iterator[None]:
    """Replay paused on the replica (it keeps receiving WAL, but applies none of it)."""
    wait_for_replay()
    on("replica", "SELECT pg_wal_replay_pause()")
    yield
    on("replica", "SELECT pg_wal_replay_resume()")


def api_report(user, department):
    response = client_for(user).get(f"/api/v1/reports/departments/{department.pk}", OCTOBER)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_replica_is_a_read_only_standby_of_the_primary(streaming, department):
    wait_for_replay()
    assert on("replica", "SELECT code FROM accounts_department WHERE id = %s", [department.pk]) == (
        department.code,
    )
    with pytest.raises(DatabaseError, match="read-only"):
        on("replica", "UPDATE accounts_department SET name = 'x' WHERE id = %s", [department.pk])


def test_a_caught_up_replica_serves_the_report(streaming, auditor, department, anesthetist):
    build_october(department, anesthetist)

    body = api_report(auditor, department)

    assert body["read_from"]["database"] == "replica"
    assert body["read_from"]["replica_lag_seconds"] == 0
    assert body["assessments"]["total"] == 4
    # The report's own audit event went to the primary, and reaches the replica.
    head = AuditChainHead.objects.using("default").get(id=1)
    assert body["audit_chain_head"]["sequence"] == head.sequence - 1
    wait_for_replay()
    assert on("replica", "SELECT sequence FROM audit_auditchainhead WHERE id = 1") == (
        head.sequence,
    )


def test_a_lagging_replica_within_the_bound_serves_its_older_figures_and_says_how_old(
    streaming, auditor, department, anesthetist, settings, request
):
    """The bound is the price of reading a replica: within it, the report may miss the
    newest rows, and prints how far behind it read. The head still comes from the primary."""
    request.getfixturevalue("paused_replica")
    build_october(department, anesthetist)
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 0

    body = api_report(auditor, department)

    assert body["read_from"]["database"] == "replica"
    assert body["read_from"]["replica_lag_seconds"] > 0
    assert body["assessments"]["total"] == 0  # replayed before the assessments were made
    primary_head = AuditChainHead.objects.using("default").get(id=1).sequence
    assert body["audit_chain_head"]["sequence"] == primary_head - 1
    replica_head = on("replica", "SELECT sequence FROM audit_auditchainhead WHERE id = 1")
    assert replica_head is None or replica_head[0] < body["audit_chain_head"]["sequence"]


def test_a_replica_lagging_beyond_the_bound_is_skipped(
    streaming, auditor, department, anesthetist, settings, request
):
    request.getfixturevalue("paused_replica")
    build_october(department, anesthetist)
    time.sleep(0.05)
    settings.REPLICA_MAX_LAG_SECONDS = 0.01
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 0.1

    body = api_report(auditor, department)

    assert body["read_from"]["database"] == "primary"
    assert body["read_from"]["replica_lag_seconds"] > 0.01
    assert "exceeds the 0.01 s bound" in body["read_from"]["reason"]
    assert body["assessments"]["total"] == 4
    assert Assessment.objects.using("replica").filter(department=department).count() == 0


def test_the_audit_log_reads_the_replica_only_when_it_holds_the_head(
    streaming, auditor, department, anesthetist, settings, request
):
    build_october(department, anesthetist)
    client = browser(auditor)
    url = f"/reports/departments/{department.pk}/audit-log/"

    page = client.get(url, OCTOBER).text
    assert "Read from the read replica; replica lag 0.000 s" in page

    request.getfixturevalue("paused_replica")
    client.get(url, OCTOBER)  # an audited view: the primary's head moves past the replica
    settings.REPLICA_MAX_LAG_SECONDS = 3600
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 0.1
    page = client.get(url, OCTOBER).text
    assert "Read from the primary database" in page
    assert "exceeds the 0 s bound" in page
