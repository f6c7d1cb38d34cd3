"""Checkpoints outside the database reveal the newest events deleted, or the whole ledger
wiped, even when the head row is rewound with them (finding F2)."""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from periop.audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify
from tests.db.test_audit_tampering import as_owner

pytestmark = pytest.mark.django_db


def append(count):
    for number in range(count):
        audit_event_append(
            actor=Actor.system(), action="read", resource_type="patient", resource_id=number
        )


def rewind_to(sequence):
    """Deletes every event after `sequence` and moves the head back, as in the review's T6/T7."""
    as_owner("DELETE FROM audit_auditevent WHERE sequence > %s", [sequence])
    last = AuditEvent.objects.filter(sequence=sequence).values_list("hash", flat=True).first()
    as_owner(
        "UPDATE audit_auditchainhead SET sequence = %s, hash = %s WHERE id = 1",
        [sequence, last or "0" * 64],
    )


def test_the_command_appends_one_signed_line(audit_checkpoint_file, capsys):
    append(3)
    head = AuditEvent.objects.get(sequence=3).hash

    call_command("audit_checkpoint")

    (line,) = audit_checkpoint_file.read_text().splitlines()
    entry = json.loads(line)
    assert (entry["sequence"], entry["hash"], entry["key_id"]) == (3, head, "dev")
    assert len(entry["hmac"]) == 64
    assert entry["time"].endswith("Z")
    assert f"Checkpoint of event 3 ({head})" in capsys.readouterr().out


def test_checkpoints_are_appended_never_rewritten(audit_checkpoint_file):
    audit_checkpoint_file.write_text("kept as it was\n")
    append(1)
    call_command("audit_checkpoint")
    append(1)
    call_command("audit_checkpoint")

    lines = audit_checkpoint_file.read_text().splitlines()
    assert lines[0] == "kept as it was"
    assert [json.loads(line)["sequence"] for line in lines[1:]] == [1, 2]


def test_an_intact_ledger_matches_its_checkpoints():
    append(4)
    call_command("audit_checkpoint")
    append(2)
    call_command("audit_checkpoint")
    append(1)

    result = audit_chain_verify()

    assert result.ok, result.problems
    assert result.checkpoints == 2
    assert result.checkpoint.sequence == 6


def test_deleting_the_newest_events_and_rewinding_the_head_is_detected():
    append(10)
    call_command("audit_checkpoint")
    taken = audit_checkpoints_read().latest.time
    rewind_to(7)

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 8
    assert f"the checkpoint of {taken} (event 10)" in result.problem
    assert "latest events were deleted" in result.problem


def test_wiping_the_whole_ledger_is_detected():
    append(5)
    call_command("audit_checkpoint")
    rewind_to(0)

    result = audit_chain_verify()

    assert not result.ok
    assert result.events == 0
    assert result.first_broken_sequence == 1
    assert result.problem.startswith("The ledger ends at event 0, before the checkpoint of ")
    assert result.problem.endswith(" (event 5): the latest events were deleted.")


def test_a_ledger_rebuilt_after_a_wipe_differs_from_the_checkpoint():
    # Wiped, then written again past the checkpoint, and checkpointed anew: the new ledger is
    # long enough and matches the newest checkpoint, but not the old one.
    append(3)
    call_command("audit_checkpoint")
    rewind_to(0)
    append(5)
    call_command("audit_checkpoint")

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence == 3
    assert "Event 3 differs from the checkpoint of" in result.problem


def test_the_verify_command_fails_naming_the_checkpoint():
    append(6)
    when = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    audit_checkpoint_write(sequence=6, hash=AuditEvent.objects.get(sequence=6).hash, now=when)
    rewind_to(4)

    with pytest.raises(
        CommandError,
        match=r"at event 5: .* the checkpoint of 2026-11-29T12:00:00.000000Z \(event 6\)",
    ):
        call_command("verify_audit_chain")


def test_the_verify_command_names_the_latest_checkpoint_when_intact(capsys):
    append(2)
    call_command("audit_checkpoint")

    call_command("verify_audit_chain")

    out = capsys.readouterr().out
    assert "Audit chain intact: 2 events" in out
    assert "records event 2" in out


def test_the_verify_command_warns_when_nothing_anchors_the_ledger(capsys):
    append(1)

    call_command("verify_audit_chain")

    assert "No checkpoint in" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda entry: {**entry, "sequence": entry["sequence"] + 5}, "forged or altered"),
        (lambda entry: {**entry, "hash": "a" * 64}, "forged or altered"),
        (lambda entry: {**entry, "time": "2099-01-01T00:00:00.000000Z"}, "forged or altered"),
        (lambda entry: {**entry, "key_id": "k-other"}, "unknown key id 'k-other'"),
        (lambda entry: {**entry, "sequence": "3"}, "wrong type"),
        (lambda entry: {"sequence": entry["sequence"]}, "checkpoint fields"),
        (lambda entry: {**entry, "v": True}, "checkpoint fields"),
        (lambda entry: {**entry, "hmac": "é" * 64}, "wrong type"),
    ],
)
def test_a_forged_or_corrupt_checkpoint_line_is_reported(audit_checkpoint_file, change, expected):
    append(3)
    call_command("audit_checkpoint")
    entry = json.loads(audit_checkpoint_file.read_text())
    with audit_checkpoint_file.open("a") as file:
        file.write(json.dumps(change(entry)) + "\n")

    result = audit_chain_verify()

    assert not result.ok
    assert result.first_broken_sequence is None
    assert result.problem.startswith("Checkpoint line 2 ")
    assert expected in result.problem
    # The valid line still anchors the ledger.
    assert result.checkpoints == 1


def test_a_line_that_is_not_json_is_reported(audit_checkpoint_file):
    append(1)
    audit_checkpoint_file.write_text('{"v":1,"sequ\n')

    result = audit_chain_verify()

    assert [problem.message for problem in result.problems] == [
        "Checkpoint line 1 is corrupt: it is not JSON."
    ]


def test_checkpoints_signed_with_a_rotated_out_key_still_verify(settings):
    append(2)
    call_command("audit_checkpoint")
    settings.AUDIT_HMAC_PREVIOUS_KEYS = f"dev:{settings.AUDIT_HMAC_KEY}"
    settings.AUDIT_HMAC_KEY_ID = "k2"
    settings.AUDIT_HMAC_KEY = "the-next-audit-key"
    append(1)

    result = audit_chain_verify()

    assert result.ok, result.problems
    assert result.checkpoints == 1


def test_an_unwritable_checkpoint_file_fails_the_command(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "no-such-directory" / "checkpoints.jsonl"

    with pytest.raises(CommandError, match="could not be written"):
        call_command("audit_checkpoint")


def test_an_append_racing_with_verification_is_not_a_deletion(monkeypatch):
    # An event committed after verification read the head row and the checkpoints, but before
    # its walk ended, is simply not seen: no "latest events were deleted".
    from periop.audit import verification

    append(3)
    call_command("audit_checkpoint")
    walk = verification._rows

    def walk_then_append():
        yield from walk()
        append(1)
        call_command("audit_checkpoint")

    monkeypatch.setattr(verification, "_rows", walk_then_append)

    result = audit_chain_verify()

    assert result.ok, result.problems


# --- the ledger's own checkpoints, every AUDIT_CHECKPOINT_EVERY_EVENTS events --------------------


def append_committed(count, capture):
    """Appends `count` events, each in its own transaction that commits."""
    for number in range(count):
        with capture(execute=True):
            audit_event_append(
                actor=Actor.system(), action="read", resource_type="patient", resource_id=number
            )


def test_the_ledger_checkpoints_itself_once_each_round_number_of_events_commits(
    settings, audit_checkpoint_file, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 5

    append_committed(12, django_capture_on_commit_callbacks)

    checkpoints = audit_checkpoints_read().checkpoints
    assert [(item.sequence, item.hash) for item in checkpoints] == [
        (5, AuditEvent.objects.get(sequence=5).hash),
        (10, AuditEvent.objects.get(sequence=10).hash),
    ]
    assert audit_chain_verify().ok


def test_an_event_that_rolls_back_writes_no_checkpoint(
    settings, audit_checkpoint_file, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 2
    append_committed(1, django_capture_on_commit_callbacks)

    def failing_change():
        with transaction.atomic():
            append(1)  # event 2, a round number
            raise RuntimeError("the change failed")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        failing_change()

    assert callbacks == []
    assert audit_checkpoints_read().checkpoints == ()


def test_cutting_the_events_since_the_last_manual_checkpoint_is_detected_by_the_automatic_ones(
    settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 5
    append_committed(12, django_capture_on_commit_callbacks)

    rewind_to(7)

    result = audit_chain_verify()
    assert not result.ok
    assert "before the checkpoint of" in result.problems[0].message
    assert "(event 10)" in result.problems[0].message


def test_a_removed_checkpoint_file_is_a_failure_once_checkpoints_are_due(
    settings, audit_checkpoint_file, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 5
    append_committed(12, django_capture_on_commit_callbacks)

    audit_checkpoint_file.unlink()

    result = audit_chain_verify()
    assert not result.ok
    assert [problem.message for problem in result.problems] == [
        "The checkpoint file holds no checkpoint at or after event 5, although the ledger "
        "checkpoints itself every 5 events and holds 12: the file was removed or replaced by "
        "an older copy, or checkpoints could not be written (see the log). Find out which, "
        "then write one with `manage.py audit_checkpoint`."
    ]


def test_the_newest_due_checkpoint_may_still_be_on_its_way(settings, audit_checkpoint_file):
    # Event 10's checkpoint is written just after event 10 commits; a verification in between
    # sees event 10 without it. Event 5's must be there.
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 5
    append(12)
    audit_checkpoint_write(sequence=5, hash=AuditEvent.objects.get(sequence=5).hash)

    assert audit_chain_verify().ok


def test_a_checkpoint_that_cannot_be_written_never_fails_the_request_and_is_logged(
    settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    settings.AUDIT_CHECKPOINT_EVERY_EVENTS = 1
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "no-such-directory" / "checkpoints.jsonl"

    append_committed(1, django_capture_on_commit_callbacks)

    assert AuditEvent.objects.count() == 1
    assert "The automatic audit checkpoint of event 1 could not be written." in caplog.text
