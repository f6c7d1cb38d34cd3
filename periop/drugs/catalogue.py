"""The knowledge base as JSON for `GET /api/v1/knowledge-base` (built once per version).

It carries the ONC source attributes (citation, developer, funding source, release and revision
dates) so every caution can be traced to what produced it.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from periop.drugs.code_systems import code_mappings
from periop.drugs.engine import AttributeConstraint, KnowledgeBase
from periop.drugs.engine.aftermath import Aftermath
from periop.drugs.registry import get_knowledge_base


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, tuple | list | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _constraint(constraint: AttributeConstraint) -> dict[str, Any]:
    """An attribute constraint as allowed values or an inclusive number range."""
    if constraint.values is not None:
        return {"values": list(constraint.values)}
    return {"min": _plain(constraint.minimum), "max": _plain(constraint.maximum)}


@functools.lru_cache(maxsize=4)
def _catalogue_for(digest: str, kb: KnowledgeBase) -> dict[str, Any]:
    release = kb.release
    return {
        "version": kb.version,
        "digest": kb.digest,
        "release_date": release.released_on.isoformat(),
        "revised_on": release.revised_on.isoformat() if release.revised_on else None,
        "developer": release.developer,
        "funding_source": release.funding_source,
        "status": release.status,
        "description": release.description,
        "conditions": [
            {
                "code": condition.code,
                "name": condition.name,
                "mechanism_site": condition.mechanism_site,
                "receptor_effect": condition.receptor_effect,
                "snomed": condition.snomed,
                "snomed_when": {
                    name: list(values) for name, values in condition.snomed_when.items()
                }
                or None,
                "icd10cm": list(condition.icd10cm),
                "onset_means": condition.onset_means,
                "resolved_means": condition.resolved_means,
                "references": list(condition.references),
                "aftermath": aftermath_to_dict(condition.aftermath),
                "attributes": {
                    name: {
                        "type": attribute.type,
                        "label": attribute.label,
                        "choices": list(attribute.choices) if attribute.choices else None,
                        "default": attribute.default,
                        "unknown": attribute.unknown,
                        "min": _plain(attribute.minimum),
                        "max": _plain(attribute.maximum),
                        "unit": attribute.unit,
                        "informational": attribute.informational is not None,
                        "informational_reason": attribute.informational,
                    }
                    for name, attribute in condition.attributes.items()
                },
                "implications": [
                    {
                        "when": {
                            name: _constraint(constraint)
                            for name, constraint in implication.when.items()
                        },
                        "attribute": implication.attribute,
                        "values": list(implication.values),
                        "reason": implication.reason,
                        "references": list(implication.references),
                    }
                    for implication in condition.implications
                ],
                "conversions": [
                    {
                        "from": conversion.source,
                        "to": conversion.to,
                        "factor": _plain(conversion.factor),
                        "round_to": _plain(conversion.round_to),
                        "tolerance": _plain(conversion.tolerance),
                        "reason": conversion.reason,
                        "references": list(conversion.references),
                    }
                    for conversion in condition.conversions
                ],
            }
            for condition in kb.conditions.values()
        ],
        "drugs": [
            {
                "code": drug.code,
                "name": drug.name,
                "drug_class": drug.drug_class,
                "groups": list(drug.groups),
                "atc": drug.atc,
                "synonyms": list(drug.synonyms),
                "aftermath": aftermath_to_dict(drug.aftermath),
            }
            for drug in kb.drugs.values()
        ],
        "rules": [rule_to_dict(rule) for rule in kb.rules],
        # External codes (FHIR system URIs) to knowledge-base codes, as CDS Hooks reads them.
        "code_mappings": code_mappings(kb),
        "references": [
            {
                "id": reference.id,
                "citation": reference.citation,
                "url": reference.url,
                "identifier": reference.identifier,
                "what_read": reference.what_read,
            }
            for reference in kb.references.values()
        ],
    }


def aftermath_to_dict(aftermath: Aftermath) -> dict[str, Any]:
    """How long an item counts as active after it resolves or stops, and on what source."""
    return {
        "kind": aftermath.kind,
        "hours": _plain(aftermath.hours),
        "references": list(aftermath.references),
        "basis": aftermath.basis,
    }


def rule_to_dict(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "drugs": list(rule.drugs),
        "level": rule.level.code if rule.level is not None else None,
        "effects": list(rule.effects),
        "summary": rule.summary,
        "rationale": rule.rationale,
        "references": list(rule.references),
        "evidence": rule.evidence,
        "unconfirmed": rule.unconfirmed,
        "uses_demographics": list(rule.uses_demographics),
        "phases": [
            {
                "from_hours": _plain(phase.from_hours),
                "to_hours": _plain(phase.to_hours),
                "since": phase.since,
                "until": phase.until,
                "status": phase.status,
                "level": phase.level.code,
                "effects": list(phase.effects),
                "summary": phase.summary,
                "unconfirmed": rule.unconfirmed if phase.unconfirmed is None else phase.unconfirmed,
            }
            for phase in rule.phases
        ],
        "alternatives": [
            {
                "drug": alternative.drug,
                "references": list(alternative.references),
                "present": list(alternative.present),
            }
            for alternative in rule.alternatives
        ],
        "source_file": rule.source_file,
    }


def knowledge_base_catalogue() -> dict[str, Any]:
    """The active knowledge base as the REST contract describes it."""
    kb = get_knowledge_base()
    return _catalogue_for(kb.digest, kb)
