"""The CDS Hooks service `periop-nmj`: discovery, a hook call and feedback.

A hook call checks the draft orders with the same service as `POST /api/v1/checks`
(`periop.drugs.services.check_run`), so the caution, and its record in the audit ledger, are
those of a pharmacy check; the ledger event carries the hookInstance as its correlation id.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.utils import timezone

from periop.api import DomainError
from periop.assessments.models import ReasonCode
from periop.audit.models import Action, Outcome
from periop.audit.services import audit_event_append
from periop.drugs.engine import KnowledgeBase
from periop.drugs.plausibility import GrowthChartMissing, weight_warning_at_age
from periop.drugs.registry import get_knowledge_base
from periop.drugs.services import check_run
from periop.fixed_sql import FixedColumns
from periop.interop.cds_hooks.auth import Caller
from periop.interop.cds_hooks.cards import OVERRIDE_REASON_SYSTEM, CardBuilder
from periop.interop.cds_hooks.fhir_input import (
    conditions_read,
    draft_orders_read,
    drug_codes,
    fhir_time,
    medications_read,
    patient_demographics,
)
from periop.interop.cds_hooks.observations import (
    measure_label,
    needed_measures,
    observation_templates,
    observations_read,
    optional_measures,
    prefetch_key,
)
from periop.interop.cds_hooks.prefetch import PREFETCH, PreconditionFailed, PrefetchReader
from periop.interop.models import CdsCard, CdsFeedback, FeedbackOutcome

SERVICE_ID = "periop-nmj"
HOOKS = ("order-select", "order-sign")
TITLE = "Perioperative neuromuscular-junction drug cautions"
DESCRIPTIONS = {
    "order-sign": (
        "Checks the medication orders about to be signed (neuromuscular blockers, reversal "
        "agents, aminoglycoside and polymyxin antibiotics, magnesium and others) against the "
        "patient's neuromuscular-junction conditions and medications."
    ),
    "order-select": (
        "Early caution on the medication orders being selected, with the other draft orders "
        "as context; the order-sign result supersedes it."
    ),
}


class BadRequest(DomainError):
    """Input the service cannot use; one message per field (400)."""


_CARDS = FixedColumns(CdsCard)


def prefetch_templates(kb: Any) -> dict[str, str]:
    """The Patient, Conditions and medications, and one Observation search per measure."""
    return {**PREFETCH, **observation_templates(kb)}


def discovery() -> dict[str, Any]:
    """The discovery document: one service id, registered for both order hooks."""
    templates = prefetch_templates(get_knowledge_base())
    return {
        "services": [
            {
                "hook": hook,
                "id": SERVICE_ID,
                "title": TITLE,
                "description": DESCRIPTIONS[hook],
                "prefetch": templates,
                "usageRequirements": (
                    "Medication orders coded with ATC (http://www.whocc.no/atc); conditions "
                    "with SNOMED CT or ICD-10-CM. An order without a known ATC code is reported "
                    "as not checked."
                ),
            }
            for hook in HOOKS
        ]
    }


def discovery_record(caller: Caller) -> None:
    audit_event_append(
        actor=caller.actor,
        action=Action.READ,
        resource_type="cds-services",
        data_category="cds-hooks-discovery",
        department_id=caller.client.department_id,
        payload={"jti": caller.jti},
    )


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise BadRequest(message, field=field)


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _uuid_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def hook_request_validate(body: Any) -> dict[str, Any]:
    """The request's shape (CDS Hooks 2.0.1 and the order hooks of Hook Library 1.0.1)."""
    _require(isinstance(body, Mapping), "body", "Send a JSON object.")
    hook = body.get("hook")
    _require(_text(hook), "hook", "This field is required.")
    _require(
        hook in HOOKS, "hook", f"This service answers {' and '.join(HOOKS)}, not {str(hook)[:40]}."
    )
    _require(_uuid_text(body.get("hookInstance")), "hookInstance", "Give the hook instance's UUID.")
    context = body.get("context")
    _require(isinstance(context, Mapping), "context", "This field is required (an object).")
    _require(_text(context.get("patientId")), "context.patientId", "This field is required.")
    _require(_text(context.get("userId")), "context.userId", "This field is required.")
    orders = context.get("draftOrders")
    _require(
        isinstance(orders, Mapping) and orders.get("resourceType") == "Bundle",
        "context.draftOrders",
        "Give the draft orders as a FHIR Bundle.",
    )
    if hook == "order-select":
        selections = context.get("selections")
        _require(
            isinstance(selections, list) and bool(selections) and all(map(_text, selections)),
            "context.selections",
            "Give the selected orders' references, for example MedicationRequest/103.",
        )
    server = body.get("fhirServer")
    authorization = body.get("fhirAuthorization")
    if authorization is not None:
        _require(_text(server), "fhirServer", "fhirServer is required with fhirAuthorization.")
        _require(
            isinstance(authorization, Mapping) and _text(authorization.get("access_token")),
            "fhirAuthorization.access_token",
            "This field is required.",
        )
        _require(
            authorization.get("token_type") == "Bearer",
            "fhirAuthorization.token_type",
            "The token type must be Bearer.",
        )
    if server is not None:
        _require(_text(server), "fhirServer", "Give the FHIR server's base URL.")
        allowed = ("https://", "http://") if _plain_http_allowed() else ("https://",)
        _require(str(server).startswith(allowed), "fhirServer", "The FHIR server must use https.")
    prefetch = body.get("prefetch")
    _require(
        prefetch is None or isinstance(prefetch, Mapping),
        "prefetch",
        "Give prefetch as an object keyed by the service's prefetch keys.",
    )
    return dict(body)


def _plain_http_allowed() -> bool:
    return bool(getattr(settings, "CDS_HOOKS_ALLOW_HTTP_FHIR_SERVER", False))


def _time_text(point: Any) -> str | None:
    return None if point is None else point.isoformat()


def hook_call(*, caller: Caller, service_id: str, body: Any, source_url: str) -> dict[str, Any]:
    """Answers one hook call with its cards, and records it in the ledger (with its cards, for
    feedback). Raises BadRequest (400) or PreconditionFailed (412)."""
    request = hook_request_validate(body)
    context = request["context"]
    kb = get_knowledge_base()
    orders = draft_orders_read(context["draftOrders"], kb)
    if request["hook"] == "order-select":
        references = {order.reference for order in orders}
        unknown = [ref for ref in context["selections"] if ref not in references]
        _require(
            not unknown,
            "context.selections",
            f"{str(unknown[0])[:60] if unknown else ''} is not a MedicationRequest of draftOrders.",
        )
        targets = [order for order in orders if order.reference in context["selections"]]
    else:
        targets = orders
    drugs = drug_codes(orders)
    at = timezone.now()
    evaluation = None
    builder_input: dict[str, Any] = {
        "conditions_considered": [],
        "medications_considered": [],
        "observations_considered": [],
        "assumptions": [],
    }
    data: dict[str, Any] | None = None
    warnings: list[str] = []
    if drugs:
        try:
            with PrefetchReader(request, prefetch_templates(kb)) as reader:
                found = reader.read_all(PREFETCH)
                recorded = conditions_read(found["conditions"], kb, at)
                codes = [condition.code for condition in recorded.conditions]
                # The observations are read once the conditions say which can matter.
                needed = needed_measures(kb, codes, drugs)
                optional = optional_measures(kb)
                observed = reader.read_all(
                    prefetch_key(measure) for measure in needed if measure not in optional
                )
                unavailable = []
                for measure in (measure for measure in needed if measure in optional):
                    try:
                        observed.update(reader.read_all([prefetch_key(measure)]))
                    except PreconditionFailed:
                        unavailable.append(measure)
        except PreconditionFailed as missing:
            _not_completed_record(caller, request, missing.keys)
            raise
        readings = observations_read(
            {
                measure: observed[prefetch_key(measure)]
                for measure in needed
                if measure not in unavailable
            },
            kb,
            at,
            codes,
        )
        readings.assumptions.extend(
            f"No {measure_label(measure).lower()} could be read: the request had no "
            f"`{prefetch_key(measure)}` prefetch and it could not be fetched from a FHIR "
            "server. Doses per kg are not turned into mg."
            for measure in unavailable
        )
        medications = medications_read(
            found["medicationRequests"], found["medicationStatements"], kb
        )
        patient = patient_demographics(found["patient"], at)
        if readings.weight_kg is not None:
            patient["weight_kg"] = readings.weight_kg
            warning = _weight_warning(
                found["patient"], patient.get("sex"), at, readings.weight_kg, kb
            )
            warnings = [warning] if warning else []
        data = {
            "at": at,
            "patient": patient,
            "conditions": [
                {
                    "code": condition.code,
                    "onset": condition.onset,
                    "resolved": condition.resolved,
                    # Only the attributes this condition has (potassium, magnesium).
                    "attributes": {
                        name: value
                        for name, value in readings.attributes.items()
                        if name in kb.conditions[condition.code].attributes
                    },
                }
                for condition in recorded.conditions
            ],
            "medications": [
                {"code": item.code, "started": item.started, "stopped": item.stopped}
                for item in medications.medications
            ],
            "receptor_state": None,
            "drugs": drugs,
        }
        builder_input = {
            "conditions_considered": _considered_conditions(recorded.conditions, kb),
            "medications_considered": _considered_medications(medications.medications, kb),
            "observations_considered": readings.used,
            "assumptions": [
                *recorded.assumptions,
                *medications.assumptions,
                *readings.assumptions,
            ],
        }
    # The digest proves what was checked; the FHIR access token never enters it.
    raw_input = {key: value for key, value in request.items() if key != "fhirAuthorization"}
    # The signed-off tunings in force in the client's department (read with the client when
    # the call was let in), applied as they are to that department's checks and assessments:
    # the ledger and the cards show the same.
    tunings = dict(caller.tunings) if data is not None else {}
    with transaction.atomic():
        if data is not None:
            evaluation = check_run(
                actor=caller.actor,
                data=data,
                raw_input=raw_input,
                department_id=caller.client.department_id,
                resource_type="cds-hook",
                correlation_id=request["hookInstance"],
                tunings=tunings,
            )
        builder = CardBuilder(
            kb=kb,
            evaluation=evaluation,
            source_url=source_url,
            tunings=tunings,
            patient_id=request["context"]["patientId"],
            warnings=warnings,
            **builder_input,
        )
        issued = builder.cards(targets)
        if data is None:
            _unevaluated_record(caller, request, len(orders), len(issued))
        # One fixed statement: the ORM's bulk_create took 0.8 to 1.3 ms for five cards.
        _CARDS.insert(
            connections[router.db_for_write(CdsCard) or DEFAULT_DB_ALIAS],
            [
                {
                    "uuid": card.uuid,
                    "hook_instance": request["hookInstance"],
                    "client_id": caller.client.pk,
                    "department_id": caller.client.department_id,
                    "service": service_id,
                    "drug": card.drug,
                    "level": card.level,
                    "issued_at": at,
                }
                for card in issued
            ],
        )
    return {"cards": [card.body for card in issued]}


def _weight_warning(
    resource: Mapping[str, Any] | None,
    sex: str | None,
    at: dt.datetime,
    weight_kg: Decimal,
    kb: KnowledgeBase,
) -> str | None:
    """The implausible-weight warning an assessment would give (`periop.drugs.plausibility`),
    for the child's exact age, on the growth chart of `kb`, the release the hook evaluates on
    (or that release's word that it has none). A partial birth date gives no age (the check
    gets none either), so no weight is checked against one."""
    birth = fhir_time((resource or {}).get("birthDate"))
    if not isinstance(birth, dt.date) or isinstance(birth, dt.datetime):
        return None
    try:
        return weight_warning_at_age(
            birth_date=birth, sex=sex, on=at.date(), weight_kg=weight_kg, kb=kb
        )
    except GrowthChartMissing as error:
        return str(error)


def _not_completed_record(caller: Caller, request: Mapping[str, Any], keys: list[str]) -> None:
    """A check that could not be done (412) is recorded as such: the EHR showed no caution,
    and an auditor must be able to tell that from "no caution applied"."""
    with transaction.atomic():
        audit_event_append(
            actor=caller.actor,
            action=Action.QUERY,
            resource_type="cds-hook",
            data_category="nmj-drug-check",
            department_id=caller.client.department_id,
            outcome=Outcome.FAILURE,
            request_id=str(request["hookInstance"]),
            payload={"check": "not completed", "prefetch_unavailable": keys},
        )


def _unevaluated_record(
    caller: Caller, request: Mapping[str, Any], orders: int, cards: int
) -> None:
    """A call with no drug to check is recorded too (the ledger records every caller)."""
    audit_event_append(
        actor=caller.actor,
        action=Action.QUERY,
        resource_type="cds-hook",
        data_category="nmj-drug-check",
        department_id=caller.client.department_id,
        request_id=str(request["hookInstance"]),
        payload={"medication_orders": orders, "unchecked_cards": cards},
    )


def _considered_conditions(conditions: Any, kb: Any) -> list[str]:
    lines = []
    for condition in conditions:
        name = kb.conditions[condition.code].name
        onset = _time_text(condition.onset) or "unknown"
        resolved = _time_text(condition.resolved)
        lines.append(
            f"{name} (onset {onset}, " + (f"resolved {resolved})" if resolved else "ongoing)")
        )
    return list(dict.fromkeys(lines))


def _considered_medications(medications: Any, kb: Any) -> list[str]:
    lines = []
    for item in medications:
        name = kb.drugs[item.code].name
        started = _time_text(item.started) or "unknown"
        stopped = _time_text(item.stopped)
        lines.append(
            f"{name} (started {started}, " + (f"stopped {stopped})" if stopped else "ongoing)")
        )
    return list(dict.fromkeys(lines))


# RFC 3339 section 5.6 in UTC: a date, a time with optional fractions, and Z (or +00:00).
_UTC_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|z|\+00:00|-00:00)$")


def _utc_timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not _UTC_TIMESTAMP.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def feedback_validate(body: Any, *, caller: Caller, service_id: str) -> list[dict[str, Any]]:
    """Every entry checked (CDS Hooks 2.0.1 Feedback), and its card one Periop issued to this
    client for this service; the first problem is a 400 naming its field."""
    _require(isinstance(body, Mapping), "body", "Send a JSON object.")
    entries = body.get("feedback")
    _require(
        isinstance(entries, list) and bool(entries),
        "feedback",
        "Give a list of one or more feedback entries.",
    )
    checked = []
    for position, entry in enumerate(entries):
        where = f"feedback[{position}]"
        _require(isinstance(entry, Mapping), where, "Each entry is an object.")
        _require(_uuid_text(entry.get("card")), f"{where}.card", "Give the card's uuid.")
        outcome = entry.get("outcome")
        _require(
            outcome in FeedbackOutcome.values,
            f"{where}.outcome",
            "The outcome must be accepted or overridden.",
        )
        accepted = entry.get("acceptedSuggestions")
        if outcome == FeedbackOutcome.ACCEPTED:
            _require(
                isinstance(accepted, list)
                and bool(accepted)
                and all(isinstance(item, Mapping) and _text(item.get("id")) for item in accepted),
                f"{where}.acceptedSuggestions",
                "An accepted card needs the accepted suggestions, each with its id.",
            )
        reason_code = ""
        override = entry.get("overrideReason")
        if override is not None:
            _require(isinstance(override, Mapping), f"{where}.overrideReason", "Give an object.")
            reason, comment = override.get("reason"), override.get("userComment")
            _require(
                reason is not None or comment is not None,
                f"{where}.overrideReason",
                "Give a reason, a userComment, or both.",
            )
            if reason is not None:
                _require(
                    isinstance(reason, Mapping)
                    and _text(reason.get("system"))
                    and _text(reason.get("code")),
                    f"{where}.overrideReason.reason",
                    "The reason is a Coding with a system and a code.",
                )
                if (
                    reason["system"] == OVERRIDE_REASON_SYSTEM
                    and reason["code"] in ReasonCode.values
                ):
                    reason_code = reason["code"]
            _require(
                comment is None or isinstance(comment, str),
                f"{where}.overrideReason.userComment",
                "The comment is a string.",
            )
        outcome_at = _utc_timestamp(entry.get("outcomeTimestamp"))
        _require(
            outcome_at is not None,
            f"{where}.outcomeTimestamp",
            "Give the time as an RFC 3339 timestamp in UTC, e.g. 2026-11-22T08:15:30Z.",
        )
        checked.append(
            {
                "card": str(uuid.UUID(entry["card"])),
                "outcome": outcome,
                "reason_code": reason_code,
                "outcome_at": outcome_at,
                "accepted_suggestions": len(accepted) if isinstance(accepted, list) else 0,
                "comment_given": isinstance(override, Mapping)
                and bool(override.get("userComment")),
            }
        )
    cards = {
        str(card.uuid): card
        for card in CdsCard.objects.filter(
            uuid__in={entry["card"] for entry in checked},
            client=caller.client,
            service=service_id,
        )
    }
    for position, entry in enumerate(checked):
        _require(
            entry["card"] in cards,
            f"feedback[{position}].card",
            "No card with this uuid was issued to this client by this service.",
        )
        entry["card_row"] = cards[entry["card"]]
    return checked


def feedback_record(*, caller: Caller, service_id: str, body: Any) -> int:
    """Records every entry (duplicates too: the ledger is append-only) in one transaction;
    returns how many. The user's comment stays with the client: it may name the patient."""
    entries = feedback_validate(body, caller=caller, service_id=service_id)
    now = timezone.now()
    with transaction.atomic():
        for entry in entries:
            card: CdsCard = entry["card_row"]
            CdsFeedback.objects.create(
                card=card,
                department_id=card.department_id,
                outcome=entry["outcome"],
                reason_code=entry["reason_code"],
                outcome_at=entry["outcome_at"],
                received_at=now,
            )
            audit_event_append(
                actor=caller.actor,
                action=Action.OVERRIDE
                if entry["outcome"] == FeedbackOutcome.OVERRIDDEN
                else Action.CREATE,
                resource_type="cds-card",
                resource_id=entry["card"],
                data_category="cds-hooks-feedback",
                department_id=card.department_id,
                data_time=entry["outcome_at"],
                request_id=card.hook_instance,
                payload={
                    "outcome": entry["outcome"],
                    "reason_code": entry["reason_code"],
                    "comment_given": entry["comment_given"],
                    "accepted_suggestions": entry["accepted_suggestions"],
                    "drug": card.drug,
                    "level": card.level,
                },
            )
    return len(entries)
