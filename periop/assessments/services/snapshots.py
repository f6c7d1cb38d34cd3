"""The immutable evaluation snapshot an assessment stores: canonical JSON text, and the rows
that index it for reports.

Text, not a JSON column: PostgreSQL's jsonb reorders keys and may re-type numbers, and the
snapshot must read back byte for byte as it was written, so its digest stays the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from periop.assessments.models import (
    ACKNOWLEDGED_LEVELS,
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
)
from periop.assessments.selectors import RecordedState
from periop.assessments.time_points import time_point_text


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"Value of type {type(value).__name__} cannot go into a snapshot.")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 text; decimals as strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def inputs_to_dict(
    *, recorded: RecordedState, drugs: Sequence[str], at: dt.datetime
) -> dict[str, Any]:
    """What the engine was given, with the ids of the recorded rows it came from."""
    state = recorded.state
    receptor_state = recorded.receptor_state
    return {
        "at": at.astimezone(dt.UTC).isoformat(),
        "drugs": list(drugs),
        "patient": {
            "age_years": state.age_years,
            "sex": state.sex,
            "weight_kg": None if state.weight_kg is None else format(state.weight_kg, "f"),
        },
        "conditions": [
            {
                "id": row.pk,
                "version": row.version,
                "code": row.code,
                "onset": time_point_text(row.onset),
                "resolved": time_point_text(row.resolved),
                "attributes": dict(row.attributes or {}),
            }
            for row in recorded.conditions
        ],
        "medications": [
            {
                "id": row.pk,
                "code": row.code,
                "started": time_point_text(row.started),
                "stopped": time_point_text(row.stopped),
                # Shown with the plan's basis, never evaluated; left out when not written.
                **({"dose_text": row.dose_text} if row.dose_text else {}),
            }
            for row in recorded.medications
        ],
        "receptor_state": None
        if receptor_state is None
        else {
            "id": receptor_state.pk,
            "value": receptor_state.value,
            "reason": receptor_state.reason,
        },
    }


def acknowledgement_required(cautions: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The cautions (as shown, tuned) a clinician must accept or override before signing."""
    return [
        {"drug": caution["drug"], "level": caution["level"]}
        for caution in cautions
        if caution["level"] in ACKNOWLEDGED_LEVELS
    ]


def finding_keys(cautions: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """(drug, rule, level, locally tuned) for each rule fired for a planned drug, at the level
    the snapshot shows (tuned): what the per-rule figures count. Cautions without findings
    (abbreviated demo data) give none."""
    keys: list[tuple[str, str, str, bool]] = []
    drugs: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for caution in cautions:
        drug = caution["drug"]
        if drug in drugs:
            continue  # A drug is indexed once, by its first caution (as the caution rows).
        drugs.add(drug)
        for finding in caution.get("findings") or ():
            rule = finding.get("rule")
            if not rule or (drug, rule) in seen:
                continue
            seen.add((drug, rule))
            keys.append((drug, rule, finding["level"], bool(finding.get("locally_tuned"))))
    return keys


def snapshot_findings(assessment: Assessment) -> list[AssessmentFinding]:
    """One row per rule fired for a planned drug of the stored cautions (`finding_keys`)."""
    cautions = json.loads(assessment.cautions_snapshot).get("cautions", [])
    return [
        AssessmentFinding(
            assessment_id=assessment.pk,
            rule=rule,
            drug=drug,
            level=level,
            locally_tuned=locally_tuned,
            department_id=assessment.department_id,
            created_at=assessment.created_at,
        )
        for drug, rule, level, locally_tuned in finding_keys(cautions)
    ]


def snapshot_rows(
    assessment: Assessment,
) -> tuple[list[AssessmentCaution], list[AssessmentConditionCode]]:
    """The caution and condition-code rows that index an assessment's stored snapshot text."""
    cautions: dict[str, AssessmentCaution] = {}
    for caution in json.loads(assessment.cautions_snapshot).get("cautions", []):
        cautions.setdefault(
            caution["drug"],
            AssessmentCaution(
                assessment_id=assessment.pk,
                drug=caution["drug"],
                drug_class=caution.get("drug_class") or "",
                level=caution["level"],
                conflict=bool(caution.get("conflict")),
                department_id=assessment.department_id,
                created_at=assessment.created_at,
            ),
        )
    codes = sorted(
        {condition["code"] for condition in json.loads(assessment.inputs_snapshot)["conditions"]}
    )
    return list(cautions.values()), [
        AssessmentConditionCode(
            assessment_id=assessment.pk,
            code=code,
            department_id=assessment.department_id,
            created_at=assessment.created_at,
        )
        for code in codes
    ]


def snapshot_rows_store(assessment: Assessment, *, replace: bool) -> None:
    """Writes the rows that index the assessment's snapshot (replacing the previous ones after
    an edit); call it in the transaction that saves the snapshot, after the save, so reports
    never count a stale evaluation."""
    cautions, codes = snapshot_rows(assessment)
    findings = snapshot_findings(assessment)
    if replace:
        AssessmentCaution.objects.filter(assessment_id=assessment.pk).delete()
        AssessmentFinding.objects.filter(assessment_id=assessment.pk).delete()
        AssessmentConditionCode.objects.filter(assessment_id=assessment.pk).delete()
    AssessmentCaution.objects.bulk_create(cautions)
    AssessmentFinding.objects.bulk_create(findings)
    AssessmentConditionCode.objects.bulk_create(codes)
