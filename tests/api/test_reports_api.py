"""GET /api/v1/reports/departments/{id}: the department report as JSON and streamed CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from periop.accounts.models import Role
from periop.audit.models import AuditChainHead, AuditEvent
from tests.conftest import client_for
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
    UserFactory,
)
from tests.integration.test_reports_figures import build_october

pytestmark = pytest.mark.django_db

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


def url(department) -> str:
    return f"/api/v1/reports/departments/{department.pk}"


def test_an_auditor_gets_the_departments_figures(auditor_client, department, anesthetist):
    build_october(department, anesthetist)

    response = auditor_client.get(url(department), OCTOBER)

    assert response.status_code == 200
    body = response.json()
    assert body["period"]["time_zone"] == "America/New_York"
    assert body["assessments"]["total"] == 4
    assert body["cautions"]["by_level"]["contraindicated"] == 2
    assert body["overrides"]["total"] == 2
    head = AuditChainHead.objects.get(id=1)
    # The head was read before the view's own audit event was appended.
    assert body["audit_chain_head"]["sequence"] == head.sequence - 1


def test_a_department_admin_may_read_the_report(department, department_admin):
    assert client_for(department_admin).get(url(department)).status_code == 200


def test_clinicians_are_refused(anesthetist_client, pharmacist_client, department):
    assert anesthetist_client.get(url(department)).status_code == 403
    assert pharmacist_client.get(url(department)).status_code == 403


def test_an_auditor_of_another_department_gets_404(auditor_client, other_department):
    assert auditor_client.get(url(other_department)).status_code == 404
    assert auditor_client.get("/api/v1/reports/departments/999999").status_code == 404


def test_an_anesthetist_here_who_audits_elsewhere_cannot_see_this_department(
    department, other_department
):
    user = UserFactory(username="two-hats")
    MembershipFactory(user=user, department=department, role=Role.ANESTHETIST)
    MembershipFactory(user=user, department=other_department, role=Role.AUDITOR)
    client = client_for(user)
    assert client.get(url(department)).status_code == 404
    assert client.get(url(other_department)).status_code == 200


def test_anonymous_requests_are_unauthenticated(api_client, department):
    assert api_client.get(url(department)).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01", "to": "2026-12-31"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-10-31", "to": "2026-10-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(auditor_client, department, params, field):
    response = auditor_client.get(url(department), params)
    assert response.status_code == 400
    assert field in response.json()


def test_without_a_period_it_reports_the_month_to_date_in_the_departments_time_zone(
    auditor_client, department
):
    zone = zoneinfo.ZoneInfo(department.time_zone)
    before = dt.datetime.now(zone).date()
    body = auditor_client.get(url(department)).json()
    after = dt.datetime.now(zone).date()

    # The department's today, not UTC's (London is an hour ahead in summer); `before` and
    # `after` differ only if the request straddled local midnight.
    assert (body["period"]["from"], body["period"]["to"]) in {
        (today.replace(day=1).isoformat(), today.isoformat()) for today in (before, after)
    }


def test_the_csv_is_streamed_and_parseable(auditor_client, department, anesthetist):
    build_october(department, anesthetist)

    response = auditor_client.get(url(department), {**OCTOBER, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["section", "group", "item", "measure", "value"]
    figures = {tuple(row[:4]): row[4] for row in rows[1:]}
    assert figures[("assessments", "total", "", "count")] == "4"
    assert figures[("cautions", "level", "contraindicated", "count")] == "2"
    assert figures[("overrides", "reason", "no-alternative", "count")] == "1"
    assert figures[("overrides", "level", "contraindicated", "override_rate")] == "0.5"
    assert ("report", "audit_chain_head", "", "hash") in figures


def test_viewing_and_exporting_are_audited(auditor_client, auditor, department):
    auditor_client.get(url(department), OCTOBER)
    auditor_client.get(url(department), {**OCTOBER, "format": "csv"})

    events = list(AuditEvent.objects.filter(resource_type="department-report").order_by("sequence"))
    assert [event.action for event in events] == ["query", "export"]
    assert {event.actor_user_id for event in events} == {auditor.pk}
    assert {event.department_id for event in events} == {department.pk}
    assert '"from":"2026-10-01"' in events[0].payload


def _queries(client, department) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(department)).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("rows", [1, 25])
def test_the_query_count_does_not_grow_with_the_rows(auditor_client, department, anesthetist, rows):
    person = PatientFactory(department=department)
    PatientConditionFactory(patient=person, code="burn", onset_date=dt.date(2020, 1, 1))
    for _ in range(rows):
        AssessmentFactory(patient=person, drugs=["succinylcholine"], created_by=anesthetist)
    # Token, role check, audited departments, department, the report's nine, then the
    # audit append (two statements on PostgreSQL, three on SQLite). With a read replica
    # (its connection is the primary's in these tests), the primary's WAL position and the
    # replica's lag choose where the nine read.
    append = 2 if connection.vendor == "postgresql" else 3
    routing = 2 if "replica" in connections.settings and connection.vendor == "postgresql" else 0
    assert _queries(auditor_client, department) == 4 + 9 + append + routing


def test_the_report_anchors_the_head_it_returns(auditor_client, department):
    from periop.audit.checkpoints import audit_checkpoints_read

    body = auditor_client.get(url(department)).json()

    (checkpoint,) = audit_checkpoints_read().checkpoints
    assert checkpoint.sequence == body["audit_chain_head"]["sequence"]
    assert checkpoint.hash == body["audit_chain_head"]["hash"]
