"""The assessment lifecycle: create, edit a draft, acknowledge cautions, sign, amend.

Every create and edit re-evaluates the patient's current record and stores the snapshot. A
signed assessment is never changed (the database enforces it); an amendment is a new draft
that supersedes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from periop.accounts.models import Department
from periop.api import ConflictError, DomainError, PreconditionFailed
from periop.assessments.models import (
    MAXIMUM_WEIGHT_KG,
    MINIMUM_WEIGHT_KG,
    REASONS_NEEDING_COMMENT,
    Acknowledgement,
    Assessment,
    AssessmentStatus,
    Decision,
    Patient,
    ReasonCode,
)
from periop.assessments.selectors import patient_state_for
from periop.assessments.services import plan
from periop.assessments.services.common import (
    CATEGORY_ACKNOWLEDGEMENT,
    CATEGORY_ASSESSMENT,
    evaluate_recorded,
    join_names,
)
from periop.assessments.services.signed_records import signed_record_digest
from periop.assessments.services.snapshots import (
    acknowledgement_required,
    canonical_json,
    digest,
    inputs_to_dict,
    snapshot_rows_store,
)
from periop.audit.models import Action, AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine.tuning import evaluation_tune
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.tunings import department_tunings
from periop.drugs.weights import WEIGHT_RANGE_MESSAGE

CENT = Decimal("0.01")


def _checked_weight(weight_kg: Decimal) -> Decimal:
    if not weight_kg.is_finite() or not MINIMUM_WEIGHT_KG <= weight_kg <= MAXIMUM_WEIGHT_KG:
        raise DomainError(WEIGHT_RANGE_MESSAGE, field="weight_kg")
    return weight_kg.quantize(CENT)


def _checked_procedure(procedure: str) -> str:
    procedure = procedure.strip()
    if not procedure:
        raise DomainError("Name the planned procedure.", field="procedure")
    return procedure


def _evaluate_into(assessment: Assessment) -> None:
    """Evaluates the assessment's inputs against the patient's current record, applies the
    tunings in force in its department (one query) and stores the snapshot on it (not saved).
    The snapshot names the tunings that changed a finding (`tunings`), so replay applies the
    same ones; without any it is exactly the engine's evaluation."""
    at = assessment.planned_at
    drugs = list(assessment.drugs)
    recorded = patient_state_for(patient=assessment.patient, at=at, weight_kg=assessment.weight_kg)
    evaluation = evaluate_recorded(recorded=recorded, drugs=drugs, at=at, time_field="planned_at")
    receptor_state = evaluation.receptor_state
    assessment.inputs_snapshot = canonical_json(
        inputs_to_dict(recorded=recorded, drugs=drugs, at=at)
    )
    body = evaluation_tune(
        evaluation_to_dict(evaluation), department_tunings(assessment.department_id)
    )
    assessment.cautions_snapshot = canonical_json(body)
    assessment.highest_level = body["highest_level"]
    assessment.acknowledgement_required = acknowledgement_required(body["cautions"])
    assessment.receptor_state = receptor_state.value
    assessment.receptor_state_derived = receptor_state.derived
    assessment.receptor_state_overridden = receptor_state.overridden
    assessment.receptor_state_sources = [
        {"condition": source.condition, "effect": source.effect}
        for source in receptor_state.sources
    ]
    assessment.receptor_state_record = recorded.receptor_state
    assessment.knowledge_base_version = evaluation.knowledge_base_version
    assessment.knowledge_base_digest = evaluation.knowledge_base_digest


def _snapshot_payload(assessment: Assessment) -> dict[str, Any]:
    """What an audit event says about the evaluation: digests, levels and pointers."""
    return {
        "revision": assessment.revision,
        "planned_at": assessment.planned_at,
        "drugs": list(assessment.drugs),
        "highest_level": assessment.highest_level,
        "acknowledgement_required": [item["drug"] for item in assessment.acknowledgement_required],
        "inputs_digest": digest(assessment.inputs_snapshot),
        "cautions_digest": digest(assessment.cautions_snapshot),
        "knowledge_base": {
            "version": assessment.knowledge_base_version,
            "digest": assessment.knowledge_base_digest,
        },
    }


def _audit(actor: Actor, action: str, assessment: Assessment, **payload: Any) -> AuditEvent:
    return audit_event_append(
        actor=actor,
        action=action,
        resource_type="assessment",
        resource_id=assessment.pk,
        data_category=CATEGORY_ASSESSMENT,
        patient_id=assessment.patient_id,
        department_id=assessment.department_id,
        data_time=assessment.planned_at,
        payload={**_snapshot_payload(assessment), **payload},
    )


def _lock(assessment: Assessment) -> Assessment:
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("patient")
        .get(pk=assessment.pk)
    )


def _check_revision(assessment: Assessment, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != assessment.revision:
        raise PreconditionFailed(
            f"Assessment {assessment.pk} has changed since you read it: it is at revision "
            f"{assessment.revision}, you sent revision {expected_revision}. Reload it and "
            "apply your change again.",
            code="stale",
        )


def assessment_create(
    *,
    actor: Actor,
    patient: Patient,
    department: Department,
    planned_at: dt.datetime,
    procedure: str,
    weight_kg: Decimal,
    drugs: Sequence[str],
) -> Assessment:
    """Creates a draft assessment evaluated against the patient's current record.

    An assessment is filed in its patient's department, never another: it shows the patient's
    record to whoever reads it, so filing it elsewhere would open that record to another
    department (a 400 on `department`).
    """
    if department.pk != patient.department_id:
        raise DomainError(
            "An assessment is filed in its patient's department: "
            f"patient {patient.pk} is not registered in department {department.pk}.",
            field="department",
        )
    now = timezone.now()
    assessment = Assessment(
        patient=patient,
        department=department,
        planned_at=planned_at,
        procedure=_checked_procedure(procedure),
        weight_kg=_checked_weight(weight_kg),
        drugs=list(drugs),
        status=AssessmentStatus.DRAFT,
        revision=1,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    _evaluate_into(assessment)
    with transaction.atomic():
        assessment.save(force_insert=True)
        snapshot_rows_store(assessment, replace=False)
        _audit(actor, Action.CREATE, assessment)
    return assessment


def assessment_update(
    *,
    actor: Actor,
    assessment: Assessment,
    expected_revision: int,
    planned_at: dt.datetime | None = None,
    procedure: str | None = None,
    weight_kg: Decimal | None = None,
    drugs: Sequence[str] | None = None,
) -> Assessment:
    """Edits a draft seen at `expected_revision`, re-evaluates it and bumps its revision.

    409 for a signed assessment, 412 when someone else changed it first. Acknowledgements
    belong to a revision, so an edit asks for them again.
    """
    updates: dict[str, Any] = {}
    if planned_at is not None:
        updates["planned_at"] = planned_at
    if procedure is not None:
        updates["procedure"] = _checked_procedure(procedure)
    if weight_kg is not None:
        updates["weight_kg"] = _checked_weight(weight_kg)
    if drugs is not None:
        updates["drugs"] = list(drugs)
    with transaction.atomic():
        locked = _lock(assessment)
        if locked.is_signed:
            raise ConflictError(
                f"Assessment {locked.pk} is signed and cannot be edited; amend it instead.",
                code="signed",
            )
        _check_revision(locked, expected_revision)
        for name, value in updates.items():
            setattr(locked, name, value)
        _evaluate_into(locked)
        locked.revision += 1
        locked.updated_at = timezone.now()
        locked.save()
        snapshot_rows_store(locked, replace=True)
        _audit(actor, Action.UPDATE, locked, changed=sorted(updates))
    return locked


def _checked_reason(decision: str, reason_code: str, comment: str) -> None:
    """The closed reason list: an override needs a reason, and some reasons a comment."""
    if reason_code and reason_code not in ReasonCode.values:
        raise DomainError(
            f"Unknown reason code '{reason_code}'. Choose from {', '.join(ReasonCode.values)}.",
            field="reason_code",
        )
    if decision == Decision.OVERRIDDEN and not reason_code:
        raise DomainError("Give a reason code to override a caution.", field="reason_code")
    if reason_code in REASONS_NEEDING_COMMENT and not comment:
        raise DomainError(
            f"Explain in a comment why the reason is '{reason_code}'.", field="comment"
        )


def _locked_draft(assessment: Assessment, expected_revision: int | None) -> Assessment:
    locked = _lock(assessment)
    if locked.is_signed:
        raise ConflictError(
            f"Assessment {locked.pk} is signed: its decisions can no longer be made or "
            "changed. Amend the assessment to change its plan.",
            code="signed",
        )
    _check_revision(locked, expected_revision)
    return locked


DECISION_FIELDS = ("decision", "reason_code", "comment", "alternative", "dose_mg")


def _decision_fields(row: Acknowledgement) -> dict[str, Any]:
    return {name: getattr(row, name) for name in DECISION_FIELDS}


def _decision_record(
    *,
    actor: Actor,
    assessment: Assessment,
    drug: str,
    level: str,
    decision: str,
    reason_code: str,
    comment: str,
    alternative: str = "",
    dose_mg: Decimal | None = None,
    replacing: bool = False,
) -> Acknowledgement:
    """Writes one decision of the current revision and its audit event (`override` for an
    override, `update` for a changed decision, naming the old and the new one).

    One decision per drug and revision is in force. The v1 acknowledgement decides a drug
    once (409); with `replacing`, a plan decision replaces the one in force, which is kept
    and marked replaced, never overwritten. The same decision sent again changes nothing.
    """
    previous = (
        Acknowledgement.objects.filter(
            assessment=assessment,
            revision=assessment.revision,
            drug=drug,
            replaced_at__isnull=True,
        )
        .select_for_update()
        .first()
    )
    if previous is not None and not replacing:
        raise ConflictError(
            f"The caution for {drug} is already acknowledged in revision {assessment.revision}; "
            f"change the decision with POST /api/v1/assessments/{assessment.pk}/decisions.",
            code="already-acknowledged",
        )
    fields = {
        "decision": decision,
        "reason_code": reason_code,
        "comment": comment,
        "alternative": alternative,
        "dose_mg": dose_mg,
    }
    if previous is not None and _decision_fields(previous) == fields:
        return previous
    now = timezone.now()
    if previous is not None:
        # Frees the drug's place in force before the new row takes it (a partial unique
        # index); the old row keeps every field it had.
        Acknowledgement.objects.filter(pk=previous.pk).update(replaced_at=now)
    acknowledgement = Acknowledgement.objects.create(
        assessment=assessment,
        revision=assessment.revision,
        drug=drug,
        level=level,
        acknowledged_by_id=actor.user_id,
        acknowledged_at=now,
        replaces=previous,
        **fields,
    )
    payload: dict[str, Any] = {
        "assessment": assessment.pk,
        "revision": assessment.revision,
        "drug": drug,
        "level": level,
        "decision": decision,
        "reason_code": reason_code,
        "comment": comment,
    }
    if alternative:
        payload["alternative"] = alternative
    if dose_mg is not None:
        payload["dose_mg"] = dose_mg
    if previous is not None:
        payload["replaces"] = {
            "id": previous.pk,
            "level": previous.level,
            **{name: value for name, value in _decision_fields(previous).items() if value},
        }
    action = (
        Action.OVERRIDE
        if decision == Decision.OVERRIDDEN
        else Action.UPDATE
        if previous is not None
        else Action.CREATE
    )
    audit_event_append(
        actor=actor,
        action=action,
        resource_type="acknowledgement",
        resource_id=acknowledgement.pk,
        data_category=CATEGORY_ACKNOWLEDGEMENT,
        patient_id=assessment.patient_id,
        department_id=assessment.department_id,
        payload=payload,
    )
    return acknowledgement


def caution_acknowledge(
    *,
    actor: Actor,
    assessment: Assessment,
    drug: str,
    decision: str,
    reason_code: str = "",
    comment: str = "",
    expected_revision: int | None = None,
) -> Acknowledgement:
    """The v1 acknowledgement: accepts (the drug is withheld) or overrides one contraindicated
    or avoid caution of the current revision.

    An override needs a reason code; some reason codes need a comment. Audited as `override`
    for an override.
    """
    comment = comment.strip()
    if decision not in (Decision.ACCEPTED, Decision.OVERRIDDEN):
        raise DomainError(
            f"Unknown decision '{decision}'. Choose accepted or overridden.", field="decision"
        )
    _checked_reason(decision, reason_code, comment)
    with transaction.atomic():
        locked = _locked_draft(assessment, expected_revision)
        if drug not in locked.drugs:
            raise DomainError(f"'{drug}' is not a planned drug of this assessment.", field="drug")
        plan.snapshot_complete_check(locked, [drug], field="drug")
        levels = {item["drug"]: item["level"] for item in locked.acknowledgement_required}
        if drug not in levels:
            level = _caution_level(locked, drug)
            raise DomainError(
                f"The caution for {drug} is '{level}': only contraindicated and avoid cautions "
                "are acknowledged.",
                field="drug",
            )
        return _decision_record(
            actor=actor,
            assessment=locked,
            drug=drug,
            level=levels[drug],
            decision=decision,
            reason_code=reason_code,
            comment=comment,
        )


def plan_decide(
    *,
    actor: Actor,
    assessment: Assessment,
    drug: str,
    decision: str,
    reason_code: str = "",
    comment: str = "",
    alternative: str = "",
    dose_mg: Decimal | None = None,
    expected_revision: int | None = None,
) -> Acknowledgement:
    """Decides one planned drug: give, give-adjusted, withhold (optionally with an
    alternative) or override (only at contraindicated or avoid, with a reason). The level it
    is checked against is the drug's level in the plan as it stands, re-evaluated over the
    drugs that will be given (this drug's own decision left out).

    Before signing, a decision already made is changed by deciding again: the new decision
    replaces the old one in the plan, the old one stays in the record marked replaced, and
    the change is audited with both. The plan is re-evaluated, so a changed decision can
    bring back a caution on another drug that then needs its decision again. Once signed:
    409, amend instead."""
    comment = comment.strip()
    alternative = alternative.strip()
    stored = plan.STORED_DECISION.get(decision)
    if stored is None:
        raise DomainError(
            f"Unknown decision '{decision}'. Choose {', '.join(plan.PLAN_DECISIONS)}.",
            field="decision",
        )
    if reason_code and decision not in (plan.OVERRIDE, plan.WITHHOLD):
        raise DomainError(
            "A reason code explains an override or a withheld drug.", field="reason_code"
        )
    _checked_reason(stored, reason_code, comment)
    with transaction.atomic():
        locked = _locked_draft(assessment, expected_revision)
        decisions = list(Acknowledgement.objects.filter(assessment=locked))
        line = plan.plan_decision_check(
            assessment=locked,
            decisions=decisions,
            drug=drug,
            decision=decision,
            alternative=alternative,
            dose_mg=dose_mg,
        )
        return _decision_record(
            actor=actor,
            assessment=locked,
            drug=drug,
            level=line.level,
            decision=stored,
            reason_code=reason_code,
            comment=comment,
            alternative=alternative,
            dose_mg=dose_mg,
            replacing=True,
        )


def _caution_level(assessment: Assessment, drug: str) -> str:
    cautions = json.loads(assessment.cautions_snapshot)["cautions"]
    return next((str(c["level"]) for c in cautions if c["drug"] == drug), "none")


def assessment_sign(
    *, actor: Actor, assessment: Assessment, expected_revision: int | None = None
) -> Assessment:
    """Signs a draft whose plan has a decision for every drug that is contraindicated or
    avoid once re-evaluated over the drugs that will be given, and whose stored evaluation
    holds a caution for every planned drug (else a field error on `drugs` naming them).

    The assessment becomes immutable; it keeps its plan and the hash of its sign event in the
    ledger, whose payload holds the plan's digest.
    """
    if actor.user_id is None:
        raise DomainError("Only a person can sign an assessment.", code="signer-required")
    with transaction.atomic():
        locked = _lock(assessment)
        if locked.is_signed:
            raise ConflictError(f"Assessment {locked.pk} is already signed.", code="signed")
        _check_revision(locked, expected_revision)
        plan.snapshot_complete_check(locked)
        plan.plan_release_check(locked)
        decisions = list(Acknowledgement.objects.filter(assessment=locked))
        signed_plan = plan.plan_evaluate(assessment=locked, decisions=decisions)
        missing = signed_plan.missing
        if missing:
            noun = "caution" if len(missing) == 1 else "cautions"
            raise ConflictError(
                f"Acknowledge the {noun} for {join_names(missing)} before signing.",
                code="acknowledgement-required",
            )
        acknowledged = {row.drug for row in decisions if row.revision == locked.revision}
        plan_text = canonical_json(signed_plan.as_data())
        event = _audit(
            actor,
            Action.SIGN,
            locked,
            acknowledged=sorted(acknowledged),
            plan={line.drug: line.decision for line in signed_plan.lines},
            plan_digest=digest(plan_text),
            # The whole record as signed, from its rows: verification recomputes it.
            record_digest=signed_record_digest(
                locked, plan_text=plan_text, signed_by_id=actor.user_id
            ),
        )
        # One UPDATE while the row is still a draft: the guard triggers reject any later one.
        Assessment.objects.filter(pk=locked.pk, status=AssessmentStatus.DRAFT).update(
            status=AssessmentStatus.SIGNED,
            signed_by_id=actor.user_id,
            signed_at=event.occurred_at,
            sign_event_hash=event.hash,
            plan_snapshot=plan_text,
        )
    return Assessment.objects.select_related(
        "patient", "department", "created_by", "signed_by"
    ).get(pk=locked.pk)


def assessment_amend(*, actor: Actor, assessment: Assessment, reason: str = "") -> Assessment:
    """Starts an amendment of a signed assessment: a new draft with the same inputs that
    supersedes it, evaluated against the patient's current record. The signed one is untouched.
    """
    with transaction.atomic():
        locked = _lock(assessment)
        if not locked.is_signed:
            raise ConflictError(
                f"Assessment {locked.pk} is a draft: edit it instead of amending it.",
                code="draft",
            )
        amendment = Assessment.objects.filter(supersedes=locked).only("pk").first()
        if amendment is not None:
            raise ConflictError(
                f"Assessment {locked.pk} has already been amended by assessment "
                f"{amendment.pk}; change that one.",
                code="already-amended",
            )
        now = timezone.now()
        draft = Assessment(
            patient=locked.patient,
            department_id=locked.department_id,
            planned_at=locked.planned_at,
            procedure=locked.procedure,
            weight_kg=locked.weight_kg,
            drugs=list(locked.drugs),
            status=AssessmentStatus.DRAFT,
            revision=1,
            lineage=locked.lineage,
            supersedes=locked,
            amendment_reason=reason.strip(),
            created_by_id=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        _evaluate_into(draft)
        draft.save(force_insert=True)
        snapshot_rows_store(draft, replace=False)
        _audit(actor, Action.CREATE, draft, supersedes=locked.pk, reason=draft.amendment_reason)
    return draft
