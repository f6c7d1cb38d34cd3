"""Turns engine results into the JSON of api-contract.md (plain dicts: this is a hot path)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from periop.drugs.engine import DoseGuidance, DoseRange, DrugCaution, Evaluation, Finding, Level


def _decimal(value: Decimal) -> str:
    # Doses travel as strings: no float rounding between databases, hashes and clients.
    return format(value.normalize(), "f")


def _range(value: DoseRange | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"min": _decimal(value.minimum), "max": _decimal(value.maximum)}


def dose_to_dict(dose: DoseGuidance | None) -> dict[str, Any] | None:
    if dose is None:
        return None
    return {
        "text": dose.text,
        "rule": dose.rule,
        "per_kg_mg": _range(dose.per_kg_mg),
        "total_mg": _range(dose.total_mg),
        "max_mg": None if dose.max_mg is None else _decimal(dose.max_mg),
        # v1.1, additive: the dose applies only if the drug is given after an override.
        "only_after_override": dose.only_after_override,
    }


def finding_summary_to_dict(finding: Finding) -> dict[str, Any]:
    """A finding without its rationale and references (`?view=summary`)."""
    return {
        "rule": finding.rule,
        "level": finding.level.code,
        "effects": list(finding.effects),
        "triggered_by": list(finding.triggered_by),
        "summary": finding.summary,
        "unconfirmed": finding.unconfirmed,
    }


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "level": finding.level.code,
        "effects": list(finding.effects),
        "triggered_by": list(finding.triggered_by),
        "summary": finding.summary,
        "rationale": finding.rationale,
        "references": list(finding.references),
        "unconfirmed": finding.unconfirmed,
    }


def caution_to_dict(caution: DrugCaution, *, summary: bool = False) -> dict[str, Any]:
    finding = finding_summary_to_dict if summary else finding_to_dict
    return {
        "drug": caution.drug,
        "drug_class": caution.drug_class,
        "level": caution.level.code,
        "effects": list(caution.effects),
        "conflict": caution.conflict,
        "summary": caution.summary,
        "findings": [finding(item) for item in caution.findings],
        "dose": dose_to_dict(caution.dose),
        "monitoring": caution.monitoring,
        "reversal": caution.reversal,
        "assumptions": list(caution.assumptions),
        # v1.1, additive: what an avoid or contraindicated card leads with, and that its dose,
        # monitoring and reversal apply only if the drug is given after an override.
        "instead": caution.instead,
        "only_after_override": caution.level >= Level.AVOID,
        # Additive: on an avoid or contraindicated caution, the drug codes to give instead.
        "alternatives": list(caution.alternatives),
    }


def evaluation_to_dict(evaluation: Evaluation, *, summary: bool = False) -> dict[str, Any]:
    """The response body of a check, exactly as the REST contract specifies; with `summary`,
    the findings leave out their rationale and references (`?view=summary`)."""
    receptor_state = evaluation.receptor_state
    return {
        "knowledge_base": {
            "version": evaluation.knowledge_base_version,
            "digest": evaluation.knowledge_base_digest,
        },
        "at": evaluation.at.isoformat(),
        "receptor_state": {
            "value": receptor_state.value,
            "overridden": receptor_state.overridden,
            "derived": receptor_state.derived,
            "sources": [
                {"condition": source.condition, "effect": source.effect}
                for source in receptor_state.sources
            ],
        },
        "highest_level": evaluation.highest_level.code,
        "cautions": [caution_to_dict(caution, summary=summary) for caution in evaluation.cautions],
        "assumptions": list(evaluation.assumptions),
    }
