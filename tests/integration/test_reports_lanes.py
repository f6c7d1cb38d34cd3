"""Reports on a ledger in lanes (AUDIT_LANES > 1): they quote and anchor every lane's head,
and show each lane's events up to its head, no further."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from periop.audit import lanes
from periop.audit.checkpoints import audit_checkpoints_read
from periop.audit.models import AuditChainHead, AuditEvent
from periop.audit.selectors import audit_events_of_department
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify
from periop.reports.selectors import audit_chain_head, audit_head_lanes

pytestmark = pytest.mark.django_db

STRIDE = lanes.STRIDE


def department_event(department, note):
    return audit_event_append(
        actor=Actor.system(),
        action="read",
        resource_type="patient",
        resource_id=note,
        department_id=department.pk,
    )


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def heads_now() -> dict[int, tuple[int, str]]:
    return {
        head_id - 1: (sequence, digest)
        for head_id, sequence, digest in AuditChainHead.objects.values_list(
            "id", "sequence", "hash"
        )
    }


def test_the_head_names_every_lane_and_pins_each_lanes_events_up_to_its_head(
    audit_lane, department
):
    audit_lane(0)
    before_0 = department_event(department, "a")
    audit_lane(2)
    before_2 = department_event(department, "b")

    head = audit_chain_head()
    audit_lane(0)
    after_0 = department_event(department, "c")
    audit_lane(2)
    after_2 = department_event(department, "d")
    audit_lane(1)
    after_1 = department_event(department, "e")

    assert head["sequence"] == before_0.sequence
    assert head["lanes"] == [
        {"lane": 0, "sequence": before_0.sequence, "hash": before_0.hash},
        {"lane": 2, "sequence": before_2.sequence, "hash": before_2.hash},
    ]
    pinned = audit_events_of_department(AuditEvent.objects.all(), department.pk).filter(
        lanes.pinned(audit_head_lanes(head))
    )
    shown = set(pinned.values_list("sequence", flat=True))
    assert {before_0.sequence, before_2.sequence} <= shown
    assert shown.isdisjoint({after_0.sequence, after_2.sequence, after_1.sequence})


def test_a_ledger_of_one_lane_keeps_its_head_as_it_was(department):
    event = department_event(department, "a")

    head = audit_chain_head()

    assert head == {"sequence": event.sequence, "hash": event.hash}
    assert audit_head_lanes(head) == {0: event.sequence}


def test_the_report_quotes_every_lane_in_json_csv_and_html(
    audit_lane, department, auditor, auditor_client
):
    audit_lane(3)
    department_event(department, "a")
    audit_lane(0)
    department_event(department, "b")
    quoted = heads_now()
    url = f"/api/v1/reports/departments/{department.pk}"

    body = auditor_client.get(url).json()
    exported = auditor_client.get(url, {"format": "csv"}).streaming_content
    rows = list(csv.reader(io.StringIO(b"".join(exported).decode())))
    html = browser(auditor).get(f"/reports/departments/{department.pk}/").content.decode()

    lanes_in_json = body["audit_chain_head"]["lanes"]
    assert [entry["lane"] for entry in lanes_in_json] == [0, 3]
    assert lanes_in_json[1] == {"lane": 3, "sequence": quoted[3][0], "hash": quoted[3][1]}
    assert ["report", "audit_chain_head", "lane 3", "sequence", str(quoted[3][0])] in rows
    assert ["report", "audit_chain_head", "lane 3", "hash", quoted[3][1]] in rows
    assert f"<td>{quoted[3][0]}</td><td><code>{quoted[3][1]}</code></td>" in html


def test_a_report_anchors_every_lanes_head_and_the_ledger_verifies_against_them(
    audit_lane, department, auditor_client
):
    audit_lane(1)
    department_event(department, "a")
    audit_lane(0)
    department_event(department, "b")
    quoted = heads_now()

    auditor_client.get(f"/api/v1/reports/departments/{department.pk}")

    checkpoints = audit_checkpoints_read().checkpoints
    assert {(c.sequence, c.hash) for c in checkpoints} == set(quoted.values())
    assert len({c.time for c in checkpoints}) == 1
    result = audit_chain_verify()
    assert result.ok, result.problems
    assert result.checkpoints == len(quoted)


def test_the_audit_log_page_lists_each_lanes_events_and_its_heads(audit_lane, department, auditor):
    audit_lane(2)
    in_lane_2 = department_event(department, "lane-two-event")
    audit_lane(0)

    response = browser(auditor).get(f"/reports/departments/{department.pk}/audit-log/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "lane-two-event" in html
    assert f"<td>{in_lane_2.sequence}</td><td><code>{in_lane_2.hash}</code></td>" in html
    assert in_lane_2.sequence == 2 * STRIDE + 1
