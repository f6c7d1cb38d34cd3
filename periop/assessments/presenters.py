"""The assessment as the API shows it: its row, its snapshot, acknowledgements and versions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from periop.assessments.models import Acknowledgement, Assessment
from periop.assessments.selectors import PatientRecord
from periop.assessments.services.common import kept_on
from periop.assessments.services.plan import (
    plan_evaluate,
    plan_release_problem,
    stored_evaluation,
)
from periop.assessments.services.plausibility import assessment_warnings
from periop.drugs.registry import get_knowledge_base


def assessment_plan_data(
    *, assessment: Assessment, acknowledgements: Sequence[Acknowledgement]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The plan and the drugs still to decide: as signed for a signed assessment (its stored
    plan), re-evaluated over the current decisions for a draft. A draft the active release
    cannot evaluate (`plan_notices`) shows its stored cards, with its decisions."""
    if assessment.is_signed and assessment.plan_snapshot:
        return json.loads(assessment.plan_snapshot), []
    # A signed record stored without its plan (signed before plans were stored) is never
    # judged again by a later release: its stored cards show unless its release is active.
    reevaluate = not plan_notices(assessment) and (
        not assessment.is_signed or assessment.knowledge_base_digest == get_knowledge_base().digest
    )
    plan = plan_evaluate(assessment=assessment, decisions=acknowledgements, reevaluate=reevaluate)
    return plan.as_data(), [] if assessment.is_signed else plan.missing


def plan_notices(assessment: Assessment) -> list[str]:
    """What keeps a draft's plan from being evaluated, decided and signed under the active
    knowledge-base release, with what to do (read once per assessment object)."""

    def notices() -> list[str]:
        problem = plan_release_problem(assessment)
        return [problem] if problem else []

    return kept_on(assessment, "_plan_notices", None, notices)


def _username(user: Any) -> str | None:
    return None if user is None else str(user.get_username())


def assessment_detail_data(
    *,
    assessment: Assessment,
    acknowledgements: Sequence[Acknowledgement],
    versions: Sequence[Assessment],
) -> dict[str, Any]:
    """A plain dict in the shape of `AssessmentDetailOutput`; the snapshot is shown exactly as
    stored, never re-evaluated."""
    evaluation = stored_evaluation(assessment)
    plan, pending = assessment_plan_data(assessment=assessment, acknowledgements=acknowledgements)
    superseded_by = next(
        (version.pk for version in versions if version.supersedes_id == assessment.pk), None
    )
    return {
        "id": assessment.pk,
        "patient": assessment.patient,
        "department": assessment.department_id,
        "status": assessment.status,
        "revision": assessment.revision,
        "etag": assessment.etag,
        "planned_at": assessment.planned_at,
        "procedure": assessment.procedure,
        "weight_kg": assessment.weight_kg,
        "warnings": assessment_warnings(assessment),
        "drugs": list(assessment.drugs),
        "inputs": json.loads(assessment.inputs_snapshot),
        "knowledge_base": {
            "version": assessment.knowledge_base_version,
            "digest": assessment.knowledge_base_digest,
        },
        "receptor_state": {
            "value": assessment.receptor_state,
            "overridden": assessment.receptor_state_overridden,
            "derived": assessment.receptor_state_derived,
            "sources": assessment.receptor_state_sources,
            "recorded": assessment.receptor_state_record_id,
        },
        "highest_level": assessment.highest_level,
        "cautions": evaluation["cautions"],
        "assumptions": evaluation.get("assumptions", []),
        "acknowledgement_required": assessment.acknowledgement_required,
        "pending_acknowledgements": pending,
        "plan": plan,
        "plan_notices": plan_notices(assessment),
        "acknowledgements": acknowledgements,
        "supersedes": assessment.supersedes_id,
        "superseded_by": superseded_by,
        "amendment_reason": assessment.amendment_reason,
        "versions": versions,
        "created_by": _username(assessment.created_by),
        "created_at": assessment.created_at,
        "updated_at": assessment.updated_at,
        "signed_by": _username(assessment.signed_by),
        "signed_at": assessment.signed_at,
        "sign_event_hash": assessment.sign_event_hash,
    }


def receptor_state_data(record: PatientRecord) -> dict[str, Any]:
    """The recorded receptor state beside the derived one; `value` is the one in force."""
    recorded, derived = record.receptor_state_recorded, record.receptor_state_derived
    return {
        "value": recorded.value if recorded else (derived.derived if derived else None),
        "recorded": recorded,
        "derived": None
        if derived is None
        else {
            "value": derived.derived,
            "sources": [
                {"condition": source.condition, "effect": source.effect}
                for source in derived.sources
            ],
        },
    }
