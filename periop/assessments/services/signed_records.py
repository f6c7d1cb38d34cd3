"""What a signed assessment's record is, as one digest: the assessment, its decisions, the
report rows that index it, the plan signed and the condition versions it was evaluated on.

The digest goes into the ledger's sign event. `verify_audit_chain --records` and
`GET /api/v1/audit/verify?records=true` recompute it from the rows and name every record that
differs: a change made around the database guards (by a superuser, say) shows there. The finding
rows (one per rule fired) are not in the digest, which predates them: they are checked against
the signed snapshot they are derived from.
"""

from __future__ import annotations

import json
from typing import Any

from periop.assessments.models import (
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
    AssessmentStatus,
    PatientCondition,
)
from periop.assessments.services.snapshots import canonical_json, digest, snapshot_findings
from periop.assessments.time_points import time_point_text
from periop.audit.models import Action, AuditEvent


def signed_record_content(
    assessment: Assessment, *, plan_text: str, signed_by_id: int | None
) -> dict[str, Any]:
    """The rows of the record, as the digest covers them (queried, not taken from memory)."""
    inputs = json.loads(assessment.inputs_snapshot)
    condition_ids = [condition["id"] for condition in inputs.get("conditions", ())]
    return {
        "assessment": {
            "id": assessment.pk,
            "patient": assessment.patient_id,
            "department": assessment.department_id,
            "planned_at": assessment.planned_at,
            "procedure": assessment.procedure,
            "weight_kg": assessment.weight_kg,
            "drugs": list(assessment.drugs),
            "revision": assessment.revision,
            "lineage": str(assessment.lineage),
            "supersedes": assessment.supersedes_id,
            "amendment_reason": assessment.amendment_reason,
            "inputs_digest": digest(assessment.inputs_snapshot),
            "cautions_digest": digest(assessment.cautions_snapshot),
            "plan_digest": digest(plan_text),
            "highest_level": assessment.highest_level,
            "acknowledgement_required": assessment.acknowledgement_required,
            "receptor_state": [
                assessment.receptor_state,
                assessment.receptor_state_derived,
                assessment.receptor_state_overridden,
                assessment.receptor_state_sources,
                assessment.receptor_state_record_id,
            ],
            "knowledge_base": [
                assessment.knowledge_base_version,
                assessment.knowledge_base_digest,
            ],
            "created_by": assessment.created_by_id,
            "signed_by": signed_by_id,
        },
        "decisions": _decisions(assessment),
        "cautions": list(
            AssessmentCaution.objects.filter(assessment_id=assessment.pk)
            .order_by("drug", "id")
            .values_list("drug", "drug_class", "level", "conflict")
        ),
        "condition_codes": list(
            AssessmentConditionCode.objects.filter(assessment_id=assessment.pk)
            .order_by("code")
            .values_list("code", flat=True)
        ),
        "conditions": [
            {
                "id": row.pk,
                "version": row.version,
                "code": row.code,
                "onset": time_point_text(row.onset),
                "resolved": time_point_text(row.resolved),
                "attributes": row.attributes,
            }
            for row in PatientCondition.objects.filter(pk__in=condition_ids).order_by("id")
        ],
    }


DECISION_COLUMNS = (
    "id",
    "revision",
    "drug",
    "level",
    "decision",
    "reason_code",
    "comment",
    "alternative",
    "dose_mg",
    "acknowledged_by_id",
    "acknowledged_at",
)


def _decisions(assessment: Assessment) -> list[dict[str, Any]]:
    """Every decision of the assessment, replaced ones included. A changed decision adds
    `replaced_at` to the old row and `replaces` to the new one; rows without either keep the
    shape records were signed with before decisions could change, so their digests hold."""
    rows = []
    for row in (
        Acknowledgement.objects.filter(assessment_id=assessment.pk)
        .order_by("id")
        .values(*DECISION_COLUMNS, "replaced_at", "replaces_id")
    ):
        replaced_at, replaces = row.pop("replaced_at"), row.pop("replaces_id")
        if replaced_at is not None:
            row["replaced_at"] = replaced_at
        if replaces is not None:
            row["replaces"] = replaces
        rows.append(row)
    return rows


def signed_record_digest(
    assessment: Assessment, *, plan_text: str, signed_by_id: int | None
) -> str:
    content = signed_record_content(assessment, plan_text=plan_text, signed_by_id=signed_by_id)
    return digest(canonical_json(content))


FINDING_COLUMNS = ("drug", "rule", "level", "locally_tuned", "department_id", "created_at")


def _findings_match(assessment: Assessment) -> bool:
    """The finding rows the reports count are derived from the signed snapshot (which the
    digest covers), so they are checked against it rather than digested themselves."""
    stored = AssessmentFinding.objects.filter(assessment_id=assessment.pk).values_list(
        *FINDING_COLUMNS
    )
    derived = (
        tuple(getattr(row, column) for column in FINDING_COLUMNS)
        for row in snapshot_findings(assessment)
    )
    return sorted(stored) == sorted(derived)


def signed_records_verify(limit: int) -> tuple[int, list[str]]:
    """Recomputes the digest of every signed assessment whose sign event holds one, and names
    each record that differs, or a signed assessment whose sign event is missing. Returns
    (records checked, problems), at most `limit` problems."""
    problems: list[str] = []
    checked = 0
    signed_at: dict[int, tuple[int, str]] = {}
    events = AuditEvent.objects.filter(action=Action.SIGN, resource_type="assessment")
    for sequence, resource_id, payload in events.values_list(
        "sequence", "resource_id", "payload"
    ).iterator(chunk_size=2000):
        recorded = json.loads(payload).get("record_digest")
        if recorded:
            signed_at[int(resource_id)] = (sequence, recorded)
    signed = Assessment.objects.filter(status=AssessmentStatus.SIGNED).order_by("id")
    for assessment in signed.iterator(chunk_size=500):
        if len(problems) >= limit:
            break
        entry = signed_at.pop(assessment.pk, None)
        if entry is None:
            if assessment.plan_snapshot is not None:
                # Signed since records carry a digest, yet no sign event holds one.
                problems.append(
                    f"Assessment {assessment.pk} is signed but no sign event records its digest."
                )
            continue
        sequence, recorded = entry
        checked += 1
        now = signed_record_digest(
            assessment,
            plan_text=assessment.plan_snapshot or "",
            signed_by_id=assessment.signed_by_id,
        )
        if now != recorded:
            problems.append(
                f"Assessment {assessment.pk} differs from the record signed at event {sequence}."
            )
        elif not _findings_match(assessment):
            problems.append(
                f"Assessment {assessment.pk}'s finding rows differ from the snapshot signed at "
                f"event {sequence}."
            )
    for assessment_id, (sequence, _) in sorted(signed_at.items()):
        if len(problems) >= limit:
            break
        problems.append(
            f"Assessment {assessment_id}, signed at event {sequence}, is missing or not signed."
        )
    return checked, problems
