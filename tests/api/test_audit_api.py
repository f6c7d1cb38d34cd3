"""GET /api/v1/audit/events and /api/v1/audit/verify."""

import datetime as dt

import pytest

from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from tests.conftest import audit_append_queries, client_for

pytestmark = pytest.mark.django_db


def append(**fields):
    defaults = {"actor": Actor.system(), "action": "read", "resource_type": "patient"}
    return audit_event_append(**{**defaults, **fields})


def test_only_auditors_and_admins_may_read_the_trail(pharmacist_client, anesthetist_client):
    assert pharmacist_client.get("/api/v1/audit/events").status_code == 403
    assert anesthetist_client.get("/api/v1/audit/events").status_code == 403
    assert pharmacist_client.get("/api/v1/audit/verify").status_code == 403


def test_auditors_see_only_their_departments_events(auditor_client, department, other_department):
    append(department_id=department.id, resource_id="mine")
    append(department_id=other_department.id, resource_id="theirs")

    results = auditor_client.get("/api/v1/audit/events", {"resource_type": "patient"}).json()[
        "results"
    ]

    assert [event["resource_id"] for event in results] == ["mine"]


def test_events_without_department_are_visible_through_the_actor(
    auditor_client, pharmacist, outsider
):
    append(actor=Actor.from_user(pharmacist), resource_type="check", resource_id="ours")
    append(actor=Actor.from_user(outsider), resource_type="check", resource_id="foreign")

    results = auditor_client.get("/api/v1/audit/events", {"action": "read"}).json()["results"]

    assert [event["resource_id"] for event in results] == ["ours"]


def test_events_filter_by_patient_user_action_and_period(auditor_client, department, anesthetist):
    append(department_id=department.id, patient_id=1, action="read")
    append(
        department_id=department.id,
        patient_id=2,
        action="update",
        actor=Actor.from_user(anesthetist),
    )
    append(department_id=department.id, patient_id=2, action="read")

    def ids(**params):
        params["resource_type"] = "patient"
        results = auditor_client.get("/api/v1/audit/events", params).json()["results"]
        return [event["sequence"] for event in results]

    first = AuditEvent.objects.get(patient_id=1).sequence
    assert ids(patient=2) == [first + 1, first + 2]
    assert ids(action="update") == [first + 1]
    assert ids(user="dr-anesthetist") == [first + 1]
    assert ids(**{"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}) == []
    # Both ends are inclusive: the period from the first event's instant to the last one's
    # returns all three; a period that starts after the last one returns none of them.
    times = dict(AuditEvent.objects.values_list("sequence", "occurred_at"))
    exact = {"from": times[first].isoformat(), "to": times[first + 2].isoformat()}
    assert ids(**exact) == [first, first + 1, first + 2]
    assert ids(patient=2, **exact) == [first + 1, first + 2]
    later = times[first + 2] + dt.timedelta(microseconds=1)
    assert ids(**{"from": later.isoformat()}) == []


def test_events_sort_by_each_field(auditor_client, department):
    append(department_id=department.id, patient_id=3, action="read")
    append(department_id=department.id, patient_id=1, action="update")
    append(department_id=department.id, patient_id=2, action="create")

    def patients(ordering):
        params = {"ordering": ordering, "department": department.id}
        results = auditor_client.get("/api/v1/audit/events", params).json()["results"]
        # Each listing is itself audited (without a patient); those rows are left out here.
        return [event["patient_id"] for event in results if event["resource_type"] == "patient"]

    assert patients("patient") == [1, 2, 3]
    assert patients("-patient") == [3, 2, 1]
    assert patients("action") == [2, 3, 1]
    assert patients("-occurred_at") == [2, 1, 3]


def test_a_bad_filter_is_a_400(auditor_client):
    response = auditor_client.get("/api/v1/audit/events", {"action": "peek", "ordering": "colour"})

    assert response.status_code == 400
    assert set(response.json()) == {"action", "ordering"}


def test_reading_the_trail_is_itself_audited(auditor_client, auditor):
    auditor_client.get("/api/v1/audit/events")

    event = AuditEvent.objects.get(resource_type="audit-log")
    assert event.actor_username == "auditor"
    assert event.actor_kind == "api-client"
    assert event.action == "query"


def test_the_event_list_costs_the_same_queries_for_1_and_25_rows(
    auditor, department, django_assert_num_queries
):
    client = client_for(auditor)
    append(department_id=department.id)
    # Token, the auditor's roles (read once for the role check and the visible departments),
    # count, page, then the audit append.
    expected = 4 + audit_append_queries()
    with django_assert_num_queries(expected):
        page = client.get("/api/v1/audit/events", {"resource_type": "patient"}).json()
        assert len(page["results"]) == 1
    for _ in range(24):
        append(department_id=department.id)
    with django_assert_num_queries(expected):
        page = client.get("/api/v1/audit/events", {"resource_type": "patient"}).json()
        assert len(page["results"]) == 25


def test_verify_reports_an_intact_chain(auditor_client):
    append()
    append()
    stored = AuditEvent.objects.count()

    payload = auditor_client.get("/api/v1/audit/verify").json()

    assert payload["ok"] is True
    assert payload["events"] == stored
    assert len(payload["head"]) == 64


def test_verify_names_the_first_broken_event(auditor_client):
    from django.db import connection

    from periop.audit import guards

    tampered = append().sequence
    append()
    guards.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET resource_id = 'x' WHERE sequence = %s", [tampered]
        )
    guards.install(connection)

    payload = auditor_client.get("/api/v1/audit/verify").json()

    assert payload["ok"] is False
    assert payload["first_broken_sequence"] == tampered


def test_verify_reports_the_latest_checkpoint(auditor_client):
    from django.core.management import call_command

    head = append()
    call_command("audit_checkpoint")

    payload = auditor_client.get("/api/v1/audit/verify").json()

    assert payload["ok"] is True
    assert payload["checkpoints"] == 1
    assert payload["checkpoint"]["sequence"] == head.sequence
    assert payload["checkpoint"]["hash"] == head.hash
    assert set(payload["checkpoint"]) == {"sequence", "hash", "time", "key_id"}


def test_verify_without_a_checkpoint_says_so(auditor_client):
    payload = auditor_client.get("/api/v1/audit/verify").json()

    assert payload["checkpoint"] is None
    assert payload["checkpoints"] == 0


def test_verify_lists_every_broken_event_and_names_the_checkpoint(auditor_client):
    from django.core.management import call_command
    from django.db import connection

    from periop.audit import guards

    for _ in range(5):
        append()
    call_command("audit_checkpoint")
    last = AuditEvent.objects.order_by("sequence").last().sequence
    guards.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET resource_id = 'x' WHERE sequence IN (%s, %s)",
            [last - 4, last - 3],
        )
        # The newest event deleted and the head rewound to hide it.
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = %s", [last])
        cursor.execute(
            "UPDATE audit_auditchainhead SET sequence = %s, hash = "
            "(SELECT hash FROM audit_auditevent WHERE sequence = %s) WHERE id = 1",
            [last - 1, last - 1],
        )
    guards.install(connection)

    payload = auditor_client.get("/api/v1/audit/verify").json()

    assert payload["ok"] is False
    assert payload["first_broken_sequence"] == last - 4
    assert [problem["sequence"] for problem in payload["problems"]] == [last - 4, last - 3, last]
    assert f"(event {last})" in payload["problems"][-1]["problem"]
    assert payload["checkpoint"]["time"] in payload["problems"][-1]["problem"]
    assert payload["problems_truncated"] is False


def test_the_verify_response_is_documented(auditor_client):
    schema = auditor_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    response = schema["paths"]["/api/v1/audit/verify"]["get"]["responses"]["200"]
    reference = response["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][reference.rsplit("/", 1)[-1]]["properties"]
    assert {
        "ok",
        "events",
        "head",
        "checkpoint",
        "checkpoints",
        "first_broken_sequence",
        "problem",
        "problems",
        "problems_truncated",
    } <= set(properties)
