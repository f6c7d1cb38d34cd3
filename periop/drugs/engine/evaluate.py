"""Evaluation: one caution per planned drug from the patient's state, the time and the rules.

Uncertain inputs are ranges, and a rule fires when it can hold under some reading of them, so
the level shown is the most cautious over every reading; each such reading is reported as an
assumption. Only a rule that holds under every reading may supersede another, so an unknown
value can never lower a caution.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar, cast

from periop.drugs.engine.card_text import unrepeated, without_rated_out_advice
from periop.drugs.engine.dose import (
    CONFLICT_DOSE,
    dose_guidance,
    most_specific_first,
    weighed_total,
)
from periop.drugs.engine.knowledge import DoseSpec, KnowledgeBase, show
from periop.drugs.engine.matching import (
    NO_NOTES,
    Context,
    Fired,
    found_by,
    kept_rules,
    remember,
    remembered_for,
)
from periop.drugs.engine.receptor_state import (
    check_evaluation_time,
    checked_override,
    derive_receptor_state,
    episode_at,
    receptor_state_from,
)
from periop.drugs.engine.timeline import MedicationCourse, instant, medication_course
from periop.drugs.engine.tolerated import chronic_course
from periop.drugs.engine.types import (
    EFFECT_TAGS,
    DoseGuidance,
    DrugCaution,
    EngineInputError,
    Evaluation,
    Level,
    MedicationInput,
    PatientState,
)

# Rule matching lives in matching.py and receptor-state derivation in receptor_state.py;
# derive_receptor_state stays importable from here.
__all__ = ["CONFLICT_PREFIX", "NO_CAUTION", "derive_receptor_state", "evaluate"]

NO_CAUTION = "No specific caution."
CONFLICT_PREFIX = "Opposing effects: response unpredictable; titrate to quantitative TOF. "
MAXIMUM_WEIGHT_KG = Decimal(1000)
_REVERSAL_CLASS = "reversal-agent"
_D = TypeVar("_D")
_EFFECT_ORDER = {tag: position for position, tag in enumerate(EFFECT_TAGS)}


def evaluate(
    state: PatientState, drugs: Sequence[str], at: dt.datetime, kb: KnowledgeBase
) -> Evaluation:
    """Cautions for the planned drugs at `at`; raises EngineInputError for input it cannot use."""
    context, weight = _resolved(state, drugs, at, kb)
    cautions, candidates, named = _planned_cautions(context, weight)
    evaluation = _evaluation(context, cautions, at)
    if not named:
        return evaluation
    planned = context.planned
    # An alternative is offered only if it is not planned already and the engine itself would
    # not rate it avoid or above for this patient, planned with everything that is planned.
    # The same patient at the same time: only the drugs planned differ.
    rated = _cautions(context.with_planned((*planned, *candidates)), weight) if candidates else ()
    offered = {caution.drug: caution for caution in rated[len(planned) :]}
    offered = {code: caution for code, caution in offered.items() if caution.level < Level.AVOID}
    cautions = tuple(_offered_only(caution, offered, kb) for caution in evaluation.cautions)
    return dataclasses.replace(
        evaluation, cautions=cautions, alternative_cautions=tuple(offered.values())
    )


def _offered_only(
    caution: DrugCaution, offered: Mapping[str, DrugCaution], kb: KnowledgeBase
) -> DrugCaution:
    """The caution with only the alternatives offered. The same object when every one is, else
    one object per card and alternatives offered (remembered), so that cards stay shared
    between evaluations alike in findings (presenters.check_answer)."""
    if not caution.alternatives:
        return caution
    kept = tuple(code for code in caution.alternatives if code in offered)
    if kept == caution.alternatives:
        return caution
    # Keyed by the card and what it keeps: never a drug's card key, which has four parts.
    memo = cast(dict[tuple[int, object], tuple[DrugCaution, DrugCaution]], kb.index.caution_memo)
    return remembered_for(memo, caution, kept, lambda card: _with_alternatives(card, kept))


def _resolved(
    state: PatientState, drugs: Sequence[str], at: dt.datetime, kb: KnowledgeBase
) -> tuple[Context, Decimal | None]:
    """The patient's state at `at` with `drugs` planned, and the weight; raises EngineInputError
    for input it cannot use, in this order: the time, the drugs, the override, the weight, the
    conditions, the medications."""
    check_evaluation_time(at)
    at_us = instant(at)
    planned = _planned_drugs(drugs, kb)
    override = checked_override(state)
    weight = _weight(state.weight_kg)
    episodes = tuple([episode_at(condition, at_us, kb) for condition in state.conditions])
    medications = tuple([_course(medication, at_us, kb) for medication in state.medications])
    return Context(kb, episodes, medications, planned, override), weight


def _cautions(context: Context, weight: Decimal | None) -> tuple[DrugCaution, ...]:
    """One caution per planned drug, in order."""
    return _planned_cautions(context, weight)[0]


def _planned_cautions(
    context: Context, weight: Decimal | None
) -> tuple[tuple[DrugCaution, ...], tuple[str, ...], bool]:
    """One caution per planned drug, in order; the alternatives they name that are not
    planned, in order; and whether they name any.

    Patients alike in what rules without a clock read, planned with the same drugs in the same
    order, share the plan's cards by what the planned drugs' rules with a clock found and which
    planned drugs are chronic medications they tolerate (matching.PlanCards says why that is the
    whole key): only those rules are matched again. A per-kg dose is worked out for the weight
    afterwards (remembered per card and weight)."""
    plan = context.plan_cards()
    base_at = context.base_at
    medications = context.medications
    key = (
        tuple([found_by(base_at(position)) for position in plan.clocked]),
        tuple([chronic_course(drug, medications) is not None for drug in plan.medicated]),
    )
    cards, weighed, candidates, named = plan.cards(key, lambda: _plan_cards(context))
    if weight is None or not weighed:
        return cards, candidates, named
    kb = context.kb
    cautions = list(cards)
    for position, spec in weighed:
        cautions[position] = _weighed(cautions[position], spec, weight, kb)
    return tuple(cautions), candidates, named


_PlanCards = tuple[tuple[DrugCaution, ...], tuple[tuple[int, DoseSpec], ...], tuple[str, ...], bool]


def _plan_cards(context: Context) -> _PlanCards:
    """`_planned_cautions`'s cards, drug by drug, without the figures in mg; the position and
    dose entry of each card whose figures in mg a weight would give; the alternatives the cards
    name that are not planned; and whether they name any (a weight changes neither)."""
    cards = tuple(_card_for(drug, context) for drug in context.planned)
    # Advice is edited on the cards as the knowledge base gives them (remembered per card), and
    # a per-kg dose is worked out for the weight afterwards: its text does not depend on it.
    edited = without_rated_out_advice(tuple(card for card, _ in cards), context.kb)
    weighed = tuple(
        (position, spec) for position, (_, spec) in enumerate(cards) if spec is not None
    )
    planned = context.planned
    named = tuple(dict.fromkeys(code for card in edited for code in card.alternatives))
    candidates = tuple(code for code in named if code not in planned)
    return edited, weighed, candidates, bool(named)


def _evaluation(context: Context, cautions: tuple[DrugCaution, ...], at: dt.datetime) -> Evaluation:
    """The evaluation of the cautions: the receptor state and every assumption made."""
    kb, episodes = context.kb, context.episodes
    receptor_state, receptor_notes = receptor_state_from(episodes, context.override)
    notes = [note for episode in episodes for note in episode.notes]
    notes += [note for medication in context.medications for note in medication.notes]
    notes += receptor_notes
    notes += [note for caution in cautions for note in caution.assumptions]
    # By position, in the order the class declares its fields: a frozen dataclass built with
    # keywords costs twice as much, and every evaluation builds one.
    return Evaluation(
        kb.version,  # knowledge_base_version
        kb.digest,  # knowledge_base_digest
        at,  # at
        receptor_state,  # receptor_state
        cautions,  # cautions
        max([caution.level for caution in cautions], default=Level.NONE),  # highest_level
        tuple(dict.fromkeys(notes)),  # assumptions
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
    if not value.is_finite() or value <= 0 or value > MAXIMUM_WEIGHT_KG:
        raise EngineInputError(
            "weight_kg", f"Weight must be above 0 and at most {MAXIMUM_WEIGHT_KG} kg, not {value}."
        )
    return value


def _course(medication: MedicationInput, at_us: int, kb: KnowledgeBase) -> MedicationCourse:
    code = medication.code
    definition = kb.drugs.get(code) if isinstance(code, str) else None
    if definition is None:
        raise EngineInputError("medications", f"Unknown medication code {show(code)}.")
    return medication_course(definition, medication, at_us)


def _card_for(drug: str, context: Context) -> tuple[DrugCaution, DoseSpec | None]:
    """The caution for `drug`, with any per-kg dose given without a weight; and that dose's
    entry, when its figures in mg depend on the weight.

    Patients alike in what rules without a clock read, planned with the same drugs, share it
    by what the drug's rules with a clock found (matching.DrugCards says why that is the whole
    key): only those rules are matched again."""
    cards = context.drug_cards(drug)
    base_at = context.base_at
    key = (
        chronic_course(drug, context.medications) is not None,
        tuple([found_by(base_at(position)) for position in cards.clocked]),
    )
    return cards.card(key, lambda: _card_by_rules(drug, context))


def _card_by_rules(drug: str, context: Context) -> tuple[DrugCaution, DoseSpec | None]:
    """`_card_for`'s card, matched rule by rule."""
    kept = kept_rules(drug, context)
    spared = context.spared.get(drug, NO_NOTES)
    # The card is a pure function of this key and the knowledge base. Every part of a kept rule
    # that the card reads is in the key; `certain` only decides supersession, done by now.
    key = (
        drug,
        spared,
        context.present_pool,
        tuple(
            (
                fired.rule.id,
                fired.level,
                fired.effects,
                fired.summary,
                fired.triggers,
                fired.notes,
                fired.unknown_reading,
            )
            for fired in kept
        ),
    )
    cards = context.kb.index.caution_memo
    card = cards.get(key)
    if card is None:
        card = _card(drug, kept, spared, context)
        remember(cards, key, card)
    return cast(tuple[DrugCaution, DoseSpec | None], card)


def _weighed(
    caution: DrugCaution, spec: DoseSpec, weight: Decimal, kb: KnowledgeBase
) -> DrugCaution:
    """The caution with its per-kg dose (from `spec`) also given in mg for the weight.

    Remembered per card and weight, so that patients alike in findings and weight share the
    card as they share every other (presenters.check_answer). The card decides `spec` (its
    dose's entry), and weights equal in value give the same figures (each is rounded to
    0.1 mg), so the card and the weight's value are the whole key."""
    if caution.dose is None or spec.per_kg_mg is None:
        raise ValueError("Only a card with a per-kg dose is weighed.")  # never, by _card
    dose, per_kg_mg = caution.dose, spec.per_kg_mg

    def weighed(card: DrugCaution) -> DrugCaution:
        return _with_dose(card, _with_total(dose, weighed_total(per_kg_mg, spec.max_mg, weight)))

    memo = cast(dict[tuple[int, object], tuple[DrugCaution, DrugCaution]], kb.index.weighed_memo)
    return remembered_for(memo, caution, weight, weighed)


def _field_replacer(cls: type[_D], name: str) -> Callable[[_D, object], _D]:
    """`dataclasses.replace(item, name=value)` for a dataclass whose fields are all set by its
    constructor, at half the cost: every field is read at once and passed by position."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not all(field.init for field in fields):
        raise TypeError(f"{cls.__name__} has a field its constructor does not set.")
    names = [field.name for field in fields]
    values_of = operator.attrgetter(*names)
    position = names.index(name)

    def replaced(item: _D, value: object) -> _D:
        values = list(values_of(item))
        values[position] = value
        return cls(*values)

    return replaced


_with_dose = _field_replacer(DrugCaution, "dose")
_with_alternatives = _field_replacer(DrugCaution, "alternatives")
_with_total = _field_replacer(DoseGuidance, "total_mg")


def _card(
    drug: str, kept: list[Fired], spared: tuple[str, ...], context: Context
) -> tuple[DrugCaution, DoseSpec | None]:
    """The caution for `drug` from its kept rules, with any per-kg dose given without a weight;
    and that dose's entry, when a weight would give its figures in mg."""
    kb = context.kb
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
            monitoring=unrepeated(monitoring),
            reversal="",
            assumptions=spared,
        ), None
    effects: set[str] = set()
    reversal: list[str] = []
    notes: list[str] = list(spared)
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
    level = kept[0].level
    # An avoid or contraindicated card leads with what to do instead and its restrictive
    # finding; titration advice (a conflict's included) belongs only to its dose, which applies
    # only if the drug is given after an override.
    restrictive = level >= Level.AVOID
    entry = None if conflict else _dose_entry(drug, kept)
    dose = None
    if conflict:
        dose = CONFLICT_DOSE
    elif entry is not None:
        dose = dose_guidance(entry[0], entry[1], None)
    if dose is not None and restrictive:
        dose = dataclasses.replace(dose, only_after_override=True)
    weighed = entry[0] if entry is not None and entry[0].per_kg_mg is not None else None
    caution = DrugCaution(
        drug=drug,
        drug_class=kb.drugs[drug].drug_class,
        level=level,
        effects=tuple(sorted(effects, key=_EFFECT_ORDER.__getitem__)),
        conflict=conflict,
        summary=_conflict_summary(kept) if conflict and not restrictive else kept[0].summary,
        findings=tuple(findings),
        dose=dose,
        monitoring=unrepeated(monitoring),
        reversal=unrepeated(reversal),
        assumptions=tuple(dict.fromkeys(notes)) if notes else NO_NOTES,
        instead=_instead(drug, kept, kb) if restrictive else "",
        alternatives=_alternatives(drug, kept, context) if restrictive else (),
    )
    return caution, weighed


def _alternatives(drug: str, kept: list[Fired], context: Context) -> tuple[str, ...]:
    """The drugs that the findings at the caution's own level name to give instead, each only
    when what it needs is present (another planned drug or an active medication)."""
    level = kept[0].level
    others = context.present_pool - {drug}
    codes = [
        alternative.drug
        for fired in kept
        if fired.level == level
        for alternative in fired.rule.alternatives
        if not alternative.present_codes or not alternative.present_codes.isdisjoint(others)
    ]
    return tuple(dict.fromkeys(codes))


def _instead(drug: str, kept: list[Fired], kb: KnowledgeBase) -> str:
    """What an avoid or contraindicated card leads with: not to give the drug and, for a
    reversal agent, the other reversal its restrictive findings advise ("Use sugammadex after
    rocuronium or vecuronium" on an avoided neostigmine). For any other drug a finding's
    reversal advice is about reversing that drug if it is given, so it stays with the part of
    the card that applies only after an override."""
    name = kb.drugs[drug].name
    name = name[:1].lower() + name[1:] if name[1:2].islower() else name
    level = kept[0].level
    if level == Level.CONTRAINDICATED:
        lead = f"Do not give {name}."
    else:
        lead = f"Avoid {name} unless there is no reasonable alternative."
    if kb.drugs[drug].drug_class != _REVERSAL_CLASS:
        return lead
    alternatives = [
        fired.rule.reversal for fired in kept if fired.level == level and fired.rule.reversal
    ]
    return unrepeated([lead, *alternatives])


def _conflict_summary(kept: list[Fired]) -> str:
    """Both sides of a conflict, never one netted against the other: the most restrictive
    finding that increases sensitivity, then the one that gives resistance (each side's
    summary once, in that order)."""
    sides = [
        next(fired.summary for fired in kept if effect in fired.effects)
        for effect in ("increased_sensitivity", "resistance")
    ]
    return CONFLICT_PREFIX + " ".join(dict.fromkeys(sides))


def _dose_entry(drug: str, kept: list[Fired]) -> tuple[DoseSpec, str] | None:
    """The dose entry, and its rule, that gives the caution's dose guidance: one from a finding
    at the caution's own level only, since a dose that belongs to a milder finding must never sit
    beside a more restrictive verdict (a succinylcholine dose for myasthenic resistance on a card
    that contraindicates it after a stroke). Among the findings at that level, the most specific
    one with a dose for the drug gives it (dose.py)."""
    level = kept[0].level
    candidates = [fired for fired in kept if fired.level == level]
    if len(candidates) > 1:
        candidates = most_specific_first(candidates)
    for fired in candidates:
        spec = fired.rule.dose_for(drug)
        if spec is not None:
            return spec, fired.rule.id
    return None
