"""GET /fhir/AuditEvent: the audit ledger as FHIR R4 AuditEvents in a searchset Bundle."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from tests.api.fhir_validation import validated_bundle, validated_outcome
from tests.conftest import audit_append_queries, client_for, nothing_changes
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# The events under test are dated in 2001, long before anything the fixtures record at the
# (real or moved) clock; searches that could reach today end there.
BEFORE_2002 = "date=lt2002-01-01"


def append_at(moment, *, actor, action="read", **fields):
    """An event recorded at a fixed instant."""
    with time_machine.travel(moment, tick=False):
        return audit_event_append(actor=actor, action=action, **fields)


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


@pytest.fixture
def january(anesthetist, patient, department):
    """Four reads of the patient's assessment around the end of January 2001 (UTC)."""
    actor = Actor.from_user(anesthetist)
    moments = [
        dt.datetime(2001, 1, 1, 10, 0, tzinfo=UTC),
        dt.datetime(2001, 1, 15, 12, 0, tzinfo=UTC),
        dt.datetime(2001, 1, 31, 23, 30, tzinfo=UTC),
        dt.datetime(2001, 2, 1, 0, 30, tzinfo=UTC),
    ]
    return [
        append_at(
            moment,
            actor=actor,
            resource_type="assessment",
            resource_id=7,
            data_category="pre-op-assessment",
            patient_id=patient.pk,
            department_id=department.pk,
        )
        for moment in moments
    ]


def search(client, query=""):
    return client.get(f"/fhir/AuditEvent{'?' + query if query else ''}")


def sequences(body):
    return [
        int(next(d["valueString"] for d in entity["detail"] if d["type"] == "sequence"))
        for entry in body.get("entry", [])
        for entity in entry["resource"]["entity"]
        if entity.get("name") == "audit-ledger-entry"
    ]


def test_the_search_answers_a_valid_searchset_bundle(auditor_client, january):
    response = search(auditor_client, BEFORE_2002)

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    resources = validated_bundle(body)
    assert body["type"] == "searchset"
    assert len(resources) == 4
    assert sequences(body) == [event.sequence for event in january]
    assert all(entry["search"] == {"mode": "match"} for entry in body["entry"])
    assert body["link"] == [
        {"relation": "self", "url": f"http://testserver/fhir/AuditEvent?{BEFORE_2002}"}
    ]


def test_an_event_maps_to_the_audit_event_fields(auditor_client, january, department, anesthetist):
    event = january[0]

    body = search(auditor_client, "date=2001-01-01").json()

    [entry] = body["entry"]
    resource = entry["resource"]
    assert resource["recorded"] == "2001-01-01T10:00:00+00:00"
    # standards-reference §2.4: R for viewing an assessment, 0 for success.
    assert resource["action"] == "R"
    assert resource["outcome"] == "0"
    assert resource["subtype"] == [
        {"system": "urn:periop:audit-action", "code": "read", "display": "Read"}
    ]
    [agent] = resource["agent"]
    assert agent["requestor"] is True
    assert agent["who"]["identifier"] == {
        "system": "urn:periop:user",
        "value": anesthetist.username,
    }
    assert agent["altId"] == str(anesthetist.pk)
    assert resource["source"]["site"] == department.code
    patient, data, ledger = resource["entity"]
    assert patient["what"] == {
        "type": "Patient",
        "identifier": {"system": "urn:periop:patient", "value": str(event.patient_id)},
    }
    assert data["what"]["identifier"] == {"system": "urn:periop:assessment", "value": "7"}
    assert {"type": "data-category", "valueString": "pre-op-assessment"} in data["detail"]
    details = {detail["type"]: detail["valueString"] for detail in ledger["detail"]}
    assert details["sequence"] == str(event.sequence)
    assert details["hash"] == event.hash
    assert details["previous-hash"] == event.previous_hash
    assert details["key-id"] == event.key_id


@pytest.mark.parametrize(
    ("action", "outcome", "resource_type", "code", "fhir_outcome", "event_type"),
    [
        ("sign", "success", "assessment", "C", "0", "110100"),
        ("print", "success", "assessment", "R", "0", "110100"),
        ("export", "success", "assessment", "R", "0", "110100"),
        ("query", "success", "patient", "E", "0", "110112"),
        ("query", "success", "audit-log", "E", "0", "110101"),
        ("login-failed", "failure", "session", "E", "4", "110100"),
    ],
)
def test_actions_outcomes_and_types_follow_the_standards_reference(
    auditor_client,
    anesthetist,
    department,
    action,
    outcome,
    resource_type,
    code,
    fhir_outcome,
    event_type,
):
    append_at(
        dt.datetime(2001, 3, 2, 9, 0, tzinfo=UTC),
        actor=Actor.from_user(anesthetist),
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        department_id=department.pk,
    )

    body = search(auditor_client, "date=2001-03-02").json()

    validated_bundle(body)
    [entry] = body["entry"]
    resource = entry["resource"]
    assert (resource["action"], resource["outcome"]) == (code, fhir_outcome)
    assert resource["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
    assert resource["type"]["code"] == event_type


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date=ge2001-01-01&date=le2001-01-31", [0, 1, 2]),
        ("date=2001-01-15", [1]),
        ("date=eq2001-01", [0, 1, 2]),
        ("date=2001", [0, 1, 2, 3]),
        ("date=gt2001-01-15", [2, 3]),
        ("date=lt2001-01-15", [0]),
        ("date=ge2001-01-15", [1, 2, 3]),
        ("date=le2001-01-15", [0, 1]),
        ("date=eq2001-01-31T23:30:00Z", [2]),
        ("date=2001-01-31T23:30Z", [2]),
        # One hour ahead of UTC: midnight there is 23:00 UTC the day before.
        ("date=ge2001-02-01T00:00:00%2B01:00", [2, 3]),
        ("date=gt2001-01-31T23:30:00Z", [3]),
        ("date=2001-01-01,2001-02-01", [0, 3]),
        ("date=ge2001-02-02", []),
    ],
)
def test_date_filters_with_prefixes(auditor_client, january, query, expected):
    body = search(auditor_client, f"{query}&{BEFORE_2002}").json()

    assert sequences(body) == [january[index].sequence for index in expected]


def test_the_patient_filter_keeps_that_patients_events(
    auditor_client, january, department, anesthetist
):
    other = PatientFactory(department=department)
    mine = append_at(
        dt.datetime(2001, 1, 20, 8, 0, tzinfo=UTC),
        actor=Actor.from_user(anesthetist),
        resource_type="patient",
        resource_id=other.pk,
        patient_id=other.pk,
        department_id=department.pk,
    )

    by_id = search(auditor_client, f"patient={other.pk}&{BEFORE_2002}").json()
    by_reference = search(auditor_client, f"patient=Patient/{other.pk}&{BEFORE_2002}").json()
    with_dates = search(
        auditor_client, f"patient={january[0].patient_id}&date=ge2001-01-15&date=lt2001-02-01"
    ).json()

    assert sequences(by_id) == sequences(by_reference) == [mine.sequence]
    assert sequences(with_dates) == [january[1].sequence, january[2].sequence]


def test_paging_follows_the_next_link_with_the_same_filters(auditor_client, january):
    first = search(auditor_client, f"_count=2&date=ge2001-01-01&{BEFORE_2002}").json()

    assert sequences(first) == [january[0].sequence, january[1].sequence]
    [next_link] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    query = parse_qs(urlsplit(next_link).query)
    assert query["date"] == ["ge2001-01-01", "lt2002-01-01"]
    assert query["_count"] == ["2"]
    # A ledger in one lane: the cursor is the page's last sequence number, as before lanes.
    assert query["_after"] == [str(january[1].sequence)]

    second = auditor_client.get(next_link).json()

    assert sequences(second) == [january[2].sequence, january[3].sequence]
    assert [link["relation"] for link in second["link"]] == ["self"]


def test_the_last_page_has_no_next_link(auditor_client, january):
    body = search(auditor_client, "date=lt2001-02-01&_count=3").json()  # three match

    assert len(body["entry"]) == 3
    assert [link["relation"] for link in body["link"]] == ["self"]


def test_the_search_is_itself_audited(auditor_client, january, auditor):
    search(auditor_client, f"patient={january[0].patient_id}")

    event = AuditEvent.objects.order_by("-sequence").first()
    assert (event.action, event.resource_type, event.actor_username) == (
        "query",
        "audit-log",
        auditor.username,
    )
    assert event.patient_id == january[0].patient_id


def test_another_departments_events_are_not_shown(
    auditor_client, january, other_department, outsider
):
    append_at(
        dt.datetime(2001, 1, 10, 8, 0, tzinfo=UTC),
        actor=Actor.from_user(outsider),
        resource_type="assessment",
        resource_id=99,
        patient_id=PatientFactory(department=other_department).pk,
        department_id=other_department.pk,
    )

    body = search(auditor_client, "date=lt2001-03-01").json()

    assert sequences(body) == [event.sequence for event in january]


@pytest.mark.parametrize("persona", ["anesthetist", "pharmacist"])
def test_clinicians_and_pharmacists_are_refused_with_403(request, persona, january):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = search(client)

    assert response.status_code == 403
    assert validated_outcome(response)["code"] == "forbidden"


def test_anonymous_callers_get_401(api_client, january):
    with nothing_changes():
        response = search(api_client)

    assert response.status_code == 401
    assert validated_outcome(response)["code"] == "login"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("date=ne2001-01-01", "date"),
        ("date=ap2001-01-01", "date"),
        ("date=2001-13-01", "date"),
        ("date=2001-02-30", "date"),
        ("date=2001-01-01T10:00:00", "date"),
        ("date=yesterday", "date"),
        ("patient=abc", "patient"),
        ("patient=0", "patient"),
        ("patient=99999999999999999999999", "patient"),
        ("_count=0", "_count"),
        ("_count=101", "_count"),
        ("_count=ten", "_count"),
        ("_count=2&_count=3", "_count"),
        ("_after=-1", "_after"),
        ("_after=", "_after"),
        ("_after=3,5", "_after"),  # lane 0 twice
        ("_after=3,x", "_after"),
        ("_after=64000000000000001", "_after"),  # beyond the 64th lane
        ("_format=xml", "_format"),
        ("subject=1", "subject"),
    ],
)
def test_bad_parameters_are_400_with_an_operation_outcome_naming_them(
    auditor_client, january, query, parameter
):
    with nothing_changes():
        response = search(auditor_client, query)

    assert response.status_code == 400
    issue = validated_outcome(response)
    assert (issue["severity"], issue["code"]) == ("error", "invalid")
    assert issue["expression"] == [parameter]
    assert issue["diagnostics"]


def _events(count, actor, department, patient):
    start = dt.datetime(2001, 4, 1, 8, 0, tzinfo=UTC)
    for index in range(count):
        append_at(
            start + dt.timedelta(minutes=index),
            actor=actor,
            resource_type="assessment",
            resource_id=index + 1,
            patient_id=patient.pk,
            department_id=department.pk,
        )


@pytest.mark.parametrize("count", [1, 50])
def test_a_page_costs_the_same_queries_for_1_and_50_events(
    auditor, anesthetist, department, patient, django_assert_max_num_queries, count
):
    _events(count, Actor.from_user(anesthetist), department, patient)
    client = client_for(auditor)

    # Token and user (1), the auditor's roles, read once for the permission and the search's
    # scope (1), the lanes' heads (1), the page of events (1: one lane), their departments'
    # codes (1), and the search's own audit event.
    with django_assert_max_num_queries(5 + audit_append_queries()):
        response = search(client, f"_count=50&date=ge2001-04-01&{BEFORE_2002}")

    assert response.status_code == 200
    assert len(response.json()["entry"]) == count


def _next_link(body):
    return next((link["url"] for link in body["link"] if link["relation"] == "next"), None)


def test_paging_a_ledger_in_lanes_never_skips_an_event_appended_meanwhile(
    auditor_client, anesthetist, patient, department, audit_lane
):
    """The lanes are ranges of sequence numbers. A cursor of one number, once past lane 0,
    would skip every event appended to lane 0 afterwards: the cursor names each lane's place."""
    actor = Actor.from_user(anesthetist)
    fields = {
        "resource_type": "assessment",
        "patient_id": patient.pk,
        "department_id": department.pk,
    }
    at = [dt.datetime(2001, 5, 1, 8, minute, tzinfo=UTC) for minute in range(6)]
    audit_lane(1)
    first_in_1 = append_at(at[0], actor=actor, **fields)
    audit_lane(0)
    first_in_0 = append_at(at[1], actor=actor, **fields)
    audit_lane(1)
    second_in_1 = append_at(at[2], actor=actor, **fields)

    first = search(auditor_client, f"_count=2&date=ge2001-05-01&{BEFORE_2002}").json()

    # Oldest first across the lanes.
    assert sequences(first) == [first_in_1.sequence, first_in_0.sequence]
    next_link = _next_link(first)
    assert parse_qs(urlsplit(next_link).query)["_after"] == [
        f"{first_in_0.sequence},{first_in_1.sequence}"
    ]

    audit_lane(0)
    meanwhile_in_0 = append_at(at[3], actor=actor, **fields)
    audit_lane(3)
    meanwhile_in_3 = append_at(at[4], actor=actor, **fields)
    second = auditor_client.get(next_link).json()

    assert sequences(second) == [
        second_in_1.sequence,
        meanwhile_in_0.sequence,
    ]
    third = auditor_client.get(_next_link(second)).json()

    assert sequences(third) == [meanwhile_in_3.sequence]
    assert _next_link(third) is None
    # Following the last page's self link again later finds nothing new, and nothing twice.
    [again] = [link["url"] for link in third["link"] if link["relation"] == "self"]
    assert sequences(auditor_client.get(again).json()) == [meanwhile_in_3.sequence]


def test_a_page_of_a_ledger_in_lanes_costs_one_query_per_lane_with_events(
    auditor, anesthetist, department, patient, audit_lane, django_assert_max_num_queries
):
    actor = Actor.from_user(anesthetist)
    for lane in range(4):
        audit_lane(lane)
        _events(3, actor, department, patient)
    client = client_for(auditor)

    # As for one lane (above), with one query of events for each of the four lanes.
    with django_assert_max_num_queries(8 + audit_append_queries()):
        response = search(client, f"_count=50&date=ge2001-04-01&{BEFORE_2002}")

    assert response.status_code == 200
    assert len(response.json()["entry"]) == 12
