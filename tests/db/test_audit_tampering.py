"""Tampering by someone who can switch the guards off is still detected, at the exact row."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from periop.audit import guards
from periop.audit.chain import GENESIS_HASH, HASHED_FIELDS, STORED_FIELDS, canonical_json
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger():
    for number in range(1, 11):
        audit_event_append(
            actor=Actor.system(),
            action="read",
            resource_type="patient",
            resource_id=str(number),
            patient_id=number,
            payload={"note": f"event {number}"},
        )


def append_reads(count):
    for number in range(count):
        audit_event_append(
            actor=Actor.system(), action="read", resource_type="patient", resource_id=str(number)
        )


def as_owner(sql, params=()):
    """Runs SQL with the guards off, as a database owner could."""
    guards.remove(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        guards.install(connection)


def test_an_intact_ledger_verifies(ledger):
    result = audit_chain_verify()

    assert result.ok
    assert result.events == 10
    assert len(result.head) == 64


def test_an_intact_ledger_with_text_beyond_ascii_verifies():
    audit_event_append(
        actor=Actor.system(),
        action="read",
        resource_type="patient",
        resource_id="Zoë-1",
        payload={"note": "Müller, 5 µg"},
    )

    assert audit_chain_verify().ok


def test_an_altered_row_is_named(ledger):
    as_owner("UPDATE audit_auditevent SET patient_id = 99 WHERE sequence = 4")

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 4
    assert "altered" in result.problem


def test_an_altered_payload_is_named(ledger):
    as_owner(
        "UPDATE audit_auditevent SET payload = %s WHERE sequence = 7",
        [canonical_json({"note": "nothing happened"})],
    )

    assert audit_chain_verify().first_broken_sequence == 7


def test_a_row_relinked_to_another_predecessor_is_named(ledger):
    as_owner("UPDATE audit_auditevent SET previous_hash = %s WHERE sequence = 5", [GENESIS_HASH])

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 5
    assert result.problem == "Event 5 does not link to event 4."


def test_the_verification_reports_the_break_only_when_there_is_one(ledger):
    intact = audit_chain_verify().as_dict()
    as_owner("UPDATE audit_auditevent SET action = 'delete' WHERE sequence = 3")
    broken = audit_chain_verify().as_dict()

    assert set(intact) == {"ok", "events", "head", "checkpoint", "checkpoints", "lanes"}
    assert intact["ok"] is True
    assert intact["lanes"] == [{"lane": 0, "events": intact["events"], "head": intact["head"]}]
    assert (broken["ok"], broken["first_broken_sequence"]) == (False, 3)
    assert "altered" in broken["problem"]


def test_events_signed_with_a_rotated_out_key_still_verify(settings):
    settings.AUDIT_HMAC_KEY_ID, settings.AUDIT_HMAC_KEY = "first", "first-secret"
    settings.AUDIT_HMAC_PREVIOUS_KEYS = ""
    append_reads(3)
    settings.AUDIT_HMAC_KEY_ID, settings.AUDIT_HMAC_KEY = "second", "second-secret"
    settings.AUDIT_HMAC_PREVIOUS_KEYS = "first:first-secret"
    append_reads(2)

    result = audit_chain_verify()

    assert (result.ok, result.events) == (True, 5)


def test_a_row_naming_an_unknown_key_is_named(settings):
    settings.AUDIT_HMAC_KEY_ID, settings.AUDIT_HMAC_KEY = "second", "second-secret"
    settings.AUDIT_HMAC_PREVIOUS_KEYS = "first:first-secret"
    append_reads(4)
    as_owner("UPDATE audit_auditevent SET key_id = 'nobody' WHERE sequence = 2")

    result = audit_chain_verify()

    assert result.first_broken_sequence == 2
    assert result.problem == "Event 2 names an unknown key id 'nobody'."


def test_a_deleted_row_is_named(ledger):
    as_owner("DELETE FROM audit_auditevent WHERE sequence = 6")

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 6
    assert "missing" in result.problem


def test_deleting_the_latest_rows_is_detected(ledger):
    as_owner("DELETE FROM audit_auditevent WHERE sequence >= 9")

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 9


def test_an_inserted_row_is_named(ledger):
    # A forged event squeezed in after event 5: the later events are renumbered to make room.
    as_owner("UPDATE audit_auditevent SET sequence = sequence + 1000 WHERE sequence > 5")
    as_owner("UPDATE audit_auditevent SET sequence = sequence - 999 WHERE sequence > 1000")
    as_owner(
        "INSERT INTO audit_auditevent (sequence, occurred_at, actor_username, actor_kind, action, "
        "resource_type, resource_id, data_category, outcome, request_id, payload, key_id, "
        "previous_hash, hash) SELECT 6, occurred_at, 'intruder', 'user', 'read', 'patient', '3', "
        "'', 'success', '', '{}', key_id, hash, %s FROM audit_auditevent WHERE sequence = 5",
        ["f" * 64],
    )

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 6


def test_the_command_exits_zero_when_intact(ledger, capsys):
    call_command("verify_audit_chain")

    assert "Audit chain intact: 10 events" in capsys.readouterr().out


def test_the_command_fails_naming_the_broken_event(ledger):
    as_owner("UPDATE audit_auditevent SET action = 'delete' WHERE sequence = 3")

    with pytest.raises(CommandError, match="Audit chain broken at event 3"):
        call_command("verify_audit_chain")


# Every stored column of an event, and a change to it a database owner could make. A column
# added to the ledger without a line here fails `test_every_stored_field_has_a_tamper_case`.
def _shifted(value):
    return value + dt.timedelta(microseconds=1)


TAMPERED = {
    "sequence": lambda value: value + 1000,
    "occurred_at": _shifted,
    "data_time": lambda value: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    "patient_id": lambda value: 99,
    "actor_user_id": lambda value: 42,
    "actor_username": lambda value: "someone-else",
    "actor_kind": lambda value: "user",
    "action": lambda value: "delete",
    "resource_type": lambda value: "assessment",
    "resource_id": lambda value: "999",
    "data_category": lambda value: "medication",
    "outcome": lambda value: "failure",
    "request_id": lambda value: "forged-request",
    "department_id": lambda value: 7,
    "payload": lambda value: canonical_json({"note": "nothing happened"}),
    "key_id": lambda value: "k-forged",
    "previous_hash": lambda value: "f" * 64,
    "hash": lambda value: "e" * 64,
}

# The columns deliberately left out of the HMAC, and why.
NOT_HASHED = {
    "id": "the row id: the hashed sequence orders the chain",
    "previous_hash": "a link of the chain, hashed as the HMAC's prefix",
    "hash": "the HMAC itself",
}


def test_every_stored_field_has_a_tamper_case():
    assert set(TAMPERED) == set(STORED_FIELDS)


def test_every_column_is_hashed_or_explicitly_left_out():
    columns = {field.column for field in AuditEvent._meta.concrete_fields}

    assert set(HASHED_FIELDS) == columns - set(NOT_HASHED)
    assert set(STORED_FIELDS) == columns - {"id"}


@pytest.mark.parametrize("field", STORED_FIELDS)
def test_altering_any_stored_field_is_named(ledger, field):
    original = getattr(AuditEvent.objects.get(sequence=4), field)
    value = TAMPERED[field](original)
    assert value != original
    if isinstance(value, dt.datetime):
        value = connection.ops.adapt_datetimefield_value(value)

    as_owner(f"UPDATE audit_auditevent SET {field} = %s WHERE sequence = 4", [value])  # noqa: S608

    result = audit_chain_verify()
    assert not result.ok
    assert result.first_broken_sequence == 4, result.problem


def test_every_altered_row_is_named_not_only_the_first(ledger):
    # The review's T12: two rows altered far apart; the first must not hide the second.
    as_owner("UPDATE audit_auditevent SET patient_id = 99 WHERE sequence IN (3, 8)")
    as_owner("DELETE FROM audit_auditevent WHERE sequence = 6")

    result = audit_chain_verify()

    assert result.first_broken_sequence == 3
    assert [(problem.sequence, problem.message.split(":")[0]) for problem in result.problems] == [
        (3, "Event 3 was altered"),
        (6, "Event 6 is missing (the next stored event is 7)."),
        (8, "Event 8 was altered"),
    ]
    assert not result.problems_truncated
    assert result.events == 9


def test_a_missing_run_of_rows_is_one_problem(ledger):
    as_owner("DELETE FROM audit_auditevent WHERE sequence BETWEEN 3 AND 5")

    (problem,) = audit_chain_verify().problems

    assert problem.sequence == 3
    assert problem.message == "Events 3 to 5 are missing (the next stored event is 6)."


def test_problems_stop_at_the_limit(ledger, settings):
    as_owner("UPDATE audit_auditevent SET outcome = 'failure' WHERE sequence > 2")
    settings.AUDIT_VERIFY_MAX_PROBLEMS = 3

    result = audit_chain_verify()

    assert [problem.sequence for problem in result.problems] == [3, 4, 5]
    assert result.problems_truncated
    assert [problem.sequence for problem in audit_chain_verify(max_problems=100).problems] == [
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        10,
    ]


def test_the_command_lists_every_problem(ledger, capsys):
    as_owner("UPDATE audit_auditevent SET action = 'delete' WHERE sequence IN (2, 9)")

    with pytest.raises(CommandError, match=r"Audit chain broken at event 2: .*\(2 problems\)"):
        call_command("verify_audit_chain")

    err = capsys.readouterr().err
    assert "Event 2 was altered" in err
    assert "Event 9 was altered" in err


def test_a_limit_below_one_still_fails_a_broken_ledger(ledger):
    as_owner("UPDATE audit_auditevent SET outcome = 'failure' WHERE sequence = 5")

    result = audit_chain_verify(max_problems=0)

    assert not result.ok
    assert [problem.sequence for problem in result.problems] == [5]
