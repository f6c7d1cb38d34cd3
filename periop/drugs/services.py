"""Check services: from validated input to an engine evaluation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from periop.api import DomainError
from periop.drugs.engine import (
    ConditionInput,
    EngineInputError,
    Evaluation,
    MedicationInput,
    PatientState,
    evaluate,
)
from periop.drugs.registry import get_knowledge_base


def patient_state_from_input(data: Mapping[str, Any]) -> PatientState:
    """Builds the engine's PatientState from validated check input."""
    patient = data.get("patient") or {}
    return PatientState(
        conditions=tuple(
            ConditionInput(
                code=condition["code"],
                onset=condition.get("onset"),
                resolved=condition.get("resolved"),
                attributes=dict(condition.get("attributes") or {}),
            )
            for condition in data.get("conditions", ())
        ),
        medications=tuple(
            MedicationInput(
                code=medication["code"],
                started=medication.get("started"),
                stopped=medication.get("stopped"),
            )
            for medication in data.get("medications", ())
        ),
        weight_kg=patient.get("weight_kg"),
        age_years=patient.get("age_years"),
        sex=patient.get("sex"),
        receptor_state_override=data.get("receptor_state"),
    )


def cautions_evaluate(*, state: PatientState, drugs: Sequence[str], at: dt.datetime) -> Evaluation:
    """Evaluates planned drugs against the active knowledge base; bad input is a field error."""
    try:
        return evaluate(state, tuple(drugs), at, get_knowledge_base())
    except EngineInputError as error:
        raise DomainError(error.message, field=error.field_name) from error
