"""Verification of the audit chain: finds the first altered, deleted or inserted event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from periop.audit.chain import GENESIS_HASH, HASHED_FIELDS, row_hash, verification_keys
from periop.audit.models import AuditChainHead, AuditEvent

CHUNK_SIZE = 5000


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    events: int
    head: str
    first_broken_sequence: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"ok": self.ok, "events": self.events, "head": self.head}
        if not self.ok:
            result["first_broken_sequence"] = self.first_broken_sequence
            result["problem"] = self.problem
        return result


def _problem(
    fields: dict[str, Any], expected_sequence: int, previous_hash: str, keys: dict[str, bytes]
) -> tuple[int, str] | None:
    """The first thing wrong with one stored row, as (sequence, explanation), or None."""
    sequence = fields["sequence"]
    if sequence != expected_sequence:
        return (
            expected_sequence,
            f"Event {expected_sequence} is missing (the next stored event is {sequence}).",
        )
    if fields["previous_hash"] != previous_hash:
        return sequence, f"Event {sequence} does not link to event {sequence - 1}."
    key = keys.get(fields["key_id"])
    if key is None:
        return sequence, f"Event {sequence} names an unknown key id {fields['key_id']!r}."
    if row_hash(key=key, previous_hash=previous_hash, fields=fields) != fields["hash"]:
        return sequence, f"Event {sequence} was altered: its content does not match its hash."
    return None


def audit_chain_verify() -> ChainVerification:
    """Walks the ledger in sequence order and recomputes every link of the chain."""
    keys = verification_keys()
    columns = (*HASHED_FIELDS, "previous_hash", "hash")
    previous_hash = GENESIS_HASH
    count = 0
    rows = AuditEvent.objects.order_by("sequence").values_list(*columns)
    for row in rows.iterator(chunk_size=CHUNK_SIZE):
        fields = dict(zip(columns, row, strict=True))
        problem = _problem(fields, count + 1, previous_hash, keys)
        if problem is not None:
            return ChainVerification(
                ok=False,
                events=count,
                head=previous_hash,
                first_broken_sequence=problem[0],
                problem=problem[1],
            )
        previous_hash = fields["hash"]
        count += 1

    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.sequence > count:
        return ChainVerification(
            ok=False,
            events=count,
            head=previous_hash,
            first_broken_sequence=count + 1,
            problem=(
                f"The ledger ends at event {count} but its head records {head.sequence} events: "
                "the latest events were deleted."
            ),
        )
    return ChainVerification(ok=True, events=count, head=previous_hash)
