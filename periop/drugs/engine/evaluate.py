"""Evaluation: one caution per planned drug from the patient's state, the time and the rules.

Uncertain inputs are ranges, and a rule fires when it can hold under some reading of them, so
the level shown is the most cautious over every reading; each such reading is reported as an
assumption. Only a rule that holds under every reading may supersede another, so an unknown
value can never lower a caution.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from periop.drugs.engine.dose import CONFLICT_DOSE, dose_guidance
from periop.drugs.engine.knowledge import (
    ConditionDefinition,
    KnowledgeBase,
    Phase,
    Rule,
    When,
    check_condition_attributes,
    show,
)
from periop.drugs.engine.timeline import (
    UNKNOWN,
    ConditionEpisode,
    MedicationCourse,
    condition_episode,
    instant,
    medication_course,
    window_text,
)
from periop.drugs.engine.types import (
    EFFECT_TAGS,
    RECEPTOR_STATES,
    ConditionInput,
    DoseGuidance,
    DrugCaution,
    EngineInputError,
    Evaluation,
    Finding,
    Level,
    MedicationInput,
    PatientState,
    ReceptorSource,
    ReceptorState,
)

NO_CAUTION = "No specific caution."
CONFLICT_PREFIX = "Opposing effects: response unpredictable; titrate to quantitative TOF. "
_MAXIMUM_WEIGHT_KG = Decimal(1000)


@dataclass(frozen=True, slots=True)
class _Match:
    """What part of a rule's `when` found in the patient; `level` set only by a phased rule."""

    triggers: frozenset[str]
    notes: tuple[str, ...]
    certain: bool  # holds under every reading of the inputs
    level: Level | None = None
    effects: tuple[str, ...] = ()
    summary: str = ""


@dataclass(frozen=True, slots=True)
class _Fired:
    """A rule whose `when` holds under some reading of the inputs."""

    rule: Rule
    level: Level
    effects: tuple[str, ...]
    summary: str
    triggers: frozenset[str]
    notes: tuple[str, ...]
    certain: bool  # holds under every reading of the inputs


class _Context:
    def __init__(
        self,
        kb: KnowledgeBase,
        episodes: tuple[ConditionEpisode, ...],
        medications: tuple[MedicationCourse, ...],
        planned: tuple[str, ...],
        override: str | None,
    ) -> None:
        self.kb = kb
        self.episodes = episodes
        self.condition_codes = frozenset(episode.definition.code for episode in episodes)
        self.medications = medications
        self.planned = planned
        self.override = override
        # The target-independent part of each rule, computed at most once per evaluation.
        self.base: dict[int, _Fired | None] = {}


def evaluate(
    state: PatientState, drugs: Sequence[str], at: dt.datetime, kb: KnowledgeBase
) -> Evaluation:
    """Cautions for the planned drugs at `at`; raises EngineInputError for input it cannot use."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise EngineInputError("at", f"The evaluation time {at} must include a time-zone offset.")
    at_us = instant(at)
    planned = _planned_drugs(drugs, kb)
    override = state.receptor_state_override
    if override is not None and override not in RECEPTOR_STATES:
        raise EngineInputError(
            "receptor_state",
            f"Unknown receptor state {show(override)}; expected one of "
            f"{', '.join(RECEPTOR_STATES)}.",
        )
    weight = _weight(state.weight_kg)
    episodes = tuple(_episode(condition, at_us, kb) for condition in state.conditions)
    medications = tuple(_course(medication, at_us, kb) for medication in state.medications)
    context = _Context(kb, episodes, medications, planned, override)
    receptor_state, receptor_notes = _receptor_state(episodes, override)
    cautions = tuple(_caution(drug, context, weight) for drug in planned)
    notes = [note for episode in episodes for note in episode.notes]
    notes += [note for medication in medications for note in medication.notes]
    notes += receptor_notes
    notes += [note for caution in cautions for note in caution.assumptions]
    return Evaluation(
        knowledge_base_version=kb.version,
        knowledge_base_digest=kb.digest,
        at=at,
        receptor_state=receptor_state,
        cautions=cautions,
        highest_level=max((caution.level for caution in cautions), default=Level.NONE),
        assumptions=tuple(dict.fromkeys(notes)),
    )


def _planned_drugs(drugs: Sequence[str], kb: KnowledgeBase) -> tuple[str, ...]:
    if isinstance(drugs, str):
        raise EngineInputError("drugs", f"Drugs must be a list of codes, not {show(drugs)}.")
    if not drugs:
        raise EngineInputError("drugs", "At least one planned drug is required.")
    seen: dict[str, None] = {}
    for code in drugs:
        if not isinstance(code, str) or code not in kb.drugs:
            raise EngineInputError("drugs", f"Unknown drug code {show(code)}.")
        if code in seen:
            raise EngineInputError("drugs", f"Drug code {show(code)} is listed more than once.")
        seen[code] = None
    return tuple(seen)


def _weight(weight: object) -> Decimal | None:
    if weight is None:
        return None
    if type(weight) is bool or not isinstance(weight, Decimal | int):
        raise EngineInputError(
            "weight_kg", f"Weight must be a decimal number of kg, not {weight!r}."
        )
    value = Decimal(weight)
    # The upper bound keeps every dose product exact in 28 significant digits.
    if not value.is_finite() or value <= 0 or value > _MAXIMUM_WEIGHT_KG:
        raise EngineInputError(
            "weight_kg", f"Weight must be above 0 and at most {_MAXIMUM_WEIGHT_KG} kg, not {value}."
        )
    return value


def _episode(condition: ConditionInput, at_us: int, kb: KnowledgeBase) -> ConditionEpisode:
    code = condition.code
    definition = kb.conditions.get(code) if isinstance(code, str) else None
    if definition is None:
        raise EngineInputError("conditions", f"Unknown condition code {show(code)}.")
    if not isinstance(condition.attributes, Mapping):
        raise EngineInputError("conditions", f"Attributes of condition '{code}' must be a mapping.")
    for name, problem in check_condition_attributes(kb, code, condition.attributes).items():
        raise EngineInputError("conditions", f"Condition '{code}' attribute '{name}': {problem}")
    return condition_episode(definition, condition, at_us)


def _course(medication: MedicationInput, at_us: int, kb: KnowledgeBase) -> MedicationCourse:
    code = medication.code
    definition = kb.drugs.get(code) if isinstance(code, str) else None
    if definition is None:
        raise EngineInputError("medications", f"Unknown medication code {show(code)}.")
    return medication_course(definition, medication, at_us)


def _receptor_state(
    episodes: tuple[ConditionEpisode, ...], override: str | None
) -> tuple[ReceptorState, list[str]]:
    sources: dict[ReceptorSource, None] = {}
    notes: list[str] = []
    for episode in episodes:
        definition = episode.definition
        effect, effect_notes = _receptor_effect(episode)
        if (
            effect == "none"
            or "ongoing" not in episode.statuses
            or not episode.elapsed.meets(definition.effect_from, None)
        ):
            continue
        sources[ReceptorSource(definition.code, effect)] = None
        notes += effect_notes
        if not episode.certainly_active or not episode.elapsed.within(definition.effect_from, None):
            notes += episode.notes
            notes.append(
                f"{definition.name}: may not affect the receptors at the planned time; "
                f"counted as {effect}-regulation."
            )
    effects = {source.effect for source in sources}
    derived = "mixed" if len(effects) == 2 else effects.pop() if effects else "normal"
    return (
        ReceptorState(
            value=override if override is not None else derived,
            overridden=override is not None,
            derived=derived,
            sources=tuple(sources),
        ),
        notes,
    )


def _receptor_effect(episode: ConditionEpisode) -> tuple[str, list[str]]:
    """The condition's receptor effect after the overrides its known attributes select."""
    definition = episode.definition
    notes = []
    for override in definition.receptor_effect_overrides:
        unknown = [name for name in override.attributes if episode.values[name] is UNKNOWN]
        if unknown:
            # Not knowing the attribute keeps the condition's own effect: the cautious reading.
            notes += [
                f"{definition.name}: {_label(definition, name)} unknown; its receptor effect is "
                f"taken as {definition.receptor_effect}."
                for name in unknown
            ]
            continue
        if all(
            constraint.allows(episode.values[name])
            for name, constraint in override.attributes.items()
        ):
            return override.effect, []
    return definition.receptor_effect, notes


def _label(definition: ConditionDefinition, name: str) -> str:
    label = definition.attributes[name].label
    # Lower-case a label's first letter for use mid-sentence, but never an acronym's.
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def _caution(drug: str, context: _Context, weight: Decimal | None) -> DrugCaution:
    kb = context.kb
    positions = set(kb.index.unconditional_by_drug[drug])
    by_condition = kb.index.conditional_by_drug[drug]
    for code in context.condition_codes:
        positions.update(by_condition.get(code, ()))
    fired = []
    for position in sorted(positions):
        if position not in context.base:
            context.base[position] = _base(kb.rules[position], context)
        base = context.base[position]
        if base is not None:
            with_present = _with_present(base, drug, context)
            if with_present is not None:
                fired.append(with_present)
    # Only a rule that holds under every reading of the inputs may lower another one.
    superseded = {rule_id for rule in fired if rule.certain for rule_id in rule.rule.supersedes}
    kept = [rule for rule in fired if rule.level > Level.NONE and rule.rule.id not in superseded]
    kept.sort(key=lambda rule: (-rule.level, rule.rule.id))
    effects = {tag for rule in kept for tag in rule.effects}
    conflict = "increased_sensitivity" in effects and "resistance" in effects
    if conflict:
        effects.add("unpredictable")
    summary = kept[0].summary if kept else NO_CAUTION
    monitoring = [rule.rule.monitoring for rule in kept if rule.rule.monitoring]
    if drug in kb.index.monitored_drugs:
        monitoring.append(kb.guidance.neuromuscular_monitoring.text)
    return DrugCaution(
        drug=drug,
        drug_class=kb.drugs[drug].drug_class,
        level=kept[0].level if kept else Level.NONE,
        effects=tuple(tag for tag in EFFECT_TAGS if tag in effects),
        conflict=conflict,
        summary=CONFLICT_PREFIX + summary if conflict else summary,
        findings=tuple(
            Finding(
                rule=rule.rule.id,
                level=rule.level,
                effects=rule.effects,
                triggered_by=tuple(sorted(rule.triggers)),
                summary=rule.summary,
                rationale=rule.rule.rationale,
                references=rule.rule.references,
                unconfirmed=rule.rule.unconfirmed,
            )
            for rule in kept
        ),
        dose=CONFLICT_DOSE if conflict else _dose(drug, kept, weight),
        monitoring=" ".join(dict.fromkeys(monitoring)),
        reversal=" ".join(dict.fromkeys(rule.rule.reversal for rule in kept if rule.rule.reversal)),
        assumptions=tuple(dict.fromkeys(note for rule in kept for note in rule.notes)),
    )


def _dose(drug: str, kept: list[_Fired], weight: Decimal | None) -> DoseGuidance | None:
    for fired in kept:
        spec = fired.rule.dose_for(drug)
        if spec is not None:
            return dose_guidance(spec, fired.rule.id, weight)
    return None


def _with_present(base: _Fired, target: str, context: _Context) -> _Fired | None:
    """The rule's result for one planned drug, once its present requirements are checked."""
    when = base.rule.when
    if not when.present and not when.also_present:
        return base
    triggers, notes, certain = set(base.triggers), list(base.notes), base.certain
    for codes in (when.present_codes, when.also_present_codes):
        if not codes:
            continue
        found = _present(codes, target, context)
        if found is None:
            return None
        triggers |= found[0]
        notes += found[1]
        certain = certain and found[2]
    return _Fired(
        base.rule,
        base.level,
        base.effects,
        base.summary,
        frozenset(triggers),
        tuple(notes),
        certain,
    )


def _present(
    codes: frozenset[str], target: str, context: _Context
) -> tuple[set[str], list[str], bool] | None:
    triggers: set[str] = set()
    notes: list[str] = []
    certain = False
    for medication in context.medications:
        if medication.definition.code in codes and medication.possibly_active:
            triggers.add(f"medication:{medication.definition.code}")
            certain = certain or medication.certainly_active
            if not medication.certainly_active:
                notes += medication.notes
    for drug in context.planned:
        # A planned drug never satisfies its own rule: "present" means something else is.
        if drug != target and drug in codes:
            triggers.add(f"drug:{drug}")
            certain = True
    return (triggers, notes, certain) if triggers else None


def _base(rule: Rule, context: _Context) -> _Fired | None:
    """The target-independent part of a rule: receptor state, conditions and medications."""
    when = rule.when
    triggers: set[str] = set()
    notes: list[str] = []
    certain = True
    level, effects, summary = rule.level or Level.NONE, rule.effects, rule.summary
    if when.receptor_state:
        if context.override not in when.receptor_state:
            return None
        triggers.add(f"receptor-state:{context.override}")
    if when.conditions:
        found = _phased(rule, context) if rule.phases else _conditions(when, context)
        if found is None:
            return None
        if found.level is not None:
            level, effects, summary = found.level, found.effects, found.summary
        triggers |= found.triggers
        notes += found.notes
        certain = found.certain
    if when.medications:
        medications = _medications(when, context)
        if medications is None:
            return None
        triggers |= medications.triggers
        notes += medications.notes
        certain = certain and medications.certain
    return _Fired(rule, level, effects, summary, frozenset(triggers), tuple(notes), certain)


def _conditions(when: When, context: _Context) -> _Match | None:
    """Any listed condition, in the required status, whose known attributes fit."""
    triggers: set[str] = set()
    notes: list[str] = []
    certain = False
    for episode in context.episodes:
        definition = episode.definition
        if definition.code not in when.conditions:
            continue
        if when.condition_status == "active" and "ongoing" not in episode.statuses:
            continue
        attributes = _attributes(when, episode)
        if attributes is None:
            continue
        triggers.add(f"condition:{definition.code}")
        notes += attributes[0]
        timely = (
            episode.certainly_active
            if when.condition_status == "active"
            else episode.certainly_begun
        )
        if not timely:
            notes += episode.notes
            notes.append(f"{definition.name}: may not be active at the planned time; counted.")
        certain = certain or (timely and attributes[1])
    return _Match(frozenset(triggers), tuple(notes), certain) if triggers else None


def _phased(rule: Rule, context: _Context) -> _Match | None:
    """The most restrictive phase possible for any listed condition whose attributes fit."""
    candidates: list[tuple[Phase, str, list[str], bool]] = []
    for episode in context.episodes:
        definition = episode.definition
        if definition.code not in rule.when.conditions:
            continue
        attributes = _attributes(rule.when, episode)
        if attributes is None:
            continue
        possible = [
            phase
            for phase in rule.phases
            if (phase.status == "any" or phase.status in episode.statuses)
            and episode.elapsed.meets(phase.start, phase.end)
        ]
        if not possible:
            continue
        top = possible[0]
        for phase in possible[1:]:
            if phase.level > top.level:
                top = phase
        exact = (
            len(possible) == 1
            and episode.elapsed.within(top.start, top.end)
            and (top.status == "any" or episode.statuses == {top.status})
        )
        notes = list(attributes[0])
        if not exact:
            notes += episode.notes
        if len(possible) > 1:
            notes.append(_phases_note(definition, episode, possible))
        candidates.append((top, definition.code, notes, exact and attributes[1]))
    if not candidates:
        return None
    level = max(candidate[0].level for candidate in candidates)
    chosen = [candidate for candidate in candidates if candidate[0].level == level]
    phase = chosen[0][0]
    return _Match(
        triggers=frozenset(f"condition:{candidate[1]}" for candidate in chosen),
        notes=tuple(note for candidate in chosen for note in candidate[2]),
        certain=any(candidate[3] for candidate in candidates),
        level=phase.level,
        effects=phase.effects,
        summary=phase.summary,
    )


def _phases_note(
    definition: ConditionDefinition, episode: ConditionEpisode, possible: list[Phase]
) -> str:
    reasons = []
    if episode.elapsed.lo != episode.elapsed.hi:
        reasons.append("time since onset uncertain")
    if len(episode.statuses) > 1:
        reasons.append("may or may not be resolved")
    windows = ", ".join(
        window_text(phase.from_hours, phase.to_hours)
        + ("" if phase.status == "any" else f" ({phase.status})")
        for phase in possible
    )
    return (
        f"{definition.name}: {' and '.join(reasons)}; phases {windows} are possible; "
        "the most restrictive applies."
    )


def _attributes(when: When, episode: ConditionEpisode) -> tuple[list[str], bool] | None:
    """None when a known attribute value fails a constraint; else the notes and certainty.

    Constraints bind only conditions whose schema defines the attribute, and an unknown value
    fits every constraint: the cautious reading.
    """
    definition = episode.definition
    notes = []
    certain = True
    for name, constraint in when.attributes.items():
        if name not in definition.attributes:
            continue
        value = episode.values[name]
        if value is UNKNOWN:
            label = _label(definition, name)
            notes.append(f"{definition.name}: {label} unknown; treated the most cautious way.")
            certain = False
        elif not constraint.allows(value):
            return None
    return notes, certain


def _medications(when: When, context: _Context) -> _Match | None:
    """Any active medication matching a selector, within the medication_hours window if set."""
    triggers: set[str] = set()
    notes: list[str] = []
    certain = False
    hours = when.medication_hours
    for medication in context.medications:
        code = medication.definition.code
        elapsed = medication.elapsed
        if code not in when.medication_codes or not medication.possibly_active or elapsed is None:
            continue
        timely = medication.certainly_active
        if hours is not None:
            if not elapsed.meets(hours.minimum_us, hours.maximum_us):
                continue
            timely = timely and elapsed.within(hours.minimum_us, hours.maximum_us)
        triggers.add(f"medication:{code}")
        if not timely:
            notes += medication.notes
        certain = certain or timely
    return _Match(frozenset(triggers), tuple(notes), certain) if triggers else None
