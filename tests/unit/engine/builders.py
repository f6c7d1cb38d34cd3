"""Builders for the engine tests: a small synthetic knowledge base written as TOML, and patients."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from periop.drugs.engine import (
    ConditionInput,
    DrugCaution,
    KnowledgeBase,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)

AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(value: Any) -> str:
    """One value as inline TOML (enough of TOML for these fixtures)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"No TOML for {value!r}")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def toml_document(document: dict[str, Any]) -> str:
    """A document whose top-level values are scalars, tables or arrays of tables."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in document.items() if _is_inline(v)]
    for key, value in document.items():
        if isinstance(value, dict):
            lines += ["", f"[{toml_key(key)}]"]
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for table in value:
                lines += ["", f"[[{toml_key(key)}]]"]
                lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _is_inline(value: Any) -> bool:
    if isinstance(value, dict):
        return False
    return not (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))


BASE_DOCUMENTS: dict[str, dict[str, Any]] = {
    "release.toml": {
        "release": {
            "version": "2026.11.0",
            "released_on": dt.date(2026, 11, 22),
            "developer": "Test developer",
            "funding_source": "Test funding",
            "status": "test fixture",
            "description": "Synthetic knowledge base for engine tests.",
        },
        "guidance": {
            "neuromuscular_monitoring": {
                "text": "Quantitative TOF for every blocker.",
                "references": ["R1"],
            }
        },
    },
    "references.toml": {
        "references": [
            {
                "id": "R1",
                "citation": "Reference one.",
                "url": "https://example.org/1",
                "what_read": "All of it.",
            },
            {
                "id": "R2",
                "citation": "Reference two.",
                "url": "doi:10.0/2",
                "what_read": "The abstract.",
            },
        ]
    },
    "drugs.toml": {
        "groups": [
            {"code": "nmba", "name": "Neuromuscular blockers"},
            {"code": "aminosteroid", "name": "Aminosteroids"},
            {"code": "aminoglycoside", "name": "Aminoglycosides"},
        ],
        "drugs": [
            {
                "code": "succinylcholine",
                "name": "Succinylcholine",
                "drug_class": "depolarizing-blocker",
                "groups": ["nmba"],
                "atc": "M03AB01",
            },
            {
                "code": "rocuronium",
                "name": "Rocuronium",
                "drug_class": "nondepolarizing-blocker",
                "groups": ["nmba", "aminosteroid"],
                "atc": "M03AC09",
            },
            {
                "code": "vecuronium",
                "name": "Vecuronium",
                "drug_class": "nondepolarizing-blocker",
                "groups": ["nmba", "aminosteroid"],
            },
            {
                "code": "gentamicin",
                "name": "Gentamicin",
                "drug_class": "antibiotic",
                "groups": ["aminoglycoside"],
            },
            {
                "code": "tobramycin",
                "name": "Tobramycin",
                "drug_class": "antibiotic",
                "groups": ["aminoglycoside"],
            },
            {"code": "sugammadex", "name": "Sugammadex", "drug_class": "reversal-agent"},
            {"code": "phenytoin", "name": "Phenytoin", "drug_class": "anticonvulsant"},
            {"code": "pyridostigmine", "name": "Pyridostigmine", "drug_class": "chronic-nmj-drug"},
            {"code": "magnesium-sulfate", "name": "Magnesium sulfate", "drug_class": "magnesium"},
        ],
    },
    "conditions.toml": {
        "conditions": [
            {
                "code": "burn",
                "name": "Burn injury",
                "mechanism_site": "receptor-regulation",
                "receptor_effect": "up",
                "receptor_effect_from_hours": 24,
                "references": ["R1"],
                "resolved_means": "wounds healed",
                "attributes": {
                    "tbsa_percent": {
                        "type": "number",
                        "min": 0,
                        "max": 100,
                        "unit": "%",
                        "label": "Total body surface area burned",
                    },
                },
            },
            {
                "code": "myasthenia-gravis",
                "name": "Myasthenia gravis",
                "mechanism_site": "postsynaptic",
                "receptor_effect": "down",
                "references": ["R1", "R2"],
                "snomed": "91637004",
                "icd10cm": ["G70.00"],
                "attributes": {
                    "antibody": {
                        "type": "choice",
                        "label": "Antibody",
                        "choices": ["achr", "musk", "seronegative", "unknown"],
                        "unknown": "unknown",
                    },
                    "distribution": {
                        "type": "choice",
                        "label": "Distribution",
                        "choices": ["generalized", "ocular"],
                        "default": "generalized",
                    },
                    "in_remission": {"type": "boolean", "label": "In remission"},
                },
            },
            {
                "code": "stroke",
                "name": "Stroke",
                "mechanism_site": "receptor-regulation",
                "receptor_effect": "up",
                "receptor_effect_from_hours": 72,
                "references": ["R2"],
                "attributes": {
                    "motor_deficit": {"type": "boolean", "label": "Motor deficit", "default": True},
                },
                "receptor_effect_overrides": [
                    {"attributes": {"motor_deficit": [False]}, "effect": "none"},
                ],
            },
            {
                "code": "spinal-cord-injury",
                "name": "Spinal cord injury",
                "mechanism_site": "receptor-regulation",
                "receptor_effect": "up",
                "references": ["R2"],
                "attributes": {
                    "motor_deficit": {"type": "boolean", "label": "Motor deficit"},
                },
                "receptor_effect_overrides": [
                    {"attributes": {"motor_deficit": [False]}, "effect": "none"},
                ],
            },
            {
                "code": "renal-impairment",
                "name": "Renal impairment",
                "mechanism_site": "none",
                "receptor_effect": "none",
                "references": ["R2"],
                "attributes": {
                    "crcl_ml_min": {
                        "type": "number",
                        "min": 0,
                        "label": "Creatinine clearance",
                        "unit": "mL/min",
                    },
                },
            },
        ]
    },
    "rules/base.toml": {"rules": []},
}

# The synthetic items stop counting the moment they resolve or stop, unless a test says otherwise.
IMMEDIATE_AFTERMATH = {
    "aftermath_hours": 0,
    "aftermath_references": ["R1"],
    "aftermath_basis": "Reference one says the effect ends at once.",
}
for _item in (
    *BASE_DOCUMENTS["drugs.toml"]["drugs"],
    *BASE_DOCUMENTS["conditions.toml"]["conditions"],
):
    _item.update(IMMEDIATE_AFTERMATH)


def make_rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    """A complete rule table; `fields` override the defaults (a None value removes the key)."""
    rule: dict[str, Any] = {
        "id": rule_id,
        "drugs": ["rocuronium"],
        "level": "monitor",
        "effects": [],
        "summary": f"Summary of {rule_id}.",
        "rationale": f"Rationale of {rule_id}.",
        "references": ["R1"],
        "evidence": "B: R1",
    }
    if "phases" in fields:
        del rule["level"], rule["effects"]
    rule.update(fields)
    return {key: value for key, value in rule.items() if value is not None}


class KnowledgeFiles:
    """The synthetic knowledge base as parsed documents; change them, then `load()`."""

    def __init__(self, root: Path) -> None:
        self.directory = root / "knowledge"
        self.documents = copy.deepcopy(BASE_DOCUMENTS)

    def add_rule(
        self, rule_id: str, file: str = "rules/base.toml", **fields: Any
    ) -> dict[str, Any]:
        rule = make_rule(rule_id, **fields)
        self.documents.setdefault(file, {"rules": []})["rules"].append(rule)
        return rule

    def condition(self, code: str) -> dict[str, Any]:
        return next(c for c in self.documents["conditions.toml"]["conditions"] if c["code"] == code)

    def drug(self, code: str) -> dict[str, Any]:
        return next(d for d in self.documents["drugs.toml"]["drugs"] if d["code"] == code)

    def write(self, mark_unused: bool = True) -> Path:
        """Writes the files; by default an attribute that no rule here uses is marked
        informational, since the loader refuses a silently unused attribute."""
        (self.directory / "rules").mkdir(parents=True, exist_ok=True)
        if mark_unused:
            self._mark_unused_attributes()
        for relative, document in self.documents.items():
            (self.directory / relative).write_text(toml_document(document), encoding="utf-8")
        return self.directory

    def load(self, mark_unused: bool = True) -> KnowledgeBase:
        return load_knowledge_base(self.write(mark_unused))

    def _mark_unused_attributes(self) -> None:
        used: dict[str, set[str]] = {}
        for relative, document in self.documents.items():
            if relative.startswith("rules/"):
                for rule in document.get("rules", []):
                    when = rule.get("when", {})
                    for code in when.get("conditions", []):
                        used.setdefault(code, set()).update(when.get("attributes", {}))
        for condition in self.documents["conditions.toml"]["conditions"]:
            named = set(used.get(condition["code"], set()))
            for override in condition.get("receptor_effect_overrides", []):
                named.update(override["attributes"])
            for implication in condition.get("implications", []):
                named.update(implication["when"])
                named.update(implication["then"])
            for conversion in condition.get("conversions", []):
                named.update((conversion["from"], conversion["to"]))
            for name, attribute in condition.get("attributes", {}).items():
                if name not in named and "informational" not in attribute:
                    attribute["informational"] = "Used by no rule of this test knowledge base."


def state(
    *conditions: ConditionInput,
    medications: tuple[MedicationInput, ...] = (),
    weight_kg: Decimal | None = None,
    receptor_state: str | None = None,
) -> PatientState:
    return PatientState(
        conditions=conditions,
        medications=medications,
        weight_kg=weight_kg,
        receptor_state_override=receptor_state,
    )


def hours_before(hours: float, at: dt.datetime = AT) -> dt.datetime:
    return at - dt.timedelta(hours=hours)


def caution_for(kb: KnowledgeBase, patient: PatientState, drug: str, *others: str) -> DrugCaution:
    """The caution for `drug` when it is planned with `others`, evaluated at AT."""
    return evaluate(patient, (drug, *others), AT, kb).cautions[0]
