"""Signed checkpoints of the ledger's head, kept outside the database.

A hash chain cannot see its own tail cut off: whoever deletes the newest events and rewinds the
head row leaves a shorter chain that verifies, and an empty ledger verifies too. A checkpoint is
the sequence and hash of the head at a moment, signed with the audit key, appended as one JSON
line to a file the database cannot reach (and shipped from there to a write-once store or
syslog, see the README). Verification compares the ledger with every checkpoint in the file.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from periop.audit.chain import iso_utc, signing_key, verification_keys

# Prefixes every signed message, so a checkpoint's HMAC can never pass for an event's (whose
# message starts with the 64 hex digits of the previous hash).
_DOMAIN = b"periop-audit-checkpoint-v1\n"
_HEX_HASH = re.compile(r"[0-9a-f]{64}")
# The line format's version, compared by type as well (JSON's true is not 1).
_VERSION = 1
_FIELDS = ("v", "sequence", "hash", "time", "key_id", "hmac")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of the ledger at `time`: `sequence` events, the last with `hash`."""

    sequence: int
    hash: str
    time: str
    key_id: str
    line: int = 0  # Its line in the checkpoint file; 0 before it is written.

    def as_dict(self) -> dict[str, object]:
        return {
            "sequence": self.sequence,
            "hash": self.hash,
            "time": self.time,
            "key_id": self.key_id,
        }

    def describe(self) -> str:
        return f"the checkpoint of {self.time} (event {self.sequence})"


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    """What the checkpoint file holds: its valid checkpoints, and why the other lines are not."""

    checkpoints: tuple[Checkpoint, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def latest(self) -> Checkpoint | None:
        """The checkpoint written last (by its time, then by its place in the file)."""
        return max(self.checkpoints, key=lambda item: (item.time, item.line), default=None)


def checkpoint_signature(*, key: bytes, sequence: int, hash: str, time: str, key_id: str) -> str:
    """HMAC-SHA-256 of a checkpoint's fields with the audit key."""
    fields = json.dumps([sequence, hash, time, key_id], separators=(",", ":"))
    return hmac.digest(key, _DOMAIN + fields.encode(), "sha256").hex()


def checkpoint_file_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def audit_checkpoint_write(
    *, sequence: int, hash: str, now: dt.datetime | None = None, path: Path | None = None
) -> Checkpoint:
    """Appends one signed checkpoint of the head (`sequence`, `hash`) to the checkpoint file.

    The file is opened append-only, the line goes in one `write` (so concurrent writers never
    interleave) and is fsync'ed before this returns. Raises OSError when it cannot be written.
    """
    return audit_checkpoints_write([(sequence, hash)], now=now, path=path)[0]


def audit_checkpoints_write(
    heads: Iterable[tuple[int, str]], *, now: dt.datetime | None = None, path: Path | None = None
) -> list[Checkpoint]:
    """Appends a signed checkpoint of each head (`sequence`, `hash`; one per lane of the
    ledger), all in one `write` and one fsync, with the same time."""
    key_id, key = signing_key()
    time = iso_utc(now or timezone.now())
    checkpoints = []
    lines = []
    for sequence, digest in heads:
        checkpoint = Checkpoint(sequence=sequence, hash=digest, time=time, key_id=key_id)
        signature = checkpoint_signature(
            key=key, sequence=sequence, hash=digest, time=time, key_id=key_id
        )
        lines.append(
            json.dumps(
                {"v": _VERSION, **checkpoint.as_dict(), "hmac": signature}, separators=(",", ":")
            )
            + "\n"
        )
        checkpoints.append(checkpoint)
    if lines:
        _append(path or checkpoint_file_path(), "".join(lines).encode())
    return checkpoints


def _append(path: Path, data: bytes) -> None:
    created = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        written = os.write(descriptor, data)
        if written != len(data):
            raise OSError(f"Only {written} of {len(data)} bytes of the checkpoint were written.")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        # A new file's directory entry must reach the disk too, or a crash can lose the file.
        directory = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def audit_checkpoints_read(path: Path | None = None) -> CheckpointFile:
    """Every checkpoint of the file whose signature holds, and a problem for each line that is
    corrupt, forged or signed with an unknown key. A missing file holds no checkpoint."""
    try:
        lines = list(_lines(path or checkpoint_file_path()))
    except FileNotFoundError:
        return CheckpointFile()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        return CheckpointFile(problems=(f"The checkpoint file cannot be read: {reason}.",))
    keys = verification_keys()
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    for number, text in lines:
        if not text.strip():
            continue
        checkpoint, problem = _parse(number, text, keys)
        if checkpoint is not None:
            checkpoints.append(checkpoint)
        else:
            problems.append(problem)
    return CheckpointFile(checkpoints=tuple(checkpoints), problems=tuple(problems))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", newline="\n") as file:
        yield from enumerate(file, start=1)


def _parse(number: int, text: str, keys: dict[str, bytes]) -> tuple[Checkpoint | None, str]:
    corrupt = f"Checkpoint line {number} is corrupt"
    try:
        entry: Any = json.loads(text)
    except ValueError:
        return None, f"{corrupt}: it is not JSON."
    if (
        not isinstance(entry, dict)
        or set(entry) != set(_FIELDS)
        or type(entry["v"]) is not int
        or entry["v"] != _VERSION
    ):
        return None, f"{corrupt}: it does not have the checkpoint fields."
    sequence, digest, time, key_id = (
        entry[name] for name in ("sequence", "hash", "time", "key_id")
    )
    if (
        type(sequence) is not int
        or sequence < 0
        or not isinstance(digest, str)
        or not _HEX_HASH.fullmatch(digest)
        or not isinstance(time, str)
        or not isinstance(key_id, str)
        or not isinstance(entry["hmac"], str)
        or not _HEX_HASH.fullmatch(entry["hmac"])
    ):
        return None, f"{corrupt}: a field has the wrong type."
    key = keys.get(key_id)
    if key is None:
        return None, f"Checkpoint line {number} names an unknown key id {key_id!r}."
    expected = checkpoint_signature(
        key=key, sequence=sequence, hash=digest, time=time, key_id=key_id
    )
    if not hmac.compare_digest(expected, entry["hmac"]):
        return None, (
            f"Checkpoint line {number} does not match its signature: it was forged or altered."
        )
    return Checkpoint(sequence=sequence, hash=digest, time=time, key_id=key_id, line=number), ""
