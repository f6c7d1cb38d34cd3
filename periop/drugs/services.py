"""Check services: from validated input to an engine evaluation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from periop.api import DomainError
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine import (
    ConditionInput,
    EngineInputError,
    Evaluation,
    KnowledgeBase,
    MedicationInput,
    PatientState,
    ReceptorState,
    derive_receptor_state,
    evaluate,
)
from periop.drugs.engine.tuning import Tuning, evaluation_tune
from periop.drugs.plausibility import (
    GrowthChartMissing,
    unchecked_warnings,
    weight_warning_in_year,
    weight_warnings,
)
from periop.drugs.registry import get_knowledge_base

# Clinical dates and times outside these years are typing errors, and the extremes of Python's
# calendar overflow when shifted between time zones (23:59 on 31 December 9999 in New York is
# past the last instant Python can hold in UTC).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200


def clinical_time_validate(value: dt.date | dt.datetime) -> None:
    """Refuses a clinical date or date-time outside the years 1900-2200.

    The one bound for every clinical time a person types: the API's serializer fields and the
    web forms' date fields both run it, before any time-zone conversion. Raises Django's
    ValidationError, which forms and DRF both show as a field error.
    """
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        kind = "date-time" if isinstance(value, dt.datetime) else "date"
        raise ValidationError(
            f"Enter a {kind} between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
            code="out_of_range",
        )


def patient_state_from_input(data: Mapping[str, Any]) -> PatientState:
    """Builds the engine's PatientState from validated check input."""
    patient = data.get("patient") or {}
    # Every field is given by position, in the order the classes declare them: a frozen
    # dataclass built with keywords costs twice as much, and every check builds one per record.
    return PatientState(
        tuple(
            [
                ConditionInput(
                    condition["code"],  # code
                    condition.get("onset"),  # onset
                    condition.get("resolved"),  # resolved
                    dict(condition.get("attributes") or {}),  # attributes
                )
                for condition in data.get("conditions", ())
            ]
        ),
        tuple(
            [
                MedicationInput(
                    medication["code"],  # code
                    medication.get("started"),  # started
                    medication.get("stopped"),  # stopped
                )
                for medication in data.get("medications", ())
            ]
        ),
        patient.get("weight_kg"),  # weight_kg
        patient.get("age_years"),  # age_years
        patient.get("sex"),  # sex
        data.get("receptor_state"),  # receptor_state_override
    )


def cautions_evaluate(*, state: PatientState, drugs: Sequence[str], at: dt.datetime) -> Evaluation:
    """Evaluates planned drugs against the active knowledge base; bad input is a field error."""
    try:
        return evaluate(state, tuple(drugs), at, get_knowledge_base())
    except EngineInputError as error:
        raise DomainError(error.message, field=error.field_name) from error


def receptor_state_derive(*, state: PatientState, at: dt.datetime) -> ReceptorState:
    """The receptor state the active knowledge base derives for `state` at `at`."""
    try:
        return derive_receptor_state(state, at, get_knowledge_base())
    except EngineInputError as error:
        raise DomainError(error.message, field=error.field_name) from error


def check_warnings(data: Mapping[str, Any], kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The warnings of a stateless check's input: a weight implausible for the age in whole
    years and the sex on the growth chart of `kb`, the release the check was evaluated on
    (`periop.drugs.plausibility`); none without a weight or an age."""
    patient = data.get("patient") or {}
    weight_kg, age_years = patient.get("weight_kg"), patient.get("age_years")
    if weight_kg is None or age_years is None:
        return []
    try:
        return weight_warnings(
            weight_warning_in_year(
                age_years=age_years, sex=patient.get("sex"), weight_kg=weight_kg, kb=kb
            )
        )
    except GrowthChartMissing as error:
        return unchecked_warnings(error)


def input_digest(raw: Any) -> str:
    """SHA-256 of the request body in canonical JSON: proves what was checked, stores no patient."""
    canonical = json.dumps(
        raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def check_run(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    raw_input: Any,
    department_id: int | None = None,
    resource_type: str = "check",
    correlation_id: str | None = None,
    tunings: Mapping[str, Sequence[Tuning]] | None = None,
) -> Evaluation:
    """The stateless pharmacy check: evaluates, then records who checked what, when, and for
    which department (so it appears in that department's audit log).

    The audit event holds the input's digest, the drugs and the levels shown, never the
    patient's conditions themselves, and the levels as the department's `tunings` left them
    (with the tunings' ids). Other doors to the same check (CDS Hooks) name
    themselves in `resource_type` and may give their own correlation id (a hookInstance).
    """
    evaluation = cautions_evaluate(
        state=patient_state_from_input(data), drugs=data["drugs"], at=data["at"]
    )
    shown = tuned_levels(evaluation, tunings or {})
    audit_event_append(
        actor=actor,
        action=Action.QUERY,
        resource_type=resource_type,
        data_category="nmj-drug-check",
        department_id=department_id,
        data_time=data["at"],
        request_id=correlation_id,
        payload={
            "input_digest": input_digest(raw_input),
            "knowledge_base": {
                "version": evaluation.knowledge_base_version,
                "digest": evaluation.knowledge_base_digest,
            },
            "cautions": shown["cautions"],
            **({"tunings": shown["tunings"]} if shown["tunings"] else {}),
        },
    )
    return evaluation


def tuned_levels(evaluation: Evaluation, tunings: Mapping[str, Sequence[Tuning]]) -> dict[str, Any]:
    """Each drug's level as shown once the tunings apply, and the ids of those that did
    (for an audit event, which records levels, never the findings' text)."""
    levels = {caution.drug: caution.level.code for caution in evaluation.cautions}
    if not tunings:
        return {"cautions": levels, "tunings": []}
    tuned = evaluation_tune(
        {
            "cautions": [
                {
                    "drug": caution.drug,
                    "level": caution.level.code,
                    "findings": [
                        {"rule": finding.rule, "level": finding.level.code}
                        for finding in caution.findings
                    ],
                }
                for caution in evaluation.cautions
            ]
        },
        tunings,
    )
    return {
        "cautions": {caution["drug"]: caution["level"] for caution in tuned["cautions"]},
        "tunings": tuned.get("tunings", []),
    }
