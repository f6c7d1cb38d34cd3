"""What the pages show: knowledge-base codes turned into names, citations and plain words."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from periop.drugs.engine import KnowledgeBase, Level, ReceptorState

LEVEL_LABELS = {
    "contraindicated": "Contraindicated",
    "avoid": "Avoid",
    "adjust": "Adjust dose",
    "monitor": "Monitor",
    "none": "No specific caution",
}
LEVEL_MEANINGS = {
    "contraindicated": "Do not give.",
    "avoid": "Avoid unless there is no reasonable alternative; an override needs a reason.",
    "adjust": "Usable with the dose change below; quantitative monitoring is mandatory.",
    "monitor": "Standard dosing; enhanced monitoring needed.",
    "none": "Nothing specific to this patient's record.",
}
EFFECT_LABELS = {
    "increased_sensitivity": "increased sensitivity",
    "resistance": "resistance",
    "prolonged": "prolonged block",
    "hyperkalemia": "hyperkalaemia",
    "malignant_hyperthermia": "malignant hyperthermia",
    "myotonia": "myotonia",
    "cholinergic": "cholinergic effects",
    "reduced_reversal": "reduced reversal",
    "unpredictable": "unpredictable response",
    "worsens_disease": "worsens the disease",
}
RECEPTOR_STATE_LABELS = {
    "up": "Up-regulated acetylcholine receptors",
    "down": "Down-regulated (fewer functional) acetylcholine receptors",
    "mixed": "Mixed: up- and down-regulating conditions together",
    "normal": "Normal",
}
# Planned drugs are offered in the order an anaesthetist thinks of them.
CLASS_ORDER = (
    ("depolarizing-blocker", "Depolarising neuromuscular blockers"),
    ("nondepolarizing-blocker", "Non-depolarising neuromuscular blockers"),
    ("antibiotic", "Antibiotics"),
    ("magnesium", "Magnesium"),
    ("reversal-agent", "Reversal agents"),
    ("chronic-nmj-drug", "Chronic neuromuscular-junction drugs"),
    ("anticonvulsant", "Anticonvulsants"),
    ("calcium-channel-blocker", "Calcium-channel blockers"),
    ("volatile-anesthetic", "Volatile anaesthetics"),
    ("mood-stabilizer", "Mood stabilisers"),
    ("beta-blocker", "Beta-blockers"),
    ("antimalarial", "Antimalarials"),
    ("antiarrhythmic", "Antiarrhythmics"),
    ("botulinum-toxin", "Botulinum toxins"),
    ("statin", "Statins"),
    ("immune-checkpoint-inhibitor", "Immune checkpoint inhibitors"),
    ("cholinesterase-inhibitor", "Cholinesterase inhibitors"),
    ("hormonal-contraceptive", "Hormonal contraceptives"),
    ("antiestrogen", "Anti-oestrogens"),
)
CHOICE_LABELS = {"achr": "AChR", "musk": "MuSK", "lrp4": "LRP4", "colq": "COLQ", "dok7": "DOK7"}


def choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value, value.replace("-", " ").capitalize())


def class_label(drug_class: str) -> str:
    return dict(CLASS_ORDER).get(drug_class, drug_class.replace("-", " ").capitalize())


def _class_rank(drug_class: str) -> int:
    codes = [code for code, _label in CLASS_ORDER]
    return codes.index(drug_class) if drug_class in codes else len(codes)


# The other spelling of a drug name, British (BAN) or American (USAN), where the knowledge
# base's name gives only one: a pick list must be found under either. A name that already
# carries both ("Succinylcholine (suxamethonium)") needs nothing here. (This belongs in the
# knowledge base's drug entries; until a release adds it there, the pick lists add it.)
OTHER_SPELLINGS = {
    "magnesium-sulfate": "magnesium sulphate",
}


def pick_label(code: str, name: str) -> str:
    """A drug as the pick lists show it: its name and, where it differs, its other spelling."""
    other = OTHER_SPELLINGS.get(code)
    return f"{name}, also spelt {other}" if other and other not in name.lower() else name


@dataclass(frozen=True, slots=True)
class DrugOption:
    code: str
    name: str
    checked: bool


@dataclass(frozen=True, slots=True)
class DrugGroup:
    drug_class: str
    label: str
    drugs: tuple[DrugOption, ...]


def drug_groups(knowledge_base: KnowledgeBase, chosen: Iterable[str]) -> list[DrugGroup]:
    """Every drug, grouped by class in clinical order, marked when chosen."""
    chosen_codes = set(chosen)
    by_class: dict[str, list[DrugOption]] = {}
    for code, drug in knowledge_base.drugs.items():
        by_class.setdefault(drug.drug_class, []).append(
            DrugOption(code=code, name=pick_label(code, drug.name), checked=code in chosen_codes)
        )
    return [
        DrugGroup(drug_class=name, label=class_label(name), drugs=tuple(options))
        for name, options in sorted(by_class.items(), key=lambda item: _class_rank(item[0]))
    ]


def drug_choices(knowledge_base: KnowledgeBase) -> list[tuple[str, list[tuple[str, str]]]]:
    """Drug choices in option groups by class, for a select."""
    return [
        (group.label, [(option.code, option.name) for option in group.drugs])
        for group in drug_groups(knowledge_base, ())
    ]


def condition_choices(knowledge_base: KnowledgeBase) -> list[tuple[str, str]]:
    return sorted(
        ((code, condition.name) for code, condition in knowledge_base.conditions.items()),
        key=lambda item: item[1].lower(),
    )


def time_point_display(point: dt.date | dt.datetime | None, time_zone: zoneinfo.ZoneInfo) -> str:
    """A date as '12 Nov 2026'; an instant in the department's time zone with its zone."""
    if point is None:
        return "Unknown"
    if isinstance(point, dt.datetime):
        local = point.astimezone(time_zone)
        return local.strftime("%d %b %Y %H:%M ") + (local.tzname() or "")
    return point.strftime("%d %b %Y")


def attributes_display(
    knowledge_base: KnowledgeBase, code: str, attributes: Mapping[str, Any]
) -> list[str]:
    definitions = (
        knowledge_base.conditions[code].attributes if code in knowledge_base.conditions else {}
    )
    shown = []
    for name, value in attributes.items():
        definition = definitions.get(name)
        label = definition.label if definition else name
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, str):
            text = choice_label(value)
        else:
            text = f"{value} {definition.unit}" if definition and definition.unit else str(value)
        shown.append(f"{label}: {text}")
    return shown


def person_display(user: Any) -> str:
    """Who did something, by username; "unknown" when the account is gone."""
    return user.get_username() if user is not None else "unknown"


@dataclass(frozen=True, slots=True)
class ReceptorStateView:
    """The receptor state that applies to new assessments: a clinician's override with who,
    when and why, or the state derived from the recorded conditions."""

    # Empty when the record cannot be evaluated now (say, an onset after now).
    derived_label: str
    override_value: str = ""
    override_label: str = ""
    recorded_by: str = ""
    recorded_at: str = ""
    reason: str = ""

    @property
    def overridden(self) -> bool:
        return bool(self.override_value)


def receptor_state_view(
    *, recorded: Any, derived: ReceptorState | None, time_zone: zoneinfo.ZoneInfo
) -> ReceptorStateView:
    """The page's view of a recorded receptor state row (or None) and the derived state."""
    derived_label = RECEPTOR_STATE_LABELS.get(derived.derived, derived.derived) if derived else ""
    if recorded is None:
        return ReceptorStateView(derived_label=derived_label)
    return ReceptorStateView(
        derived_label=derived_label,
        override_value=recorded.value,
        override_label=RECEPTOR_STATE_LABELS.get(recorded.value, recorded.value),
        recorded_by=person_display(recorded.recorded_by),
        recorded_at=time_point_display(recorded.recorded_at, time_zone),
        reason=recorded.reason,
    )


@dataclass(frozen=True, slots=True)
class ConditionVersionView:
    """One version of a recorded condition as its history page shows it."""

    pk: int
    version: int
    name: str
    onset: str
    resolved: str
    attributes: tuple[str, ...]
    # "Recorded" for the first version, "Corrected" for each later one.
    change: str
    changed_by: str
    changed_at: str
    correction_reason: str
    current: bool
    replaced_by_version: int | None
    removed_by: str
    removed_at: str
    removal_reason: str

    @property
    def removed(self) -> bool:
        return bool(self.removed_at)


def condition_versions(
    knowledge_base: KnowledgeBase, versions: Sequence[Any], time_zone: zoneinfo.ZoneInfo
) -> list[ConditionVersionView]:
    """Every version of one condition, in the order given (oldest first), each with who
    recorded, corrected or removed it, when and why, and the version that replaced it."""
    version_by_pk = {row.pk: row.version for row in versions}
    shown = []
    for row in versions:
        definition = knowledge_base.conditions.get(row.code)
        shown.append(
            ConditionVersionView(
                pk=row.pk,
                version=row.version,
                name=definition.name if definition else row.code,
                onset=time_point_display(row.onset, time_zone),
                resolved=time_point_display(row.resolved, time_zone) if row.resolved else "",
                attributes=tuple(
                    attributes_display(knowledge_base, row.code, row.attributes or {})
                ),
                change="Corrected" if row.replaces_id else "Recorded",
                changed_by=person_display(row.recorded_by),
                changed_at=time_point_display(row.recorded_at, time_zone),
                correction_reason=row.correction_reason,
                current=row.is_current,
                replaced_by_version=version_by_pk.get(row.replaced_by_id),
                removed_by=person_display(row.removed_by) if row.removed_at else "",
                removed_at=time_point_display(row.removed_at, time_zone) if row.removed_at else "",
                removal_reason=row.removal_reason,
            )
        )
    return shown


@dataclass(frozen=True, slots=True)
class ReferenceView:
    id: str
    citation: str
    # As the knowledge base gives it: a web address, or an identifier ("PMID 687036; doi:...").
    url: str
    identifier: str = ""


@dataclass(frozen=True, slots=True)
class FindingView:
    level: str
    level_label: str
    summary: str
    rationale: str
    triggered_by: tuple[str, ...]
    effects: tuple[str, ...]
    references: tuple[ReferenceView, ...]
    unconfirmed: bool
    # The department's local tuning of this finding, one line each (never hides it).
    locally_tuned: tuple[str, ...] = ()


@dataclass(slots=True)
class CautionCard:
    drug: str
    drug_name: str
    class_label: str
    level: str
    level_label: str
    level_meaning: str
    summary: str
    effects: tuple[str, ...]
    conflict: bool
    findings: tuple[FindingView, ...]
    dose_text: str
    dose_per_kg: str
    dose_total: str
    dose_max: str
    monitoring: str
    reversal: str
    assumptions: tuple[str, ...]
    needs_acknowledgement: bool
    # References the card's text names by id, e.g. "(S16b)", that no finding lists.
    cited: tuple[ReferenceView, ...] = ()
    # On an avoid or contraindicated card: what to do instead, shown first; and that the dose,
    # monitoring and reversal are guidance only if the drug is given after an override.
    instead: str = ""
    only_after_override: bool = False
    # A stored caution without its findings (older demo data wrote that shape): the page
    # says the stored record lacks them, rather than showing no reasons at all.
    findings_missing: bool = False
    acknowledgement: Any = None
    form: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_milder_findings(self) -> bool:
        """Findings below the card's level: on an avoid or contraindicated card they apply only
        if the drug is given after an override."""
        return any(finding.level != self.level for finding in self.findings)


@dataclass(frozen=True, slots=True)
class CautionPanel:
    highest_level: str
    highest_label: str
    receptor_state: str
    receptor_state_label: str
    receptor_state_overridden: bool
    receptor_sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    cards: tuple[CautionCard, ...]
    knowledge_base_version: str
    knowledge_base_digest: str
    # The weight the doses in mg were computed for, as "70" or "70.5"; empty without one.
    weight_kg: str = ""
    # On the form's live preview: the warning about a weight implausible for the patient's age
    # (the message the saved assessment shows); empty without one.
    weight_warning: str = ""


def _trigger_text(knowledge_base: KnowledgeBase, trigger: str) -> str:
    kind, _, code = trigger.partition(":")
    if kind == "condition" and code in knowledge_base.conditions:
        return f"Condition: {knowledge_base.conditions[code].name}"
    if kind in {"medication", "drug"} and code in knowledge_base.drugs:
        prefix = "Current medication" if kind == "medication" else "Planned drug"
        return f"{prefix}: {knowledge_base.drugs[code].name}"
    if kind == "receptor-state":
        return f"Receptor state: {RECEPTOR_STATE_LABELS.get(code, code)}"
    return trigger


def _dose_range(value: Mapping[str, str] | None, unit: str) -> str:
    if not value:
        return ""
    low, high = value["min"], value["max"]
    return f"{low} {unit}" if low == high else f"{low} to {high} {unit}"


def _reference(knowledge_base: KnowledgeBase, reference_id: str) -> ReferenceView:
    reference = knowledge_base.references.get(reference_id)
    if reference is None:
        return ReferenceView(id=reference_id, citation=f"Reference {reference_id}", url="")
    return ReferenceView(
        id=reference_id,
        citation=reference.citation,
        url=reference.url if is_link(reference.url) else "",
        identifier=reference.identifier,
    )


def is_link(url: str) -> bool:
    """Only an https address with a host becomes a link; anything else is shown as text."""
    host = urlsplit(url).hostname or ""
    return url.startswith("https://") and bool(host) and not host.endswith(".")


WORD = re.compile(r"[A-Za-z0-9]+")


def _cited_in_text(
    knowledge_base: KnowledgeBase, texts: Iterable[str], listed: Iterable[str]
) -> tuple[ReferenceView, ...]:
    """The knowledge base's references that the texts name by id and `listed` lacks, in order
    of first mention, so a reader can look up "(S16b)" in a monitoring sentence."""
    seen = set(listed)
    found = []
    for text in texts:
        for word in WORD.findall(text):
            if word in knowledge_base.references and word not in seen:
                seen.add(word)
                found.append(_reference(knowledge_base, word))
    return tuple(found)


def weight_display(weight_kg: Decimal | float | str | None) -> str:
    """A weight without trailing zeros: 70.00 as "70", 70.50 as "70.5"."""
    if weight_kg is None or weight_kg == "":
        return ""
    return f"{Decimal(str(weight_kg)).normalize():f}"


def tuned_lines(mark: Mapping[str, Any]) -> list[str]:
    """A finding's local tuning as the card shows it: the local text, if any, then
    "Locally tuned: <reason> (<who>, <date>)"."""
    lines = [f"Local note: {mark['text']}"] if mark.get("text") else []
    when = str(mark.get("when", ""))[:10]
    lines.append(f"Locally tuned: {mark.get('why', '')} ({mark.get('who', '')}, {when})")
    return lines


def caution_panel(
    knowledge_base: KnowledgeBase,
    evaluation: Mapping[str, Any],
    required: Sequence[str] = (),
    weight_kg: Decimal | float | str | None = None,
) -> CautionPanel:
    """The caution panel of an evaluation in the REST contract's shape (a live check or a
    stored snapshot). `required` names the drugs whose caution needs an acknowledgement;
    `weight_kg` is the weight the evaluation computed doses in mg for."""
    cards = []
    for caution in evaluation["cautions"]:
        drug = knowledge_base.drugs.get(caution["drug"])
        dose = caution.get("dose") or {}
        findings = tuple(
            FindingView(
                level=finding["level"],
                level_label=LEVEL_LABELS.get(finding["level"], finding["level"]),
                summary=finding.get("summary", ""),
                rationale=finding.get("rationale", ""),
                triggered_by=tuple(
                    _trigger_text(knowledge_base, trigger)
                    for trigger in finding.get("triggered_by", ())
                ),
                effects=tuple(EFFECT_LABELS.get(e, e) for e in finding.get("effects", ())),
                references=tuple(
                    _reference(knowledge_base, ref) for ref in finding.get("references", ())
                ),
                unconfirmed=bool(finding.get("unconfirmed")),
                locally_tuned=tuple(
                    line for mark in finding.get("locally_tuned", ()) for line in tuned_lines(mark)
                ),
            )
            for finding in caution.get("findings") or ()
        )
        cards.append(
            CautionCard(
                drug=caution["drug"],
                drug_name=drug.name if drug else caution["drug"],
                class_label=class_label(caution.get("drug_class", "")),
                level=caution["level"],
                level_label=LEVEL_LABELS.get(caution["level"], caution["level"]),
                level_meaning=LEVEL_MEANINGS.get(caution["level"], ""),
                summary=caution.get("summary", ""),
                effects=tuple(EFFECT_LABELS.get(e, e) for e in caution.get("effects", ())),
                conflict=bool(caution.get("conflict")),
                findings=findings,
                dose_text=dose.get("text", "") if dose else "",
                dose_per_kg=_dose_range(dose.get("per_kg_mg"), "mg/kg") if dose else "",
                dose_total=_dose_range(dose.get("total_mg"), "mg") if dose else "",
                dose_max=f"{dose['max_mg']} mg" if dose and dose.get("max_mg") else "",
                monitoring=caution.get("monitoring", "") or "",
                reversal=caution.get("reversal", "") or "",
                assumptions=tuple(caution.get("assumptions", ())),
                needs_acknowledgement=caution["drug"] in required,
                instead=caution.get("instead", "") or "",
                findings_missing="findings" not in caution,
                # A snapshot stored before the flag existed: the level decides, as it did.
                only_after_override=bool(
                    caution.get(
                        "only_after_override", caution["level"] in {"contraindicated", "avoid"}
                    )
                ),
                cited=_cited_in_text(
                    knowledge_base,
                    [
                        caution.get("summary", ""),
                        *(finding.rationale for finding in findings),
                        dose.get("text", "") if dose else "",
                        caution.get("monitoring", "") or "",
                        caution.get("reversal", "") or "",
                        caution.get("instead", "") or "",
                        *caution.get("assumptions", ()),
                    ],
                    (ref.id for finding in findings for ref in finding.references),
                ),
            )
        )
    # Older demo data stored neither the highest level nor the receptor state with its
    # cautions: the highest level is that of the cautions it holds, and the receptor state
    # is said to be missing rather than shown as normal.
    highest = (
        evaluation.get("highest_level")
        or max(
            (Level.from_code(caution["level"]) for caution in evaluation["cautions"]),
            default=Level.NONE,
        ).code
    )
    receptor = evaluation.get("receptor_state") or {}
    value = receptor.get("value", "")
    sources = tuple(
        f"{_trigger_text(knowledge_base, 'condition:' + source['condition'])[11:]} "
        f"({'up' if source['effect'] == 'up' else 'down'})"
        for source in receptor.get("sources", ())
    )
    return CautionPanel(
        highest_level=highest,
        highest_label=LEVEL_LABELS.get(highest, highest),
        receptor_state=value,
        receptor_state_label=RECEPTOR_STATE_LABELS.get(value, value)
        or "not stored with this record",
        receptor_state_overridden=bool(receptor.get("overridden")),
        receptor_sources=sources,
        assumptions=tuple(evaluation.get("assumptions", ())),
        cards=tuple(cards),
        knowledge_base_version=evaluation["knowledge_base"]["version"],
        knowledge_base_digest=evaluation["knowledge_base"]["digest"],
        weight_kg=weight_display(weight_kg),
    )


def panel_references(panel: CautionPanel) -> list[ReferenceView]:
    """Every reference the panel cites, once each, in order of first citation."""
    seen: dict[str, ReferenceView] = {}
    for card in panel.cards:
        for finding in card.findings:
            for reference in finding.references:
                seen.setdefault(reference.id, reference)
        for reference in card.cited:
            seen.setdefault(reference.id, reference)
    return list(seen.values())
