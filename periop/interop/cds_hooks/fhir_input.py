"""FHIR R4 resources to the engine's input: Conditions, MedicationRequests and
MedicationStatements to `PatientState`, and draft MedicationRequests to planned drug codes.

Codes are matched through the knowledge base only: a Condition by its SNOMED CT or ICD-10-CM
coding (`conditions.toml` `snomed`, `icd10cm`), a medication by its ATC coding (`drugs.toml`
`atc`). RxNorm codes are not matched: standards-reference grades every RxCUI unconfirmed. A
Condition the knowledge base does not know (hypertension, say) plays no part in any caution.

Times keep what FHIR says: an onset or abatement, a start or a stop, reaches the engine, which
applies the aftermath windows of the knowledge base. A partial date (a year, a month) is an
unknown time, for which the engine takes the most cautious reading.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from periop.drugs.code_systems import ATC, code_mappings
from periop.drugs.engine import ConditionInput, KnowledgeBase, MedicationInput
from periop.drugs.time_rules import (
    earliest_instant,
    resolved_before_onset,
    stopped_before_started,
)

# Clinical statuses of a Condition that mean it is over (R4 condition-clinical).
_RESOLVED_STATUSES = frozenset({"inactive", "remission", "resolved"})
# Verification statuses that mean the condition is not the patient's.
_NOT_THE_PATIENTS = frozenset({"entered-in-error", "refuted"})
# Statuses of a recorded medication that mean it was never taken (or recorded in error).
_NOT_TAKEN = frozenset({"entered-in-error", "cancelled", "not-taken", "draft"})
_STOPPED = frozenset({"completed", "stopped"})
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class CodeIndex:
    """The knowledge base's external codes, looked up in one step each."""

    conditions: Mapping[tuple[str, str], str]
    drugs_by_atc: Mapping[str, str]


_indexes: dict[str, CodeIndex] = {}


def code_index(kb: KnowledgeBase) -> CodeIndex:
    """The code lookups of `kb`, built once per knowledge-base digest."""
    index = _indexes.get(kb.digest)
    if index is None:
        # The same mapping GET /api/v1/knowledge-base publishes.
        mappings = code_mappings(kb)
        index = CodeIndex(
            conditions={
                (item["system"], item["code"]): item["condition"] for item in mappings["conditions"]
            },
            drugs_by_atc={
                item["code"]: item["drug"] for item in mappings["drugs"] if item["system"] == ATC
            },
        )
        _indexes[kb.digest] = index
    return index


def fhir_time(value: Any) -> dt.date | dt.datetime | None:
    """A FHIR date or dateTime as a time point; a partial date or a date-time without a zone
    is unknown (None)."""
    if not isinstance(value, str):
        return None
    if _FULL_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    if "T" not in value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _codings(concept: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(concept, Mapping):
        return
    for coding in concept.get("coding") or ():
        if isinstance(coding, Mapping):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                yield system, code.strip()


def _status_code(concept: Any) -> str | None:
    for _system, code in _codings(concept):
        return code
    return None


@dataclass(slots=True)
class RecordedState:
    """What the patient's FHIR records give the engine, and what was read to get it."""

    conditions: list[ConditionInput] = field(default_factory=list)
    medications: list[MedicationInput] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


def conditions_read(
    resources: Iterable[Mapping[str, Any]], kb: KnowledgeBase, at: dt.datetime
) -> RecordedState:
    """The Conditions the knowledge base knows, with onset and resolution as recorded (a time
    after `at`, the evaluation, cannot be right: it is read as unknown, and said so)."""
    index = code_index(kb).conditions
    state = RecordedState()
    for resource in resources:
        if _status_code(resource.get("verificationStatus")) in _NOT_THE_PATIENTS:
            continue
        code = next((index[key] for key in _codings(resource.get("code")) if key in index), None)
        if code is None:
            continue
        onset = fhir_time(resource.get("onsetDateTime"))
        if onset is None and isinstance(resource.get("onsetPeriod"), Mapping):
            onset = fhir_time(resource["onsetPeriod"].get("start"))
        resolved = fhir_time(resource.get("abatementDateTime"))
        if resolved is None and isinstance(resource.get("abatementPeriod"), Mapping):
            resolved = fhir_time(resource["abatementPeriod"].get("end"))
        name = kb.conditions[code].name
        if onset is not None and earliest_instant(onset) > at:
            state.assumptions.append(
                f"{name} is recorded with an onset in the future: its onset is taken as unknown."
            )
            onset = None
        if resolved is not None and earliest_instant(resolved) > at:
            state.assumptions.append(
                f"{name} is recorded as resolving in the future: it is taken as ongoing."
            )
            resolved = None
        if resolved is None and _status_code(resource.get("clinicalStatus")) in _RESOLVED_STATUSES:
            state.assumptions.append(
                f"{name} is recorded as resolved without a date: it is taken as ongoing."
            )
        if resolved_before_onset(onset, resolved):
            state.assumptions.append(
                f"{name} is recorded as resolved before its onset: it is taken as ongoing."
            )
            resolved = None
        state.conditions.append(ConditionInput(code=code, onset=onset, resolved=resolved))
    return state


def medication_drug(resource: Mapping[str, Any], kb: KnowledgeBase) -> str | None:
    """The knowledge base's drug code of a MedicationRequest or MedicationStatement, by its ATC
    coding (in `medicationCodeableConcept` or a contained Medication), or None."""
    by_atc = code_index(kb).drugs_by_atc
    for system, code in _codings(_medication_concept(resource)):
        if system == ATC and code in by_atc:
            return by_atc[code]
    return None


def _medication_concept(resource: Mapping[str, Any]) -> Any:
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return concept
    reference = resource.get("medicationReference")
    if isinstance(reference, Mapping) and str(reference.get("reference", "")).startswith("#"):
        wanted = reference["reference"][1:]
        for contained in resource.get("contained") or ():
            if (
                isinstance(contained, Mapping)
                and contained.get("resourceType") == "Medication"
                and contained.get("id") == wanted
            ):
                return contained.get("code")
    return None


def medications_read(
    requests: Iterable[Mapping[str, Any]],
    statements: Iterable[Mapping[str, Any]],
    kb: KnowledgeBase,
) -> RecordedState:
    """The recorded medications the knowledge base knows, with their start and stop."""
    state = RecordedState()
    for resource in requests:
        status = resource.get("status")
        drug = medication_drug(resource, kb)
        if drug is None or status in _NOT_TAKEN:
            continue
        started = fhir_time(resource.get("authoredOn"))
        stopped = None
        if status in _STOPPED:
            validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
            stopped = fhir_time(validity.get("end")) if isinstance(validity, Mapping) else None
        _medication_add(state, kb, drug, started, stopped, status in _STOPPED)
    for resource in statements:
        status = resource.get("status")
        drug = medication_drug(resource, kb)
        if drug is None or status in _NOT_TAKEN:
            continue
        period = resource.get("effectivePeriod")
        if isinstance(period, Mapping):
            started, stopped = fhir_time(period.get("start")), fhir_time(period.get("end"))
        else:
            started, stopped = fhir_time(resource.get("effectiveDateTime")), None
        _medication_add(state, kb, drug, started, stopped, status in _STOPPED)
    return state


def _medication_add(
    state: RecordedState,
    kb: KnowledgeBase,
    drug: str,
    started: dt.date | dt.datetime | None,
    stopped: dt.date | dt.datetime | None,
    recorded_stopped: bool,
) -> None:
    name = kb.drugs[drug].name
    if stopped is None and recorded_stopped:
        state.assumptions.append(
            f"{name} is recorded as stopped without a date: it is taken as still given."
        )
    if stopped_before_started(started, stopped):
        state.assumptions.append(
            f"{name} is recorded as stopped before it started: it is taken as still given."
        )
        stopped = None
    state.medications.append(MedicationInput(code=drug, started=started, stopped=stopped))


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """One draft MedicationRequest: its reference, its drug code (None when unmapped) and the
    name the order gives it."""

    reference: str
    drug: str | None
    label: str


def draft_orders_read(bundle: Mapping[str, Any], kb: KnowledgeBase) -> list[DraftOrder]:
    """The MedicationRequests of `context.draftOrders`, in order (other orders are not drugs)."""
    orders = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "MedicationRequest":
            continue
        order_id = resource.get("id")
        reference = (
            f"MedicationRequest/{order_id}" if isinstance(order_id, str) and order_id else ""
        )
        orders.append(
            DraftOrder(
                reference=reference,
                drug=medication_drug(resource, kb),
                label=_order_label(resource),
            )
        )
    return orders


def _order_label(resource: Mapping[str, Any]) -> str:
    concept = _medication_concept(resource)
    if isinstance(concept, Mapping):
        text = concept.get("text")
        if isinstance(text, str) and text.strip():
            return text.strip()[:80]
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
                return str(coding["display"]).strip()[:80]
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                return str(coding["code"]).strip()[:80]
    return "an order without a medication code"


def patient_demographics(resource: Mapping[str, Any] | None, at: dt.datetime) -> dict[str, Any]:
    """Age in whole years and sex from a FHIR Patient, where recorded."""
    result: dict[str, Any] = {}
    if not resource:
        return result
    birth = fhir_time(resource.get("birthDate"))
    if isinstance(birth, dt.date) and not isinstance(birth, dt.datetime):
        today = at.date()
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        if 0 <= age <= 130:
            result["age_years"] = age
    gender = resource.get("gender")
    if gender in ("female", "male", "other", "unknown"):
        result["sex"] = gender
    return result


def drug_codes(orders: Sequence[DraftOrder]) -> list[str]:
    """The distinct drug codes of the mapped orders, in order."""
    return list(dict.fromkeys(order.drug for order in orders if order.drug))
