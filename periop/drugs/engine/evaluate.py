"""Evaluation: one caution per planned drug from the patient's state, the time and the rules.

Uncertain inputs are ranges, and a rule fires when it can hold under some reading of them, so
the level shown is the most cautious over every reading; each such reading is reported as an
assumption. Only a rule that holds under every reading may supersede another, so an unknown
value can never lower a caution.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

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
_NO_NOTES: tuple[str, ...] = ()
_T = TypeVar("_T")
_EFFECT_ORDER = {tag: position for position, tag in enumerate(EFFECT_TAGS)}


class _Match:
    """What part of a rule's `when` found in the patient; `level` set only by a phased rule."""

    # A plain slotted class: evaluation builds many of these, and frozen dataclasses are slower.
    __slots__ = ("certain", "effects", "level", "notes", "summary", "triggers")

    def __init__(
        self,
        triggers: frozenset[str],
        notes: tuple[str, ...],
        certain: bool,
        level: Level | None = None,
        effects: tuple[str, ...] = (),
        summary: str = "",
    ) -> None:
        self.triggers = triggers
        self.notes = notes
        self.certain = certain  # holds under every reading of the inputs
        self.level = level
        self.effects = effects
        self.summary = summary


class _Fired:
    """A rule whose `when` holds under some reading of the inputs, for one or more drugs."""

    __slots__ = ("_finding", "certain", "effects", "level", "notes", "rule", "summary", "triggers")

    def __init__(
        self,
        rule: Rule,
        level: Level,
        effects: tuple[str, ...],
        summary: str,
        triggers: frozenset[str],
        notes: tuple[str, ...],
        certain: bool,
    ) -> None:
        self.rule = rule
        self.level = level
        self.effects = effects
        self.summary = summary
        self.triggers = triggers
        self.notes = notes
        self.certain = certain  # holds under every reading of the inputs
        self._finding: Finding | None = None

    def finding(self, memo: dict[tuple[object, ...], Finding]) -> Finding:
        # Built once per evaluation and shared by every planned drug the rule fired for; and
        # reused from earlier evaluations, since a finding is a pure function of this key.
        if self._finding is None:
            rule = self.rule
            key = (rule.id, self.level, self.effects, self.summary, self.triggers)
            finding = memo.get(key)
            if finding is None:
                finding = Finding(
                    rule=rule.id,
                    level=self.level,
                    effects=self.effects,
                    triggered_by=tuple(sorted(self.triggers)),
                    summary=self.summary,
                    rationale=rule.rationale,
                    references=rule.references,
                    unconfirmed=rule.unconfirmed,
                )
                _remember(memo, key, finding)
            self._finding = finding
        return self._finding


_MEMO_LIMIT = 4096


def _remember(memo: dict[tuple[object, ...], _T], key: tuple[object, ...], value: _T) -> None:
    # Clearing keeps a long-running server's memory bounded whatever patients it sees.
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


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
        self.medication_codes = frozenset(
            medication.definition.code for medication in medications if medication.possibly_active
        )
        self.planned = planned
        # Everything that can be "present": a rule needing anything else cannot fire.
        self.present_pool = self.medication_codes | frozenset(planned)
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


def derive_receptor_state(state: PatientState, at: dt.datetime, kb: KnowledgeBase) -> ReceptorState:
    """The receptor state at `at` from the conditions (and override), without planned drugs."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise EngineInputError("at", f"The evaluation time {at} must include a time-zone offset.")
    override = state.receptor_state_override
    if override is not None and override not in RECEPTOR_STATES:
        raise EngineInputError(
            "receptor_state",
            f"Unknown receptor state {show(override)}; expected one of "
            f"{', '.join(RECEPTOR_STATES)}.",
        )
    at_us = instant(at)
    episodes = tuple(_episode(condition, at_us, kb) for condition in state.conditions)
    return _receptor_state(episodes, override)[0]


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
            or not episode.possibly_active
            or not episode.elapsed.meets(definition.effect_from, None)
        ):
            continue
        sources[_receptor_source(definition.code, effect)] = None
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


@functools.cache
def _receptor_source(condition: str, effect: str) -> ReceptorSource:
    # A handful of distinct values, built once: evaluation is hot and they are immutable.
    return ReceptorSource(condition, effect)


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
    kept = _kept_rules(drug, context)
    monitoring = [rule.rule.monitoring for rule in kept if rule.rule.monitoring]
    if drug in kb.index.monitored_drugs:
        monitoring.append(kb.guidance.neuromuscular_monitoring.text)
    if not kept:
        return DrugCaution(
            drug=drug,
            drug_class=kb.drugs[drug].drug_class,
            level=Level.NONE,
            effects=(),
            conflict=False,
            summary=NO_CAUTION,
            findings=(),
            dose=None,
            monitoring=" ".join(monitoring),
            reversal="",
            assumptions=(),
        )
    effects: set[str] = set()
    reversal: list[str] = []
    notes: list[str] = []
    memo = kb.index.finding_memo
    findings = []
    for rule in kept:
        effects.update(rule.effects)
        if rule.rule.reversal:
            reversal.append(rule.rule.reversal)
        notes += rule.notes
        findings.append(rule.finding(memo))
    conflict = "increased_sensitivity" in effects and "resistance" in effects
    if conflict:
        effects.add("unpredictable")
    return DrugCaution(
        drug=drug,
        drug_class=kb.drugs[drug].drug_class,
        level=kept[0].level,
        effects=tuple(sorted(effects, key=_EFFECT_ORDER.__getitem__)),
        conflict=conflict,
        summary=CONFLICT_PREFIX + kept[0].summary if conflict else kept[0].summary,
        findings=tuple(findings),
        dose=CONFLICT_DOSE if conflict else _dose(drug, kept, weight),
        monitoring=" ".join(dict.fromkeys(monitoring)),
        reversal=" ".join(dict.fromkeys(reversal)),
        assumptions=tuple(dict.fromkeys(notes)) if notes else _NO_NOTES,
    )


def _kept_rules(drug: str, context: _Context) -> list[_Fired]:
    """The rules that fire for `drug` and survive supersession, most restrictive first."""
    kb = context.kb
    fired = []
    cache = context.base
    for position in _candidates(drug, context):
        if position in cache:
            base = cache[position]
        else:
            base = cache[position] = _base(kb.rules[position], context)
        if base is not None:
            if base.rule.when.needs_present:
                base = _with_present(base, drug, context)
            if base is not None:
                fired.append(base)
    # Only a rule that holds under every reading of the inputs may lower another one.
    superseded = {rule_id for rule in fired if rule.certain for rule_id in rule.rule.supersedes}
    kept = [rule for rule in fired if rule.level and rule.rule.id not in superseded]
    if len(kept) > 1:
        kept.sort(key=lambda rule: (-rule.level, rule.rule.id))
    return kept


def _candidates(drug: str, context: _Context) -> tuple[int, ...]:
    """Positions of the rules for `drug` that this patient can fire, in knowledge-base order.

    A rule is left out when a condition, medication, drug or receptor-state override it needs is
    simply absent; patients alike in those respects share the list.
    """
    index = context.kb.index
    key = (
        drug,
        context.condition_codes,
        context.medication_codes,
        context.present_pool,
        context.override,
    )
    candidates = index.candidate_memo.get(key)
    if candidates is None:
        positions = set(index.unconditional_by_drug[drug])
        by_condition = index.conditional_by_drug[drug]
        for code in context.condition_codes:
            positions.update(by_condition.get(code, ()))
        candidates = tuple(
            position
            for position in sorted(positions)
            if _could_fire(context.kb.rules[position].when, context)
        )
        _remember(index.candidate_memo, key, candidates)
    return candidates


def _could_fire(when: When, context: _Context) -> bool:
    return not (
        (when.receptor_state and context.override not in when.receptor_state)
        or (when.medication_codes and when.medication_codes.isdisjoint(context.medication_codes))
        or (when.present_codes and when.present_codes.isdisjoint(context.present_pool))
        or (when.also_present_codes and when.also_present_codes.isdisjoint(context.present_pool))
    )


def _dose(drug: str, kept: list[_Fired], weight: Decimal | None) -> DoseGuidance | None:
    """Dose guidance from a finding at the caution's own level only: a dose that belongs to a
    milder finding must never sit beside a more restrictive verdict (a succinylcholine dose for
    myasthenic resistance on a card that contraindicates it after a stroke)."""
    for fired in kept:
        if fired.level != kept[0].level:
            break
        spec = fired.rule.dose_for(drug)
        if spec is not None:
            return dose_guidance(spec, fired.rule.id, weight)
    return None


def _with_present(base: _Fired, target: str, context: _Context) -> _Fired | None:
    """The rule's result for one planned drug, once its present requirements are checked."""
    when = base.rule.when
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
    level, effects, summary = rule.level or Level.NONE, rule.effects, rule.summary
    parts: list[_Match] = []
    if when.receptor_state:
        parts.append(_Match(frozenset((f"receptor-state:{context.override}",)), (), True))
    if when.conditions:
        found = _phased(rule, context) if rule.phases else _conditions(when, context)
        if found is None:
            return None
        if found.level is not None:
            level, effects, summary = found.level, found.effects, found.summary
        parts.append(found)
    if when.medications:
        found = _medications(when, context)
        if found is None:
            return None
        parts.append(found)
    if len(parts) == 1:  # the usual case, with nothing to merge
        only = parts[0]
        return _Fired(rule, level, effects, summary, only.triggers, only.notes, only.certain)
    return _Fired(
        rule,
        level,
        effects,
        summary,
        frozenset(trigger for part in parts for trigger in part.triggers),
        tuple(note for part in parts for note in part.notes),
        all(part.certain for part in parts),
    )


def _conditions(when: When, context: _Context) -> _Match | None:
    """Any listed condition, in the required status, whose known attributes fit."""
    codes = when.condition_codes
    needs_active = when.condition_status == "active"
    triggers: list[str] = []
    notes: list[str] = []
    certain = False
    for episode in context.episodes:
        if episode.code not in codes or (needs_active and not episode.possibly_active):
            continue
        attributes = _attributes(when, episode)
        if attributes is None:
            continue
        triggers.append(episode.trigger)
        notes += attributes[0]
        timely = episode.certainly_active if needs_active else episode.certainly_begun
        if not timely:
            notes += episode.notes
            notes.append(
                f"{episode.definition.name}: may not be active at the planned time; counted."
            )
        certain = certain or (timely and attributes[1])
    if not triggers:
        return None
    return _Match(frozenset(triggers), tuple(notes) if notes else _NO_NOTES, certain)


def _phased(rule: Rule, context: _Context) -> _Match | None:
    """The most restrictive phase possible for any listed condition whose attributes fit."""
    candidates: list[tuple[Phase, str, list[str], bool]] = []
    for episode in context.episodes:
        definition = episode.definition
        if episode.code not in rule.when.condition_codes:
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
        candidates.append((top, episode.trigger, notes, exact and attributes[1]))
    if not candidates:
        return None
    level = max(candidate[0].level for candidate in candidates)
    chosen = [candidate for candidate in candidates if candidate[0].level == level]
    phase = chosen[0][0]
    return _Match(
        triggers=frozenset(candidate[1] for candidate in chosen),
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


def _attributes(when: When, episode: ConditionEpisode) -> tuple[Sequence[str], bool] | None:
    """None when a known attribute value fails a constraint; else the notes and certainty.

    Constraints bind only conditions whose schema defines the attribute, and an unknown value
    fits every constraint: the cautious reading.
    """
    if not when.attributes:
        return _NO_NOTES, True
    definition = episode.definition
    notes: list[str] = []
    for name, constraint in when.attributes.items():
        if name not in definition.attributes:
            continue
        value = episode.values[name]
        if value is UNKNOWN:
            label = _label(definition, name)
            notes.append(f"{definition.name}: {label} unknown; treated the most cautious way.")
        elif not constraint.allows(value):
            return None
    # Every note records an unknown value, so the match is certain exactly when there are none.
    return notes, not notes


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
