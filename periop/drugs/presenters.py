"""Turns engine results into the JSON of api-contract.md (plain dicts: this is a hot path; a
check's answer places the parts many answers share as JSON written once, `check_answer`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from periop.drugs.engine import DoseGuidance, DoseRange, DrugCaution, Evaluation, Finding, Level
from periop.drugs.engine.matching import remembered_for
from periop.drugs.engine.tuning import Tuning, evaluation_tune
from periop.renderers import json_fragment


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
    return _caution_dict(caution, [finding(item) for item in caution.findings])


def _caution_dict(caution: DrugCaution, findings: list[Any]) -> dict[str, Any]:
    return {
        "drug": caution.drug,
        "drug_class": caution.drug_class,
        "level": caution.level.code,
        "effects": list(caution.effects),
        "conflict": caution.conflict,
        "summary": caution.summary,
        "findings": findings,
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
    cautions = [caution_to_dict(caution, summary=summary) for caution in evaluation.cautions]
    return _evaluation_dict(evaluation, cautions)


def check_answer(
    evaluation: Evaluation, *, summary: bool, tunings: Mapping[str, Sequence[Tuning]]
) -> dict[str, Any]:
    """The body of a check's answer, to be rendered: `evaluation_to_dict` with the department's
    tunings applied. Without tunings in force, each caution is placed as JSON written once per
    card: the engine shares its cards between every patient alike in what the rules found (and
    in weight, for a dose given in mg), so most answers are put together from JSON already
    written, byte for byte what writing the dicts would give. Such a body is for the renderer
    only."""
    if tunings:
        return evaluation_tune(evaluation_to_dict(evaluation, summary=summary), tunings)
    write_caution = _summary_caution_dict if summary else caution_to_dict
    cautions = [_written(caution, summary, write_caution) for caution in evaluation.cautions]
    return _evaluation_dict(evaluation, cautions)


def _summary_caution_dict(caution: DrugCaution) -> dict[str, Any]:
    return caution_to_dict(caution, summary=True)


# JSON written once per card and view; cleared when full.
_WRITTEN_LIMIT = 4096
_WRITTEN: dict[tuple[int, object], tuple[Any, orjson.Fragment]] = {}


def _written(
    caution: DrugCaution, summary: bool, write: Callable[[DrugCaution], dict[str, Any]]
) -> orjson.Fragment:
    return remembered_for(
        _WRITTEN, caution, summary, lambda written: json_fragment(write(written)), _WRITTEN_LIMIT
    )


def _evaluation_dict(evaluation: Evaluation, cautions: list[Any]) -> dict[str, Any]:
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
        "cautions": cautions,
        "assumptions": list(evaluation.assumptions),
    }
