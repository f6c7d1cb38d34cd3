"""POST /cds-services/periop-nmj/feedback (standards-reference §1.6, CDSH-07): each entry
reaches the ledger with the hookInstance as correlation id, and the department report counts
the overrides with the assessments' own."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client

from periop.audit.models import AuditEvent
from periop.interop.cds_hooks.cards import OVERRIDE_REASON_SYSTEM
from periop.interop.models import CdsFeedback
from periop.reports.periods import ReportPeriod
from periop.reports.selectors import department_report
from tests.conftest import nothing_changes
from tests.interop.conftest import (
    FEEDBACK_URL,
    MYASTHENIA,
    bearer,
    full_prefetch,
    hook_body,
    order,
)

pytestmark = pytest.mark.django_db

GENTAMICIN = order("mr-gent", ("http://www.whocc.no/atc", "J01GB03"), text="gentamicin")
REASON = {
    "system": OVERRIDE_REASON_SYSTEM,
    "code": "benefit-outweighs-risk",
    "display": "Benefit outweighs risk",
}


@pytest.fixture
def issued(call):
    """A critical card (MG x gentamicin, §5: AV) and the request that produced it."""
    body = hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))
    (card,) = call(body).json()["cards"]
    return body, card


def _feedback(token, entries):
    return Client().post(
        "/cds-services/periop-nmj/feedback",
        data={"feedback": entries},
        content_type="application/json",
        **bearer(token(aud=FEEDBACK_URL)),
    )


def _override(issued_card, **changes):
    entry = {
        "card": issued_card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": REASON, "userComment": "Discussed with neurology."},
        "outcomeTimestamp": "2026-11-22T08:15:30Z",
    }
    entry.update(changes)
    return entry


def test_an_override_reaches_the_ledger_with_the_hook_instance(issued, token):
    body, card = issued

    response = _feedback(token, [_override(card)])

    assert response.status_code == 200
    event = AuditEvent.objects.get(resource_type="cds-card")
    assert event.action == "override"
    assert event.resource_id == card["uuid"]
    assert event.request_id == body["hookInstance"]
    payload = json.loads(event.payload)
    assert payload["reason_code"] == "benefit-outweighs-risk"
    assert (payload["drug"], payload["level"]) == ("gentamicin", "avoid")
    # The comment may name the patient: the ledger keeps only that one was given.
    assert payload["comment_given"] is True
    assert "neurology" not in event.payload


def test_an_accepted_suggestion_is_recorded(issued, token):
    _, card = issued
    entry = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-11-22T08:15:30.52Z",
    }

    assert _feedback(token, [entry]).status_code == 200
    assert CdsFeedback.objects.get().outcome == "accepted"


def test_duplicates_are_each_recorded(issued, token):
    _, card = issued

    _feedback(token, [_override(card), _override(card)])
    _feedback(token, [_override(card)])

    assert AuditEvent.objects.filter(resource_type="cds-card").count() == 3


def test_an_override_without_a_reason_is_legal(issued, token):
    _, card = issued
    entry = _override(card)
    del entry["overrideReason"]

    assert _feedback(token, [entry]).status_code == 200
    assert CdsFeedback.objects.get().reason_code == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"outcome": "ignored"}, "feedback[0].outcome"),
        ({"outcome": "accepted"}, "feedback[0].acceptedSuggestions"),
        ({"overrideReason": {}}, "feedback[0].overrideReason"),
        ({"outcomeTimestamp": "2026-11-22T09:15:30+01:00"}, "feedback[0].outcomeTimestamp"),
        ({"outcomeTimestamp": "22/11/2026"}, "feedback[0].outcomeTimestamp"),
        ({"card": str(uuid.uuid4())}, "feedback[0].card"),
        ({"card": "not-a-uuid"}, "feedback[0].card"),
        ({"overrideReason": {"reason": {"code": "x"}}}, "feedback[0].overrideReason.reason"),
    ],
)
def test_invalid_feedback_is_400_naming_the_field(issued, token, change, field):
    _, card = issued

    with nothing_changes():
        response = _feedback(token, [_override(card, **change)])

    assert response.status_code == 400
    assert field in response.json()
    assert CdsFeedback.objects.count() == 0


def test_one_bad_entry_refuses_the_whole_post(issued, token):
    _, card = issued

    response = _feedback(token, [_override(card), _override(card, outcome="ignored")])

    assert response.status_code == 400
    assert CdsFeedback.objects.count() == 0


def test_an_empty_feedback_list_is_400(cds_client, token):
    assert _feedback(token, []).status_code == 400


def test_the_department_report_counts_the_overrides_fed_back(issued, token, department):
    _, card = issued
    _feedback(token, [_override(card), _override(card, overrideReason={"userComment": "why"})])
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(
        first_day=today - dt.timedelta(days=1),
        last_day=today + dt.timedelta(days=1),
        time_zone="UTC",
    )

    overrides = department_report(department=department, period=period)["overrides"]

    assert overrides["total"] == 2
    assert overrides["from_cds_hooks"] == {"accepted": 0, "overridden": 2}
    reasons = {row["reason_code"]: row["count"] for row in overrides["by_reason"]}
    assert reasons["benefit-outweighs-risk"] == 1
    assert reasons[""] == 1
    assert overrides["by_drug"] == [{"drug": "gentamicin", "count": 2}]
    avoid = next(row for row in overrides["by_level"] if row["level"] == "avoid")
    assert avoid["overridden"] == 2


def test_the_report_page_shows_the_overrides_fed_back(issued, token, department, auditor):
    _, card = issued
    _feedback(token, [_override(card)])
    browser = Client()
    browser.force_login(auditor)
    today = dt.datetime.now(dt.UTC).date()

    page = browser.get(
        f"/reports/departments/{department.pk}/",
        {"from": str(today - dt.timedelta(days=1)), "to": str(today + dt.timedelta(days=1))},
    )

    assert page.status_code == 200
    assert "1 on the EHR" in page.content.decode()
