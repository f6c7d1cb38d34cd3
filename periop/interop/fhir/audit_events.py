"""The audit ledger in FHIR form: the search parameters of `GET /fhir/AuditEvent` and the
mapping of one ledger event to an R4 AuditEvent (standards-reference.md §2.4 and §3.5).

Where each ledger field goes:
- `occurred_at` (7.1.1) -> `recorded`; `action` (7.1.8) -> `action` (C/R/U/D/E) and, as
  Periop's own code, `subtype`; `outcome` -> `outcome` (0 success, 4 a refusal);
- the actor (7.1.7) -> the one `agent` (`requestor` true: every event has one initiator);
- the department -> `source.site`, Periop -> `source.observer`;
- the patient (7.1.6) -> an `entity` whose `what` is the Periop patient id;
- the data accessed (7.1.9) -> an `entity` naming the resource type and id, with the data
  category and data time (7.1.2) as details;
- the hash chain -> an `entity` naming the ledger entry, with `sequence`, `hash`,
  `previous-hash`, `key-id` and `request-id` as details.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from periop.api import MAX_ID
from periop.audit import lanes
from periop.audit.models import AuditEvent
from periop.interop.fhir import coding as codes
from periop.interop.fhir.coding import coding, identifier
from periop.interop.fhir.resources import instant

DEFAULT_COUNT = 50
MAXIMUM_COUNT = 100
PARAMETERS = ("patient", "date", "_count", "_after", "_format")
JSON_FORMATS = ("json", "application/json", "application/fhir+json")
SUPPORTED_PREFIXES = ("eq", "gt", "lt", "ge", "le")

_DATE_VALUE = re.compile(
    r"^(?P<prefix>[a-z]{2})?"
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class SearchParameterError(Exception):
    """A search parameter Periop cannot read: a 400 whose OperationOutcome names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class AuditEventSearch:
    """The search as read from the query string."""

    filters: Q
    count: int
    # The page cursor: each lane's last event read ({lane: sequence}; empty from the start).
    after: dict[int, int]
    patient_ids: tuple[int, ...]
    # The parameters as given, minus the page cursor: the `self` and `next` links repeat them.
    parameters: tuple[tuple[str, str], ...]


def _patient_id(value: str) -> int:
    text = value.removeprefix("Patient/")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise SearchParameterError(
            "patient", f"'{value[:100]}' is not a Periop patient id (a whole number)."
        )
    return int(text)


def date_range(value: str) -> tuple[str, dt.datetime, dt.datetime]:
    """(prefix, start, end) of a `date` value: the instants [start, end) it stands for. A date
    without a time is a UTC day (or month, or year); a time needs its offset."""
    match = _DATE_VALUE.match(value)
    if match is None:
        raise SearchParameterError(
            "date",
            f"'{value[:100]}' is not a date (2026-01-31) or a date and time with its offset "
            "(2026-01-31T08:00:00+00:00), optionally after eq, gt, lt, ge or le.",
        )
    part = match.groupdict()
    prefix = part["prefix"] or "eq"
    if prefix not in SUPPORTED_PREFIXES:
        raise SearchParameterError(
            "date", f"The prefix '{prefix}' is not supported; use eq, gt, lt, ge or le."
        )
    if part["hour"] is not None and part["zone"] is None:
        raise SearchParameterError(
            "date", f"'{value[:100]}' gives a time without its offset: add Z or +01:00, say."
        )
    try:
        if part["hour"] is None:
            year, month, day = int(part["year"]), int(part["month"] or 1), int(part["day"] or 1)
            start = dt.datetime(year, month, day, tzinfo=dt.UTC)
            if part["day"] is not None:
                end = start + dt.timedelta(days=1)
            elif part["month"] is not None:
                end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
            else:
                end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
            return prefix, start, end
        zone = "+00:00" if part["zone"] == "Z" else part["zone"]
        fraction = part["fraction"] or ""
        text = (
            f"{part['year']}-{part['month']}-{part['day']}T{part['hour']}:{part['minute']}"
            f":{part['second'] or '00'}{'.' + fraction.ljust(6, '0') if fraction else ''}{zone}"
        )
        start = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise SearchParameterError("date", f"'{value[:100]}' is not a real date.") from None
    if fraction:
        step = dt.timedelta(microseconds=10 ** (6 - len(fraction)))
    elif part["second"] is not None:
        step = dt.timedelta(seconds=1)
    else:
        step = dt.timedelta(minutes=1)
    return prefix, start, start + step


def _date_filter(value: str) -> Q:
    prefix, start, end = date_range(value)
    return {
        "eq": Q(occurred_at__gte=start, occurred_at__lt=end),
        "gt": Q(occurred_at__gte=end),
        "lt": Q(occurred_at__lt=start),
        "ge": Q(occurred_at__gte=start),
        "le": Q(occurred_at__lt=end),
    }[prefix]


def _whole_number(name: str, value: str, minimum: int, maximum: int) -> int:
    if not (value.isascii() and value.isdigit()) or not minimum <= int(value) <= maximum:
        raise SearchParameterError(
            name, f"{name} must be a whole number from {minimum} to {maximum}."
        )
    return int(value)


def audit_event_search_parse(query: Mapping[str, Sequence[str]]) -> AuditEventSearch:
    """Reads the query string. Repeating a parameter combines with AND, commas with OR, as in
    FHIR search; an unknown parameter is refused, never silently ignored."""
    unknown = sorted(name for name in query if name not in PARAMETERS)
    if unknown:
        raise SearchParameterError(
            unknown[0],
            f"Unknown search parameter '{unknown[0][:100]}'. Use {', '.join(PARAMETERS[:4])}.",
        )
    filters = Q()
    patients: list[int] = []
    for value in query.get("patient", ()):
        ids = [_patient_id(item) for item in value.split(",")]
        patients.extend(ids)
        filters &= Q(patient_id__in=ids)
    for value in query.get("date", ()):
        either = Q()
        for item in value.split(","):
            either |= _date_filter(item)
        filters &= either
    count, after = DEFAULT_COUNT, {}
    for name in ("_count", "_after", "_format"):
        if len(query.get(name, ())) > 1:
            raise SearchParameterError(name, f"Give {name} once.")
    if "_count" in query:
        count = _whole_number("_count", query["_count"][0], 1, MAXIMUM_COUNT)
    if "_after" in query:
        try:
            after = lanes.cursor_parse(query["_after"][0])
        except ValueError as error:
            raise SearchParameterError(
                "_after",
                f"_after must be the cursor of a next link (sequence numbers, one per lane, "
                f"separated by commas): {error}",
            ) from None
    if "_format" in query and query["_format"][0] not in JSON_FORMATS:
        raise SearchParameterError("_format", "Periop answers in JSON: use _format=json.")
    parameters = tuple(
        (name, value) for name in PARAMETERS if name != "_after" for value in query.get(name, ())
    )
    return AuditEventSearch(
        filters=filters,
        count=count,
        after=after,
        patient_ids=tuple(dict.fromkeys(patients)),
        parameters=parameters,
    )


_ACTOR_KIND_TEXT = {
    "user": "User (browser)",
    "api-client": "API client (token)",
    "system": "System",
    "anonymous": "Anonymous",
}


def _agent(event: AuditEvent) -> dict[str, Any]:
    who: dict[str, Any] = {}
    if event.actor_kind == "system":
        who = {"type": "Device", "identifier": identifier(codes.SYSTEM_ACTOR, event.actor_username)}
    elif event.actor_username:
        who = {"type": "Practitioner", "identifier": identifier(codes.USER, event.actor_username)}
    who["display"] = event.actor_username or "anonymous"
    agent: dict[str, Any] = {
        "type": {"text": _ACTOR_KIND_TEXT.get(event.actor_kind, event.actor_kind)},
        "who": who,
        "requestor": True,
    }
    if event.actor_user_id is not None:
        agent["altId"] = str(event.actor_user_id)
    return agent


def _detail(name: str, value: str) -> dict[str, str]:
    return {"type": name, "valueString": value}


def audit_event_resource(event: AuditEvent, department_codes: Mapping[int, str]) -> dict[str, Any]:
    """One ledger event as an R4 AuditEvent."""
    entities: list[dict[str, Any]] = []
    if event.patient_id is not None:
        entities.append(
            {
                "what": {
                    "type": "Patient",
                    "identifier": identifier(codes.PATIENT_ID, event.patient_id),
                }
            }
        )
    data: dict[str, Any] = {
        "type": coding(codes.RESOURCE_TYPE, event.resource_type),
        "name": event.resource_type,
    }
    if event.resource_id:
        data["what"] = {
            "identifier": identifier(codes.resource_system(event.resource_type), event.resource_id)
        }
    details = []
    if event.data_category:
        details.append(_detail("data-category", event.data_category))
    if event.data_time is not None:
        details.append(_detail("data-time", instant(event.data_time)))
    if details:
        data["detail"] = details
    entities.append(data)
    ledger = [
        _detail("sequence", str(event.sequence)),
        _detail("hash", event.hash),
        _detail("previous-hash", event.previous_hash),
        _detail("key-id", event.key_id),
    ]
    if event.request_id:
        ledger.append(_detail("request-id", event.request_id))
    entities.append(
        {
            "what": {
                "identifier": identifier(codes.AUDIT_LEDGER, event.sequence),
                "display": f"Periop audit ledger entry {event.sequence}",
            },
            "name": "audit-ledger-entry",
            "detail": ledger,
        }
    )
    source: dict[str, Any] = {"observer": {"type": "Device", "display": "Periop"}}
    if event.department_id is not None and event.department_id in department_codes:
        source["site"] = department_codes[event.department_id]
    return {
        "resourceType": "AuditEvent",
        "type": codes.audit_event_type(event.action, event.resource_type),
        "subtype": [coding(codes.AUDIT_ACTION, event.action, event.get_action_display())],
        "action": codes.AUDIT_ACTION_CODE[event.action],
        "recorded": instant(event.occurred_at),
        "outcome": codes.AUDIT_OUTCOME_CODE[event.outcome],
        "agent": [_agent(event)],
        "source": source,
        "entity": entities,
    }


def event_full_url(event: AuditEvent) -> str:
    """A stable `urn:uuid:` for the event, derived from its hash (unique in the ledger)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{codes.AUDIT_LEDGER}:{event.hash}')}"
