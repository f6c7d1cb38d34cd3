"""The plan summary as the pages show it: one line per drug, read at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from periop.drugs.engine import KnowledgeBase, Level
from periop.web.presenters import LEVEL_LABELS

DECISION_LABELS = {
    "give": "Give as planned",
    "give-adjusted": "Give, adjusted",
    "withhold": "Withhold: will not be given",
    "override": "Give despite the caution (override)",
}


@dataclass(frozen=True, slots=True)
class PlanRow:
    drug: str
    drug_name: str
    level: str
    level_label: str
    original_level_label: str
    decision: str
    decision_label: str
    dose: str
    monitoring: str
    level_change: str
    needs_decision: bool
    given: bool


def _range(value: Mapping[str, str] | None, unit: str) -> str:
    if not value:
        return ""
    low, high = value["min"], value["max"]
    return f"{low} {unit}" if low == high else f"{low} to {high} {unit}"


def _dose(line: Mapping[str, Any]) -> str:
    if line.get("decision") == "withhold":
        return "Not given"
    if line.get("dose_mg"):
        return f"{line['dose_mg']} mg (decided)"
    dose = line.get("dose") or {}
    return _range(dose.get("total_mg"), "mg") or _range(dose.get("per_kg_mg"), "mg/kg") or "—"


def _first_sentence(text: str) -> str:
    text = text.strip()
    end = text.find(". ")
    return text if end == -1 else text[: end + 1]


def plan_rows(knowledge_base: KnowledgeBase, plan: Sequence[Mapping[str, Any]]) -> list[PlanRow]:
    rows = []
    for line in plan:
        drug = knowledge_base.drugs.get(line["drug"])
        decision = line.get("decision") or ""
        label = DECISION_LABELS.get(decision, "")
        if decision == "withhold" and line.get("alternative"):
            alternative = knowledge_base.drugs.get(line["alternative"])
            label += f"; instead: {alternative.name if alternative else line['alternative']}"
        if not decision:
            label = "To decide before signing" if line.get("needs_decision") else "Not decided"
        elif line.get("decision_outdated"):
            label = f"Decide again before signing: “{label}” no longer fits the plan"
        if line.get("alternative_for"):
            replaced = knowledge_base.drugs.get(line["alternative_for"])
            name = replaced.name if replaced else line["alternative_for"]
            label = f"Give instead of {name}"
        rows.append(
            PlanRow(
                drug=line["drug"],
                drug_name=drug.name if drug else line["drug"],
                level=line["level"],
                level_label=LEVEL_LABELS.get(line["level"], line["level"]),
                original_level_label=LEVEL_LABELS.get(
                    line["original_level"], line["original_level"]
                ),
                decision=decision,
                decision_label=label,
                dose=_dose(line),
                monitoring=""
                if decision == "withhold"
                else _first_sentence(line.get("monitoring") or ""),
                level_change=line.get("level_change") or "",
                needs_decision=bool(line.get("needs_decision")),
                given=decision != "withhold",
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class PlanHighest:
    """The highest caution among the drugs the plan gives (withheld ones left out), shown
    beside the original evaluation's so that neither is read as the other."""

    level: str
    label: str


def plan_highest(rows: Sequence[PlanRow]) -> PlanHighest | None:
    """None when the plan gives nothing at all."""
    given = [row.level for row in rows if row.given]
    if not given:
        return None
    level = max(given, key=Level.from_code)
    return PlanHighest(level=level, label=LEVEL_LABELS.get(level, level))


def alternative_choices(
    knowledge_base: KnowledgeBase, drug: str, planned: Sequence[str]
) -> list[tuple[str, str]]:
    """Drugs that could replace a withheld one: the other neuromuscular blockers for a
    blocker, otherwise the drugs of its class; never one already planned. The plan service
    refuses any that is itself contraindicated or avoid for the patient."""
    definition = knowledge_base.drugs.get(drug)
    if definition is None:
        return []
    if "nmba" in definition.groups:
        related = [d for d in knowledge_base.drugs.values() if "nmba" in d.groups]
    else:
        related = [
            d for d in knowledge_base.drugs.values() if d.drug_class == definition.drug_class
        ]
    return sorted(
        ((d.code, d.name) for d in related if d.code != drug and d.code not in planned),
        key=lambda choice: choice[1],
    )
