"""The read replica (periop.replica): which database the reports read, and the fallback to the
primary. Here the replica alias mirrors the test database (`replica_mirror`); tests/db/
test_streaming_replica.py runs the same paths against a real streaming replica."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import OperationalError, connections, router

from periop import replica
from periop.assessments.models import Assessment
from periop.audit.models import AuditChainHead, AuditEvent
from periop.reports.selectors import audit_chain_head
from tests.conftest import client_for
from tests.integration.test_reports_figures import build_october
from tests.integration.test_reports_pages import OCTOBER, browser

pytestmark = pytest.mark.django_db


def api_report(user, department, **params):
    response = client_for(user).get(
        f"/api/v1/reports/departments/{department.pk}", {**OCTOBER, **params}
    )
    assert response.status_code == 200, response.content
    return response


def lagging(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda wal_position: seconds)


@pytest.mark.skipif("replica" in connections.settings, reason="a replica is configured")
def test_without_a_replica_reports_say_they_read_the_primary(auditor, department, anesthetist):
    build_october(department, anesthetist)

    body = api_report(auditor, department).json()

    assert body["read_from"]["database"] == "primary"
    assert body["read_from"]["reason"] == "no replica configured"
    assert body["assessments"]["total"] == 4


def test_reads_outside_a_report_and_every_write_go_to_the_primary(replica_mirror):
    assert router.db_for_read(Assessment) == "default"
    assert router.db_for_write(Assessment) == "default"
    with replica.report_reads() as source:
        assert source.database == "replica"
        assert router.db_for_read(Assessment) == "replica"
        assert router.db_for_write(Assessment) == "default"
        assert router.db_for_write(AuditEvent) == "default"
    assert router.db_for_read(Assessment) == "default"


def test_migrations_run_on_the_primary_only(replica_mirror):
    assert router.allow_migrate("default", "assessments")
    assert not router.allow_migrate("replica", "assessments")


def test_a_caught_up_replica_serves_the_report_and_the_audit_event_goes_to_the_primary(
    replica_mirror, auditor, department, anesthetist
):
    build_october(department, anesthetist)
    events_before = AuditEvent.objects.count()

    body = api_report(auditor, department).json()

    assert body["read_from"]["database"] == "replica"
    assert body["read_from"]["replica_lag_seconds"] == 0
    assert body["read_from"]["statement"].startswith("Read from the read replica; replica lag")
    assert body["assessments"]["total"] == 4
    assert AuditEvent.objects.using("default").count() == events_before + 1


def test_a_replica_lagging_beyond_the_bound_is_skipped_and_the_report_says_by_how_much(
    replica_mirror, auditor, department, anesthetist, monkeypatch, settings
):
    build_october(department, anesthetist)
    settings.REPLICA_MAX_LAG_SECONDS = 5
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 0
    lagging(monkeypatch, 12.5)

    body = api_report(auditor, department).json()

    assert body["read_from"] == {
        "database": "primary",
        "replica_lag_seconds": 12.5,
        "reason": "replica lag 12.500 s exceeds the 5 s bound",
        "statement": "Read from the primary database; replica lag 12.500 s "
        "(replica lag 12.500 s exceeds the 5 s bound).",
    }
    assert body["assessments"]["total"] == 4


def test_a_replica_within_the_bound_is_used_and_its_lag_printed(
    replica_mirror, auditor, department, anesthetist, monkeypatch, settings
):
    build_october(department, anesthetist)
    settings.REPLICA_MAX_LAG_SECONDS = 5
    lagging(monkeypatch, 1.25)

    page = browser(auditor).get(f"/reports/departments/{department.pk}/", OCTOBER)

    assert page.status_code == 200
    assert "Read from the read replica; replica lag 1.250 s (within the 5 s bound)." in (
        page.content.decode()
    )


def test_the_csv_export_names_the_database_and_the_lag(
    replica_mirror, auditor, department, anesthetist, monkeypatch
):
    build_october(department, anesthetist)
    lagging(monkeypatch, 0.5)

    response = browser(auditor).get(
        f"/reports/departments/{department.pk}/", {**OCTOBER, "format": "csv"}
    )

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert ["report", "read_from", "", "database", "replica"] in rows
    assert ["report", "read_from", "", "replica_lag_seconds", "0.5"] in rows


def test_an_unreachable_replica_sends_the_report_to_the_primary(
    replica_mirror, auditor, department, anesthetist, monkeypatch
):
    build_october(department, anesthetist)

    def unreachable(wal_position):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(replica, "replica_lag_seconds", unreachable)

    body = api_report(auditor, department).json()

    assert body["read_from"]["database"] == "primary"
    assert body["read_from"]["reason"] == "replica unreachable"
    assert body["assessments"]["total"] == 4


def test_the_audit_log_needs_a_replica_that_holds_every_event_up_to_its_head(
    replica_mirror, auditor, department, anesthetist, monkeypatch, settings
):
    """The log lists every event up to the head it pins on the primary: a replica behind
    that head, however little, would leave some out, so the log reads the primary."""
    build_october(department, anesthetist)
    settings.REPLICA_MAX_LAG_SECONDS = 5
    settings.REPLICA_CATCH_UP_WAIT_SECONDS = 0
    client = browser(auditor)
    url = f"/reports/departments/{department.pk}/audit-log/"

    lagging(monkeypatch, 0.0)
    assert "Read from the read replica; replica lag 0.000 s" in client.get(url, OCTOBER).text
    lagging(monkeypatch, 0.3)
    page = client.get(url, OCTOBER).text
    assert "Read from the primary database; replica lag 0.300 s" in page
    assert "exceeds the 0 s bound" in page


def test_the_chain_head_is_read_from_the_primary_and_the_figures_from_the_replica(
    replica_mirror, department, monkeypatch
):
    """A replica connection that refuses every statement: the head still reads (primary),
    the report's figures do not (replica)."""
    refusing = connections.create_connection("default")

    def refuse(*args, **kwargs):
        raise AssertionError("read from the replica")

    refusing.cursor = refuse  # type: ignore[method-assign]
    lagging(monkeypatch, 0.0)
    connections["replica"] = refusing
    try:
        with replica.report_reads() as source:
            assert source.alias == "replica"
            head = audit_chain_head()
            with pytest.raises(AssertionError, match="read from the replica"):
                Assessment.objects.filter(department=department).count()
    finally:
        connections["replica"] = connections["default"]
        refusing.close()
    stored = AuditChainHead.objects.filter(id=1).values_list("sequence", flat=True).first()
    assert head["sequence"] == (stored or 0)
