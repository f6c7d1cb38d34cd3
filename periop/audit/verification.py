"""Verification of the audit chain: finds every altered, deleted or inserted event, and the
latest events deleted since a checkpoint."""

from __future__ import annotations

import datetime as dt
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from periop.audit import lanes
from periop.audit.chain import (
    DATETIME_INDEXES,
    GENESIS_HASH,
    HASHED_FIELDS,
    STORED_FIELDS,
    iso_utc,
    legacy_iso_utc,
    verification_keys,
)
from periop.audit.checkpoints import Checkpoint, CheckpointFile, audit_checkpoints_read

CHUNK_SIZE = 5000


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: the event it concerns (None for a checkpoint-file line) and why."""

    sequence: int | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"sequence": self.sequence, "problem": self.message}


@dataclass(frozen=True, slots=True)
class LaneVerification:
    """One lane as verified: its number, how many events it holds and its last event's hash."""

    lane: int
    events: int
    head: str

    def as_dict(self) -> dict[str, object]:
        return {"lane": self.lane, "events": self.events, "head": self.head}


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    events: int
    head: str
    problems: tuple[Problem, ...] = ()
    # True when there were more problems than the limit and verification stopped early.
    problems_truncated: bool = False
    checkpoint: Checkpoint | None = None
    checkpoints: int = 0
    # Every lane walked, in lane order (one, lane 0, unless the ledger has several).
    lanes: tuple[LaneVerification, ...] = ()

    @property
    def first_broken_sequence(self) -> int | None:
        """The lowest event a problem names (None when only checkpoint lines are wrong)."""
        return min((p.sequence for p in self.problems if p.sequence is not None), default=None)

    @property
    def problem(self) -> str:
        """The explanation of the first broken event, else of the first problem."""
        first = self.first_broken_sequence
        for problem in self.problems:
            if first is None or problem.sequence == first:
                return problem.message
        return ""

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "ok": self.ok,
            "events": self.events,
            "head": self.head,
            "checkpoint": self.checkpoint.as_dict() if self.checkpoint else None,
            "checkpoints": self.checkpoints,
            "lanes": [lane.as_dict() for lane in self.lanes],
        }
        if not self.ok:
            result["first_broken_sequence"] = self.first_broken_sequence
            result["problem"] = self.problem
            result["problems"] = [problem.as_dict() for problem in self.problems]
            result["problems_truncated"] = self.problems_truncated
        return result


def _row_problems(
    row: tuple[Any, ...], expected_sequence: int, previous_hash: str, keys: dict[str, bytes]
) -> list[Problem]:
    """Everything wrong with one stored row. After a gap the link cannot be checked (its
    predecessor is gone), but the row's own content still is, against its stored link."""
    found = []
    sequence = row[_SEQUENCE]
    if sequence != expected_sequence:
        missing = (
            f"Event {expected_sequence} is missing"
            if sequence == expected_sequence + 1
            else f"Events {expected_sequence} to {sequence - 1} are missing"
        )
        found.append(
            Problem(expected_sequence, f"{missing} (the next stored event is {sequence}).")
        )
    elif row[_PREVIOUS_HASH] != previous_hash:
        found.append(Problem(sequence, f"Event {sequence} does not link to event {sequence - 1}."))
    key = keys.get(row[_KEY_ID])
    if key is None:
        found.append(
            Problem(sequence, f"Event {sequence} names an unknown key id {row[_KEY_ID]!r}.")
        )
    elif not _content_matches(key, row):
        found.append(
            Problem(sequence, f"Event {sequence} was altered: its content does not match its hash.")
        )
    return found


def _content_matches(key: bytes, row: tuple[Any, ...]) -> bool:
    for hashed in (row[:_HASHED], _legacy_hashed(row)):
        if hashed is not None:
            message = row[_PREVIOUS_HASH].encode() + b"\n" + _ENCODE(hashed).encode()
            if hmac.digest(key, message, "sha256").hex() == row[_HASH]:
                return True
    return False


def _legacy_hashed(row: tuple[Any, ...]) -> list[Any] | None:
    """The hashed values with times before year 1000 in the unpadded form they were once
    hashed in (see `chain.legacy_iso_utc`), or None when the row has no such time."""
    hashed = list(row[:_HASHED])
    changed = False
    for index in DATETIME_INDEXES:
        value = hashed[index]
        if isinstance(value, str) and value.startswith("0"):
            hashed[index] = legacy_iso_utc(value)
            changed = True
    return hashed if changed else None


_HASHED = len(HASHED_FIELDS)
_SEQUENCE = HASHED_FIELDS.index("sequence")
_KEY_ID = HASHED_FIELDS.index("key_id")
_PREVIOUS_HASH = _HASHED
_HASH = _HASHED + 1
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _select_sql(vendor: str) -> str:
    """Selects the hashed columns with datetimes already in the canonical text form, so
    verification neither parses nor re-formats them."""
    columns = []
    for name in STORED_FIELDS:
        if name in {"occurred_at", "data_time"} and vendor == "postgresql":
            columns.append(
                f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            )
        else:
            columns.append(name)
    # Constant column names only: nothing from input reaches this SQL.
    return f"SELECT {', '.join(columns)} FROM audit_auditevent ORDER BY sequence"  # noqa: S608


def _sqlite_datetime(value: dt.datetime | str | None) -> str | None:
    # Django stores UTC without an offset on SQLite; its driver hands back naive datetimes.
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return iso_utc(value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value)


def _rows() -> Iterator[tuple[Any, ...]]:
    occurred = HASHED_FIELDS.index("occurred_at")
    data_time = HASHED_FIELDS.index("data_time")
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(_select_sql(connection.vendor))
        while batch := cursor.fetchmany(CHUNK_SIZE):
            if connection.vendor == "postgresql":
                yield from batch
                continue
            for row in batch:
                fixed = list(row)
                fixed[occurred] = _sqlite_datetime(row[occurred])
                fixed[data_time] = _sqlite_datetime(row[data_time])
                yield tuple(fixed)


@dataclass(slots=True)
class _Lane:
    """The walk's state in one lane."""

    lane: int
    previous_hash: str = GENESIS_HASH
    count: int = 0
    # Events missing so far: the next stored event should be `expected`.
    skipped: int = 0

    @property
    def expected(self) -> int:
        return lanes.lane_base(self.lane) + self.count + 1 + self.skipped

    @property
    def last(self) -> int:
        """The sequence the lane's last stored event should have (its base when empty)."""
        return self.expected - 1


def audit_chain_verify(
    *, max_problems: int | None = None, checkpoints: CheckpointFile | None = None
) -> ChainVerification:
    """Walks the ledger lane by lane in sequence order, recomputes every link of each lane's
    chain and compares it with the checkpoints kept outside the database. Reports every
    problem, up to `max_problems` (the AUDIT_VERIFY_MAX_PROBLEMS setting by default)."""
    limit = max(1, settings.AUDIT_VERIFY_MAX_PROBLEMS if max_problems is None else max_problems)
    # The head rows and the checkpoints are read before the walk: whatever they record was
    # committed before it began, so an append racing with verification is not a deletion.
    heads = {lane: sequence for lane, sequence, _ in lanes.lane_heads()}
    anchors = audit_checkpoints_read() if checkpoints is None else checkpoints
    problems = [Problem(None, message) for message in anchors.problems]
    # The checkpointed hash of each sequence, by hash (several checkpoints of one head are
    # one expectation; two different hashes for one sequence mean the ledger was rewritten).
    expected: dict[int, dict[str, Checkpoint]] = {}
    for checkpoint in sorted(anchors.checkpoints, key=lambda item: (item.time, item.line)):
        if lanes.lane_position(checkpoint.sequence) > 0:
            expected.setdefault(checkpoint.sequence, {})[checkpoint.hash] = checkpoint
    keys = verification_keys()
    walked: list[_Lane] = []
    state = _Lane(0)
    truncated = False
    # The hot loop checks the common case inline (one key, intact link, matching HMAC) and
    # hands anything unusual to `_row_problems`, which explains it.
    encode = _ENCODE
    digest = hmac.digest
    single_key = next(iter(keys.values())) if len(keys) == 1 else None
    for row in _rows():
        sequence = row[_SEQUENCE]
        if lanes.lane_of(sequence) != state.lane:
            # The first event of another lane: the walk of this one is over.
            if state.count:
                walked.append(state)
            state = _Lane(lanes.lane_of(sequence))
        key = single_key or keys.get(row[_KEY_ID])
        previous_hash = state.previous_hash
        if (
            key is None
            or sequence != state.expected
            or row[_PREVIOUS_HASH] != previous_hash
            or digest(key, f"{previous_hash}\n{encode(row[:_HASHED])}".encode(), "sha256").hex()
            != row[_HASH]
        ):
            problems.extend(_row_problems(row, state.expected, previous_hash, keys))
            # After a gap, carry on from the row found: every later problem is reported too.
            state.skipped = sequence - lanes.lane_base(state.lane) - state.count - 1
        if sequence in expected:
            problems.extend(
                Problem(
                    sequence,
                    f"Event {sequence} differs from {checkpoint.describe()}: "
                    "the ledger was rewritten after it.",
                )
                for digest_there, checkpoint in expected[sequence].items()
                if digest_there != row[_HASH]
            )
        state.previous_hash = row[_HASH]
        state.count += 1
        if problems and len(problems) > limit:
            truncated = True
            break
    if state.count:
        walked.append(state)

    if not truncated:
        # Lanes without events whose head or checkpoints record some: walked, and empty.
        seen = {lane.lane for lane in walked}
        named = set(heads) | {lanes.lane_of(c.sequence) for c in anchors.checkpoints}
        walked.extend(_Lane(lane) for lane in named - seen)
        walked.sort(key=lambda item: item.lane)
        for lane in walked:
            problems.extend(_tail_problems(lane, heads.get(lane.lane, 0), anchors))
    if len(problems) > limit:
        problems, truncated = problems[:limit], True
    return ChainVerification(
        ok=not problems,
        events=sum(lane.count for lane in walked),
        head=state.previous_hash,
        problems=tuple(problems),
        problems_truncated=truncated,
        checkpoint=anchors.latest,
        checkpoints=len(anchors.checkpoints),
        lanes=tuple(LaneVerification(lane.lane, lane.count, lane.previous_hash) for lane in walked),
    )


def _tail_problems(lane: _Lane, head: int, anchors: CheckpointFile) -> list[Problem]:
    """Events missing from the end of a lane: its head row (at event `head`), or a
    checkpoint, records more events than the lane holds."""
    problems = []
    last = lane.last
    in_lane = [c for c in anchors.checkpoints if lanes.lane_of(c.sequence) == lane.lane]
    if head > last:
        problems.append(
            Problem(
                last + 1,
                f"{_lane_name(lane.lane)} ends at event {last} but its head records "
                f"{lanes.lane_position(head)} events: the latest events were deleted.",
            )
        )
    every = settings.AUDIT_CHECKPOINT_EVERY_EVENTS
    if every > 0:
        # The ledger checkpoints every `every` events of a lane by itself; the newest of those
        # may still be on its way to the file (it is written just after its event commits),
        # the one before it must be there.
        position = lanes.lane_position(last)
        needed = (position // every - 1) * every
        newest = max((lanes.lane_position(c.sequence) for c in in_lane), default=0)
        if needed > 0 and newest < needed:
            base = lanes.lane_base(lane.lane)
            problems.append(
                Problem(
                    None,
                    f"The checkpoint file holds no checkpoint at or after event {base + needed}, "
                    f"although the ledger checkpoints {_each_lane(lane.lane)} every {every} "
                    f"events and {_holds(lane.lane)} {position}: the file was removed or "
                    "replaced by an older copy, or checkpoints could not be written (see the "
                    "log). Find out which, then write one with `manage.py audit_checkpoint`.",
                )
            )
    beyond = [checkpoint for checkpoint in in_lane if checkpoint.sequence > last]
    if beyond:
        furthest = max(beyond, key=lambda item: (item.sequence, item.time, item.line))
        problems.append(
            Problem(
                last + 1,
                f"{_lane_name(lane.lane)} ends at event {last}, before "
                f"{furthest.describe()}: the latest events were deleted.",
            )
        )
    return problems


def _lane_name(lane: int) -> str:
    return "The ledger" if lane == 0 else f"Lane {lane} of the ledger"


def _each_lane(lane: int) -> str:
    return "itself" if lane == 0 else "each lane"


def _holds(lane: int) -> str:
    return "holds" if lane == 0 else f"lane {lane} holds"


# Records that prove themselves: apps whose signed records carry a digest in the ledger
# register a verifier here (the audit app imports no app above it). A verifier takes the most
# problems to report and returns (records checked, problems).
RecordsVerifier = Callable[[int], tuple[int, list[str]]]
_RECORDS_VERIFIERS: list[RecordsVerifier] = []


def records_verifier_register(verifier: RecordsVerifier) -> None:
    if verifier not in _RECORDS_VERIFIERS:
        _RECORDS_VERIFIERS.append(verifier)


@dataclass(frozen=True)
class RecordsVerification:
    checked: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": list(self.problems)}


def records_verify(*, max_problems: int | None = None) -> RecordsVerification:
    """Recomputes every signed record's digest and compares it with its signing event."""
    limit = max(1, settings.AUDIT_VERIFY_MAX_PROBLEMS if max_problems is None else max_problems)
    checked = 0
    problems: list[str] = []
    for verifier in _RECORDS_VERIFIERS:
        count, found = verifier(limit - len(problems))
        checked += count
        problems.extend(found)
        if len(problems) >= limit:
            break
    return RecordsVerification(checked, tuple(problems[:limit]))
