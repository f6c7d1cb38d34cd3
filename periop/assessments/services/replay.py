"""Replay: an assessment re-evaluated on the knowledge-base release it was evaluated under,
compared drug by drug with what it showed (level, findings, dose)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from periop.api import ConflictError
from periop.assessments.models import Assessment
from periop.assessments.services.plan import state_from_inputs
from periop.drugs.engine import KnowledgeBase, evaluate
from periop.drugs.engine.tuning import evaluation_tune
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.registry import ReleaseUnavailable, knowledge_base_for_digest
from periop.drugs.tunings import tunings_by_id


def _findings(card: dict[str, Any]) -> dict[str, str]:
    return {finding["rule"]: finding["level"] for finding in card.get("findings", ())}


def cautions_compare(
    recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each difference between two lists of cautions, per drug: the level, the findings
    (rule and level) and the dose."""
    before = {card["drug"]: card for card in recorded}
    after = {card["drug"]: card for card in replayed}
    differences: list[dict[str, Any]] = []
    for drug in [*before, *(drug for drug in after if drug not in before)]:
        old, new = before.get(drug), after.get(drug)
        if old is None or new is None:
            differences.append(
                {
                    "drug": drug,
                    "field": "caution",
                    "recorded": None if old is None else old["level"],
                    "replayed": None if new is None else new["level"],
                }
            )
            continue
        if old["level"] != new["level"]:
            differences.append(
                {"drug": drug, "field": "level", "recorded": old["level"], "replayed": new["level"]}
            )
        old_findings, new_findings = _findings(old), _findings(new)
        differences.extend(
            {
                "drug": drug,
                "field": "finding",
                "rule": rule,
                "recorded": old_findings.get(rule),
                "replayed": new_findings.get(rule),
            }
            for rule in sorted(old_findings.keys() | new_findings.keys())
            if old_findings.get(rule) != new_findings.get(rule)
        )
        if old.get("dose") != new.get("dose"):
            differences.append(
                {
                    "drug": drug,
                    "field": "dose",
                    "recorded": old.get("dose"),
                    "replayed": new.get("dose"),
                }
            )
    return differences


def assessment_reevaluate(assessment: Assessment, kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The assessment's inputs as evaluated, evaluated again on `kb` with the local tunings
    its snapshot names (the same ones, whatever is in force today): its cautions."""
    inputs = json.loads(assessment.inputs_snapshot)
    at = dt.datetime.fromisoformat(inputs["at"])
    evaluation = evaluate(state_from_inputs(inputs), tuple(inputs["drugs"]), at, kb)
    applied = json.loads(assessment.cautions_snapshot).get("tunings", [])
    body = evaluation_tune(evaluation_to_dict(evaluation), tunings_by_id(applied))
    cautions: list[dict[str, Any]] = body["cautions"]
    return cautions


def assessment_replay(assessment: Assessment) -> dict[str, Any]:
    """The assessment replayed on its own release: identical, or each difference."""
    try:
        kb = knowledge_base_for_digest(assessment.knowledge_base_digest)
    except ReleaseUnavailable as error:
        raise ConflictError(str(error), code="release_unavailable") from error
    recorded = json.loads(assessment.cautions_snapshot)["cautions"]
    differences = cautions_compare(recorded, assessment_reevaluate(assessment, kb))
    return {
        "assessment": assessment.pk,
        "status": assessment.status,
        "knowledge_base": {"version": kb.version, "digest": kb.digest},
        "identical": not differences,
        "differences": differences,
    }
