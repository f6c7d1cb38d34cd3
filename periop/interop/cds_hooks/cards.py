"""CDS Hooks cards from an engine evaluation: one card per targeted drug at monitor or above,
and one `info` card per targeted order whose drug could not be identified.

The client's department's signed-off tunings apply as they do to its checks: a raised level
raises the card, a monitor lowered to none leaves no card, local text is added. A tuned card
says so in its detail and carries the extension `TUNING_EXTENSION` with the tunings' ids.

Every element carries a value (CDS Hooks 2.0.1 forbids null and empty ones); every card and
suggestion has a uuid, for feedback.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from periop.assessments.models import ReasonCode
from periop.drugs.engine import DoseGuidance, DrugCaution, Evaluation, KnowledgeBase, Level
from periop.drugs.engine.tuning import Tuning, tune_cautions
from periop.interop import systems
from periop.interop.cds_hooks.fhir_input import DraftOrder

OVERRIDE_REASON_SYSTEM = systems.OVERRIDE_REASON
TOPIC_SYSTEM = systems.CARD_TOPIC
SUMMARY_LIMIT = 139  # CDS Hooks: a summary of fewer than 140 characters
TUNING_EXTENSION = systems.TUNING_EXTENSION

INDICATORS = {
    Level.CONTRAINDICATED: "critical",
    Level.AVOID: "critical",
    Level.ADJUST: "warning",
    Level.MONITOR: "info",
}
LEVEL_LABELS = {
    Level.CONTRAINDICATED: "Contraindicated",
    Level.AVOID: "Avoid",
    Level.ADJUST: "Adjust",
    Level.MONITOR: "Monitor",
}


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card as sent, with what the ledger and the feedback check keep of it."""

    uuid: str
    drug: str
    level: str
    body: dict[str, Any]


def override_reasons() -> list[dict[str, str]]:
    """Periop's closed list of override reasons, as CDS Hooks Codings with their display."""
    return [
        {"system": OVERRIDE_REASON_SYSTEM, "code": code, "display": str(label)}
        for code, label in ReasonCode.choices
    ]


def summary_text(text: str) -> str:
    """`text` in fewer than 140 characters, cut at a word with an ellipsis when longer."""
    text = " ".join(text.split())
    if len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _dose_text(dose: DoseGuidance) -> str:
    text = dose.text
    if dose.total_mg is not None:
        low, high = _decimal(dose.total_mg.minimum), _decimal(dose.total_mg.maximum)
        text += f" For this patient's weight: {low if low == high else f'{low} to {high}'} mg."
    if dose.only_after_override:
        text = "Only if given after an override: " + text
    return text


def _dose_lines(caution: DrugCaution) -> list[str]:
    if caution.dose is None:
        return []
    return ["", f"**Dose:** {_dose_text(caution.dose)}"]


def _tuned(
    evaluation: Evaluation | None, tunings: Mapping[str, Sequence[Tuning]]
) -> dict[str, dict[str, Any]]:
    """The cautions the tunings changed, by drug, as `tune_cautions` gives them (the same
    function the department's checks and assessments go through)."""
    if evaluation is None or not tunings:
        return {}
    cautions = [
        {
            "drug": caution.drug,
            "level": caution.level.code,
            "findings": [
                {"rule": finding.rule, "level": finding.level.code} for finding in caution.findings
            ],
        }
        for caution in evaluation.cautions
    ]
    return {
        caution["drug"]: caution
        for caution in tune_cautions(cautions, tunings)
        if caution.get("locally_tuned")
    }


def _marks(tuned: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (finding["rule"], mark)
        for finding in tuned["findings"]
        for mark in finding.get("locally_tuned", ())
    ]


def _tuning_ids(tuned: Mapping[str, Any]) -> list[int]:
    return sorted({mark["tuning"] for _, mark in _marks(tuned) if mark.get("tuning") is not None})


def _tuning_lines(tuned: Mapping[str, Any]) -> list[str]:
    lines = []
    for rule, mark in _marks(tuned):
        if "text" in mark:
            change = f"rule `{rule}`: {mark['text']}"
        else:
            change = f"rule `{rule}` {mark['from_level']} to {mark['to_level']}"
        signed = ", ".join(mark.get("signed_by", ())) or "not recorded"
        lines.append(f"{change} (why: {mark['why']}; signed off by {signed})")
    return lines


def _bullets(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    return ["", f"**{title}**", *(f"- {item}" for item in items)]


class CardBuilder:
    """Builds the cards of one call; the same input gives the same content (not the uuids)."""

    def __init__(
        self,
        *,
        kb: KnowledgeBase,
        evaluation: Evaluation | None,
        source_url: str,
        conditions_considered: Sequence[str],
        medications_considered: Sequence[str],
        observations_considered: Sequence[str],
        assumptions: Sequence[str],
        tunings: Mapping[str, Sequence[Tuning]] | None = None,
        patient_id: str = "",
        warnings: Sequence[str] = (),
    ) -> None:
        self.kb = kb
        # Allowed but unlikely inputs (a weight implausible for the age), shown beside the dose.
        self.warnings = warnings
        self.patient_id = patient_id
        self.tuned = _tuned(evaluation, tunings or {})
        self.evaluation = evaluation
        self.source = {
            "label": f"Periop NMJ drug cautions, knowledge base {kb.version}",
            "url": source_url,
            "topic": {
                "system": TOPIC_SYSTEM,
                "code": "nmj-drug-condition",
                "display": "Neuromuscular-junction drug caution",
            },
        }
        self.conditions_considered = conditions_considered
        self.medications_considered = medications_considered
        self.observations_considered = observations_considered
        self.assumptions = assumptions

    def cards(self, targets: Sequence[DraftOrder]) -> list[IssuedCard]:
        """One card per targeted drug at monitor or above, then one per unmapped order."""
        cautions = {c.drug: c for c in self.evaluation.cautions} if self.evaluation else {}
        issued = []
        for drug in dict.fromkeys(order.drug for order in targets if order.drug):
            caution = cautions.get(drug)
            if caution is None:
                continue
            tuned = self.tuned.get(drug)
            level = Level.from_code(tuned["level"]) if tuned else caution.level
            if level >= Level.MONITOR:
                orders = [order for order in targets if order.drug == drug]
                issued.append(self._caution_card(caution, level, orders, tuned))
        issued += [self._unchecked_card(order) for order in targets if order.drug is None]
        return issued

    def _caution_card(
        self,
        caution: DrugCaution,
        level: Level,
        orders: Sequence[DraftOrder],
        tuned: Mapping[str, Any] | None,
    ) -> IssuedCard:
        name = self.kb.drugs[caution.drug].name
        label = LEVEL_LABELS[level]
        card_uuid = str(uuid.uuid4())
        body: dict[str, Any] = {
            "uuid": card_uuid,
            "summary": summary_text(f"{label}: {name}. {caution.summary}"),
            "indicator": INDICATORS[level],
            "detail": self._detail(caution, name, label, tuned),
            "source": self.source,
            "overrideReasons": override_reasons(),
        }
        if tuned:
            body["extension"] = {
                TUNING_EXTENSION: {
                    "tunings": _tuning_ids(tuned),
                    "levelBeforeTuning": caution.level.code,
                    "level": level.code,
                }
            }
        removable = [order for order in orders if order.reference]
        if level >= Level.AVOID and removable:
            deletions = [
                {
                    "type": "delete",
                    "description": f"Remove the draft order {order.label}.",
                    "resourceId": order.reference,
                }
                for order in removable
            ]
            body["selectionBehavior"] = "at-most-one"
            body["suggestions"] = [
                {
                    "label": summary_text(f"Remove the {name} order"),
                    "uuid": str(uuid.uuid4()),
                    "actions": deletions,
                },
                *self._replacements(caution, deletions),
            ]
        return IssuedCard(uuid=card_uuid, drug=caution.drug, level=level.code, body=body)

    def _replacements(
        self, caution: DrugCaution, deletions: list[dict[str, str]]
    ) -> list[dict[str, Any]]:
        """One suggestion per alternative the engine offers: remove the order, and create a
        draft proposal for the alternative with its own dose guidance for this patient."""
        if not self.patient_id or self.evaluation is None:
            return []
        guidance = {item.drug: item for item in self.evaluation.alternative_cautions}
        suggestions = []
        for code in caution.alternatives:
            alternative = guidance.get(code)
            if alternative is None:
                continue  # the engine offers only what it has rated for this patient
            name = self.kb.drugs[code].name
            suggestions.append(
                {
                    "label": summary_text(f"Replace with {name}"),
                    "uuid": str(uuid.uuid4()),
                    "actions": [
                        *deletions,
                        {
                            "type": "create",
                            "description": f"Add a draft order for {name}.",
                            "resource": self._proposal(code, alternative),
                        },
                    ],
                }
            )
        return suggestions

    def _proposal(self, code: str, caution: DrugCaution) -> dict[str, Any]:
        """A draft MedicationRequest for `code`, coded in ATC where the knowledge base has it."""
        drug = self.kb.drugs[code]
        codings = [
            {"system": systems.ATC, "code": drug.atc, "display": drug.name} if drug.atc else None,
            {"system": systems.DRUG_CODE, "code": code, "display": drug.name},
        ]
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "subject": {"reference": f"Patient/{self.patient_id}"},
            "medicationCodeableConcept": {
                "coding": [coding for coding in codings if coding],
                "text": drug.name,
            },
        }
        if caution.dose is not None:
            resource["dosageInstruction"] = [{"text": _dose_text(caution.dose)}]
        return resource

    def _detail(
        self, caution: DrugCaution, name: str, label: str, tuned: Mapping[str, Any] | None
    ) -> str:
        lines = [f"**{label}: {name}.** {caution.summary}"]
        if caution.instead:
            lines += ["", caution.instead]
        reasons = [
            f"{finding.summary} (rule `{finding.rule}`"
            + (", unconfirmed" if finding.unconfirmed else "")
            + ")"
            for finding in caution.findings
        ]
        lines += _bullets("Reasons", reasons)
        if tuned:
            lines += _bullets("Tuned locally by this department", _tuning_lines(tuned))
        lines += [line for warning in self.warnings for line in ("", f"**Check:** {warning}")]
        lines += _dose_lines(caution)
        if caution.monitoring:
            lines += ["", f"**Monitoring:** {caution.monitoring}"]
        if caution.reversal:
            lines += ["", f"**Reversal:** {caution.reversal}"]
        patient_level = self.evaluation.assumptions if self.evaluation else ()
        assumptions = dict.fromkeys([*self.assumptions, *patient_level, *caution.assumptions])
        lines += _bullets("Assumptions", list(assumptions))
        lines += self._considered()
        return "\n".join(lines)

    def _considered(self) -> list[str]:
        conditions = list(self.conditions_considered) or [
            "none that the knowledge base covers is recorded"
        ]
        lines = _bullets("Conditions taken into account", conditions)
        lines += _bullets("Medications taken into account", list(self.medications_considered))
        if self.observations_considered:
            lines += _bullets("Observations taken into account", self.observations_considered)
            lines += [
                "",
                "Each is the latest final, amended or corrected result; no age limit is "
                "applied, so check its date.",
            ]
        version = self.kb.version
        lines += ["", f"Knowledge base {version} (`{self.kb.digest[:19]}`)."]
        return lines

    def _unchecked_card(self, order: DraftOrder) -> IssuedCard:
        card_uuid = str(uuid.uuid4())
        named = f"{order.label} (`{order.reference}`)" if order.reference else order.label
        body = {
            "uuid": card_uuid,
            "summary": summary_text(f"Not checked: {order.label} has no drug code Periop knows"),
            "indicator": "info",
            "detail": (
                f"The draft order {named} carries no ATC code that "
                "the knowledge base knows, so Periop did not check it against the patient's "
                "neuromuscular-junction conditions. Its absence of cautions means nothing: check "
                "it by hand or send it with its ATC code."
            ),
            "source": self.source,
        }
        return IssuedCard(uuid=card_uuid, drug="", level="unchecked", body=body)
