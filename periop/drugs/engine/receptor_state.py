"""Receptor-state derivation: which conditions up- or down-regulate the acetylcholine receptors
at the evaluation time, after the overrides their known attributes select.

A condition that may or may not affect the receptors at that time is counted, the cautious
reading, and says so in a note.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

from periop.drugs.engine.attribute_readings import Readings, apply_implications, attribute_label
from periop.drugs.engine.attribute_units import apply_conversions
from periop.drugs.engine.knowledge import (
    KnowledgeBase,
    check_condition_attributes,
    show,
)
from periop.drugs.engine.timeline import UNKNOWN, ConditionEpisode, condition_episode, instant
from periop.drugs.engine.types import (
    RECEPTOR_STATES,
    ConditionInput,
    EngineInputError,
    PatientState,
    ReceptorSource,
    ReceptorState,
)


def derive_receptor_state(state: PatientState, at: dt.datetime, kb: KnowledgeBase) -> ReceptorState:
    """The receptor state at `at` from the conditions (and override), without planned drugs."""
    check_evaluation_time(at)
    override = checked_override(state)
    at_us = instant(at)
    episodes = tuple(episode_at(condition, at_us, kb) for condition in state.conditions)
    return receptor_state_from(episodes, override)[0]


def check_evaluation_time(at: object) -> None:
    """Raises EngineInputError unless `at` is a datetime with a time-zone offset."""
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise EngineInputError("at", f"The evaluation time {at} must include a time-zone offset.")


def checked_override(state: PatientState) -> str | None:
    """The patient's receptor-state override, if any; raises EngineInputError for an unknown one."""
    override = state.receptor_state_override
    if override is not None and override not in RECEPTOR_STATES:
        raise EngineInputError(
            "receptor_state",
            f"Unknown receptor state {show(override)}; expected one of "
            f"{', '.join(RECEPTOR_STATES)}.",
        )
    return override


def episode_at(condition: ConditionInput, at_us: int, kb: KnowledgeBase) -> ConditionEpisode:
    """The condition as an episode at `at_us`; raises EngineInputError for input it cannot use."""
    code = condition.code
    definition = kb.conditions.get(code) if isinstance(code, str) else None
    if definition is None:
        raise EngineInputError("conditions", f"Unknown condition code {show(code)}.")
    if not isinstance(condition.attributes, Mapping):
        raise EngineInputError("conditions", f"Attributes of condition '{code}' must be a mapping.")
    for name, problem in check_condition_attributes(kb, code, condition.attributes).items():
        raise EngineInputError("conditions", f"Condition '{code}' attribute '{name}': {problem}")
    episode = condition_episode(definition, condition, at_us)
    apply_conversions(episode)
    apply_implications(episode)
    return episode


def receptor_state_from(
    episodes: tuple[ConditionEpisode, ...], override: str | None
) -> tuple[ReceptorState, list[str]]:
    """The receptor state the episodes give (or the override), and the assumptions made."""
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
        # By position (value, overridden, derived, sources): a frozen dataclass built with
        # keywords costs twice as much, and every evaluation builds one.
        ReceptorState(
            override if override is not None else derived,
            override is not None,
            derived,
            tuple(sources),
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
        # Contradictory readings count as unknown here: the condition keeps its own effect.
        unknown = [
            name
            for name in override.attributes
            if episode.values[name] is UNKNOWN or isinstance(episode.values[name], Readings)
        ]
        if unknown:
            # Not knowing the attribute keeps the condition's own effect: the cautious reading.
            notes += [
                f"{definition.name}: {attribute_label(definition, name)} unknown; "
                f"its receptor effect is taken as {definition.receptor_effect}."
                for name in unknown
            ]
            continue
        if all(
            constraint.allows(episode.values[name])
            for name, constraint in override.attributes.items()
        ):
            return override.effect, []
    return definition.receptor_effect, notes
