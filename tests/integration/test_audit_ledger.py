"""Appending to the ledger: gapless, chained, in the caller's transaction."""

import datetime as dt
import itertools
import json
from decimal import Decimal

import pytest
from django.db import transaction

from periop.accounts.models import Department
from periop.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_json,
    canonical_row,
    verification_keys,
)
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_events_are_numbered_without_gaps_and_chained():
    events = [
        audit_event_append(
            actor=Actor.system(), action="read", resource_type="patient", resource_id=n
        )
        for n in range(5)
    ]

    assert [event.sequence for event in events] == [1, 2, 3, 4, 5]
    assert events[0].previous_hash == GENESIS_HASH
    for earlier, later in itertools.pairwise(events):
        assert later.previous_hash == earlier.hash


def test_an_event_records_the_astm_fields():
    user = UserFactory(username="dr-smith")

    event = audit_event_append(
        actor=Actor.from_user(user),
        action="update",
        resource_type="patient-condition",
        resource_id=12,
        data_category="nmj-condition",
        patient_id=7,
        department_id=3,
        payload={"code": "burn", "tbsa_percent": "30"},
        request_id="req-1",
    )

    event.refresh_from_db()
    assert event.occurred_at is not None
    assert (event.patient_id, event.actor_user_id, event.actor_username) == (7, user.pk, "dr-smith")
    assert (event.action, event.resource_type, event.resource_id) == (
        "update",
        "patient-condition",
        "12",
    )
    assert event.actor_kind == "user"
    assert event.request_id == "req-1"
    assert event.payload == '{"code":"burn","tbsa_percent":"30"}'
    assert json.loads(event.payload)["code"] == "burn"


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="Unknown audit action 'peek'"):
        audit_event_append(actor=Actor.system(), action="peek", resource_type="patient")


def test_floats_are_refused_in_payloads():
    with pytest.raises(TypeError, match="Floats are not allowed"):
        audit_event_append(
            actor=Actor.system(), action="read", resource_type="patient", payload={"weight": 62.5}
        )

    assert not AuditEvent.objects.exists()


def test_a_payload_has_one_canonical_text():
    offset = dt.timezone(dt.timedelta(hours=1))
    payload = {
        "when": dt.datetime(2026, 11, 30, 9, 0, tzinfo=offset),
        "day": dt.date(2026, 11, 30),
        "dose": Decimal("1.50"),
        "drugs": {"rocuronium", "atracurium"},
        "pair": ("b", "a"),
        "name": "Zoë",
    }

    assert canonical_json(payload) == (
        '{"day":"2026-11-30","dose":"1.50","drugs":["atracurium","rocuronium"],'
        '"name":"Zoë","pair":["b","a"],"when":"2026-11-30T08:00:00.000000Z"}'
    )


def test_the_hashed_row_keeps_text_as_written():
    fields = dict.fromkeys(HASHED_FIELDS, "")
    fields["actor_username"] = "zoë"

    assert '"zoë"' in canonical_row(fields).decode()


def test_rotated_out_keys_still_verify_and_malformed_entries_are_ignored(settings):
    settings.AUDIT_HMAC_KEY_ID = "current"
    settings.AUDIT_HMAC_KEY = "current-secret"
    settings.AUDIT_HMAC_PREVIOUS_KEYS = "old:old-secret, :no-id, no-key:, spare:spare-secret"

    assert verification_keys() == {
        "current": b"current-secret",
        "old": b"old-secret",
        "spare": b"spare-secret",
    }


def test_an_exception_in_the_transaction_leaves_neither_the_change_nor_its_event():
    def failing_service():
        with transaction.atomic():
            Department.objects.create(code="ghost", name="Ghost")
            audit_event_append(actor=Actor.system(), action="create", resource_type="department")
            raise RuntimeError("the service failed after writing")

    with pytest.raises(RuntimeError):
        failing_service()

    assert not Department.objects.filter(code="ghost").exists()
    assert not AuditEvent.objects.exists()
    # The next event still starts the chain: nothing was skipped.
    assert audit_event_append(actor=Actor.system(), action="read", resource_type="x").sequence == 1


@pytest.mark.parametrize("lane", [None, 2], ids=["one chain", "a lane"])
def test_the_event_an_append_returns_is_the_row_as_stored(request, lane):
    """Callers use the returned event as they would one read back: every column, the id, and
    the state of a stored row. In a lane the second append of a connection takes the one
    statement path on PostgreSQL, the first the claiming one: both are compared."""
    if lane is not None:
        request.getfixturevalue("audit_lane")(lane)
    user = UserFactory()
    events = [
        audit_event_append(
            actor=Actor.from_user(user),
            action="read",
            resource_type="patient",
            resource_id=number,
            patient_id=40 + number,
            department_id=None,
            data_time=dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
            payload={"page": number, "dose": Decimal("1.50")} if number else None,
        )
        for number in range(2)
    ]

    for event in events:
        stored = AuditEvent.objects.get(pk=event.pk)
        columns = [field.attname for field in AuditEvent._meta.concrete_fields]
        assert {name: getattr(event, name) for name in columns} == {
            name: getattr(stored, name) for name in columns
        }
        assert (event._state.adding, event._state.db) == (False, stored._state.db)
    assert events[0].payload == "{}"
    assert json.loads(events[1].payload) == {"page": 1, "dose": "1.50"}
