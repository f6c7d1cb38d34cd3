"""Rule matching: which rules fire for a planned drug, given the patient's conditions,
medications, other planned drugs and receptor-state override, and which survive supersession.

Uncertain inputs are ranges, and a rule fires when it can hold under some reading of them; only a
rule that holds under every reading may supersede another.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar, cast

from periop.drugs.engine.attribute_readings import Readings, attribute_label
from periop.drugs.engine.knowledge import ConditionDefinition, KnowledgeBase, Phase, Rule, When
from periop.drugs.engine.timeline import (
    UNKNOWN,
    ConditionEpisode,
    MedicationCourse,
    Span,
    window_text,
)
from periop.drugs.engine.tolerated import chronic_course, tolerated_note
from periop.drugs.engine.types import Finding, Level

NO_NOTES: tuple[str, ...] = ()
_T = TypeVar("_T")
_K = TypeVar("_K")


class _Match:
    """What part of a rule's `when` found in the patient; `level` set only by a phased rule."""

    # A plain slotted class: evaluation builds many of these, and frozen dataclasses are slower.
    __slots__ = ("certain", "effects", "level", "notes", "summary", "triggers", "unknown_reading")

    def __init__(
        self,
        triggers: frozenset[str],
        notes: tuple[str, ...],
        certain: bool,
        level: Level | None = None,
        effects: tuple[str, ...] = (),
        summary: str = "",
        unknown_reading: str = "",
    ) -> None:
        self.triggers = triggers
        self.notes = notes
        self.certain = certain  # holds under every reading of the inputs
        self.level = level
        self.effects = effects
        self.summary = summary
        # Holds only through the cautious reading of an unknown attribute value: UNKNOWN_TRAIT
        # or UNKNOWN_MEASURE (see _unknown_kind), "" when known values meet the rule.
        self.unknown_reading = unknown_reading


class Fired:
    """A rule whose `when` holds under some reading of the inputs, for one or more drugs."""

    __slots__ = (
        "_finding",
        "certain",
        "effects",
        "level",
        "notes",
        "rule",
        "summary",
        "triggers",
        "unknown_reading",
    )

    def __init__(
        self,
        rule: Rule,
        level: Level,
        effects: tuple[str, ...],
        summary: str,
        triggers: frozenset[str],
        notes: tuple[str, ...],
        certain: bool,
        unknown_reading: str = "",
    ) -> None:
        self.rule = rule
        self.level = level
        self.effects = effects
        self.summary = summary
        self.triggers = triggers
        self.notes = notes
        self.certain = certain  # holds under every reading of the inputs
        # Holds only through the cautious reading of an unknown attribute value (_Match).
        self.unknown_reading = unknown_reading
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
                    unconfirmed=_unconfirmed(rule, self.level, self.effects, self.summary),
                )
                remember(memo, key, finding)
            self._finding = finding
        return self._finding


def _unconfirmed(rule: Rule, level: Level, effects: tuple[str, ...], summary: str) -> bool:
    """The applying phase's own `unconfirmed`, else the rule's. Phases alike in level, effects and
    summary are alike in this flag too (the loader checks it), so the finding's own fields tell
    which phase applied."""
    for phase in rule.phases:
        if phase.unconfirmed is not None and (phase.level, phase.effects, phase.summary) == (
            level,
            effects,
            summary,
        ):
            return phase.unconfirmed
    return rule.unconfirmed


_MEMO_LIMIT = 4096


def remember(memo: dict[_K, _T], key: _K, value: _T, limit: int | None = None) -> None:
    """Stores `value` under `key`, clearing the memo first when it holds `limit` entries
    (_MEMO_LIMIT by default): a long-running server's memory stays bounded whatever patients
    it sees."""
    if len(memo) >= (_MEMO_LIMIT if limit is None else limit):
        memo.clear()
    memo[key] = value


_O = TypeVar("_O")


def remembered_for(
    memo: dict[tuple[int, object], tuple[_O, _T]],
    item: _O,
    extra: object,
    build: Callable[[_O], _T],
    limit: int | None = None,
) -> _T:
    """`build(item)`, remembered by the object `item` itself and `extra` (`remember`'s bound).
    The entry holds the object, so that its id cannot stand for another while remembered."""
    key = (id(item), extra)
    found = memo.get(key)
    if found is not None and found[0] is item:
        return found[1]
    value = build(item)
    remember(memo, key, (item, value), limit)
    return value


class Context:
    """The patient's state resolved for one evaluation, shared by every planned drug."""

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
        self.condition_codes = frozenset([episode.definition.code for episode in episodes])
        self.medications = medications
        self.medication_codes = frozenset(
            [medication.definition.code for medication in medications if medication.possibly_active]
        )
        self.planned = planned
        self.planned_set = frozenset(planned)
        # Everything that can be "present": a rule needing anything else cannot fire.
        self.present_pool = self.medication_codes | self.planned_set
        self.override = override
        # The target-independent part of each rule: computed at most once per evaluation, and
        # for a rule that reads no clock shared with every evaluation alike in `facts`.
        self.base: dict[int, Fired | None] = {}
        self.shared: dict[int, Fired | None] = _shared_bases(kb, self.facts())
        # Per planned drug: why rules were left out for a tolerated chronic medication.
        self.spared: dict[str, tuple[str, ...]] = {}

    def with_planned(self, planned: tuple[str, ...]) -> Context:
        """The same patient at the same time with other drugs planned. It shares every rule's
        target-independent result, which reads no planned drug (present requirements are
        checked per drug, after it)."""
        other = copy.copy(self)
        other.planned = planned
        other.planned_set = frozenset(planned)
        other.present_pool = self.medication_codes | other.planned_set
        other.spared = {}
        return other

    def base_at(self, position: int) -> Fired | None:
        """The target-independent result of the rule at `position` for this patient."""
        shared = self.shared
        if position in shared:
            return shared[position]
        own = self.base
        if position in own:
            return own[position]
        rule = self.kb.rules[position]
        base = _base(rule, self)
        (own if _reads_a_clock(rule) else shared)[position] = base
        return base

    def drug_cards(self, drug: str) -> DrugCards:
        """What evaluations alike in `facts` and in the drugs planned share for `drug`: kept
        by the results shared for those facts (the very object) and the drugs."""

        def build(_: object) -> DrugCards:
            rules = self.kb.rules
            candidates = _candidates(drug, self)
            return DrugCards(
                tuple(position for position in candidates if _reads_a_clock(rules[position]))
            )

        memo = cast(
            dict[tuple[int, object], tuple[object, DrugCards]], self.kb.index.drug_cards_memo
        )
        return remembered_for(memo, self.shared, (drug, self.planned_set), build)

    def plan_cards(self) -> PlanCards:
        """What evaluations alike in `facts` and in the drugs planned, in their order, share
        for the whole plan: kept by the results shared for those facts (the very object) and the
        drugs."""

        def build(_: object) -> PlanCards:
            cards = [self.drug_cards(drug) for drug in self.planned]
            return PlanCards(
                tuple(dict.fromkeys(position for drug in cards for position in drug.clocked)),
                tuple(drug for drug in self.planned if drug in self.medication_codes),
            )

        memo = cast(
            dict[tuple[int, object], tuple[object, PlanCards]], self.kb.index.plan_cards_memo
        )
        return remembered_for(memo, self.shared, self.planned, build)

    def facts(self) -> tuple[object, ...]:
        """Everything a rule without phases or a medication window reads of this patient.

        Such a rule reads of a condition its code, whether it is possibly or certainly active
        or begun, its notes and aftermath notes, its attribute values and how they were read;
        of a medication its code, whether it has started, whether it is possibly or certainly
        active, and its notes and aftermath notes; and the receptor-state override. Never a
        time or a duration (the phases and the windows read those): patients whose records
        differ only in times that change none of these get the same results from such rules.
        """
        return (
            self.override,
            tuple(
                [
                    (
                        episode.code,
                        episode.trigger,
                        episode.possibly_active,
                        episode.certainly_active,
                        episode.certainly_begun,
                        episode.notes,
                        episode.aftermath_notes,
                        # Typed, so that a value equal to another of another type (1 and True,
                        # 1 and 1.0) is never taken for it.
                        tuple(
                            [(name, type(value), value) for name, value in episode.values.items()]
                        ),
                        tuple(episode.reading_notes.items()),
                    )
                    for episode in self.episodes
                ]
            ),
            tuple(
                [
                    (
                        medication.definition.code,
                        medication.elapsed is None,
                        medication.possibly_active,
                        medication.certainly_active,
                        medication.notes,
                        medication.aftermath_notes,
                    )
                    for medication in self.medications
                ]
            ),
        )


# At most this many cards per drug planned with the same drugs for patients alike in
# `Context.facts` (DrugCards); the DrugCards themselves are bounded as every memo is.
CARDS_PER_DRUG = 16


class DrugCards:
    """For one drug, planned with the same drugs, of patients alike in `Context.facts`: the
    positions of its candidate rules that read a clock, and its card (whatever the evaluation
    builds from its kept rules) by what those rules found and whether the drug is a chronic
    medication the patient tolerates.

    The card is a pure function of that key. The candidates depend only on the drug, the codes
    of the conditions and medications, the drugs planned and the override; every rule without
    a clock gives the same result to all these patients; a rule's present requirement reads
    only the medications' facts and the drugs planned; and what sparing a tolerated medication
    reads beyond the rules' results is the one time-dependent fact, whether its course counts as
    chronic (tolerated.py).
    """

    __slots__ = ("by_found", "clocked")

    def __init__(self, clocked: tuple[int, ...]) -> None:
        self.clocked = clocked
        self.by_found: dict[tuple[object, ...], object] = {}

    def card(self, found: tuple[object, ...], build: Callable[[], _T]) -> _T:
        """The card for what was `found`, built by `build` the first time."""
        return _built_once(self.by_found, found, build, CARDS_PER_DRUG)


# At most this many sets of cautions per plan (PlanCards); the PlanCards themselves are bounded
# as every memo is.
CAUTIONS_PER_PLAN = 16


class PlanCards:
    """For drugs planned together, in their order, of patients alike in `Context.facts`: the
    positions of the planned drugs' candidate rules that read a clock (each once, in the order
    the drugs name them), the planned drugs that are possibly active medications, and the
    plan's cards by what those rules found and which of those drugs are chronic medications the
    patient tolerates.

    The plan's cards are a pure function of that key: each drug's card is a pure function of
    its DrugCards key (what its own rules with a clock found, which `clocked` holds, and whether
    it is a tolerated chronic medication, which only a drug the patient takes can be), and
    advice to use a drug the plan rates out is edited from the cards alone (card_text.py). A
    per-kg dose's figures in mg are worked out afterwards, for the weight.
    """

    __slots__ = ("by_found", "clocked", "medicated")

    def __init__(self, clocked: tuple[int, ...], medicated: tuple[str, ...]) -> None:
        self.clocked = clocked
        self.medicated = medicated
        self.by_found: dict[tuple[object, ...], object] = {}

    def cards(self, found: tuple[object, ...], build: Callable[[], _T]) -> _T:
        """The plan's cards for what was `found`, built by `build` the first time."""
        return _built_once(self.by_found, found, build, CAUTIONS_PER_PLAN)


def _built_once(
    memo: dict[tuple[object, ...], object],
    key: tuple[object, ...],
    build: Callable[[], _T],
    limit: int,
) -> _T:
    """`build()`, remembered in `memo` by `key` (at most `limit` entries, `remember`'s way)."""
    value = memo.get(key)
    if value is None:
        value = build()
        remember(memo, key, value, limit)
    return value  # type: ignore[return-value]


def _shared_bases(kb: KnowledgeBase, facts: tuple[object, ...]) -> dict[int, Fired | None]:
    memo = kb.index.base_memo
    shared = memo.get(facts)
    if shared is None:
        shared = {}
        remember(memo, facts, shared)
    return shared  # type: ignore[return-value]


def found_by(base: Fired | None) -> tuple[object, ...] | None:
    """Everything of a rule's target-independent result that matching reads after it."""
    if base is None:
        return None
    return (
        base.level,
        base.effects,
        base.summary,
        base.triggers,
        base.notes,
        base.certain,
        base.unknown_reading,
    )


def _reads_a_clock(rule: Rule) -> bool:
    """A rule whose result depends on durations (phases, a medication window)."""
    return bool(rule.phases) or rule.when.medication_hours is not None


def kept_rules(drug: str, context: Context) -> list[Fired]:
    """The rules that fire for `drug` and survive supersession, most restrictive first."""
    fired = []
    base_at = context.base_at
    trait = False
    for position in _candidates(drug, context):
        base = base_at(position)
        if base is None:
            continue
        if base.rule.when.needs_present:
            base = _with_present(base, drug, context)
            if base is None:
                continue
        fired.append(base)
        trait = trait or base.unknown_reading == UNKNOWN_TRAIT
    if trait:
        fired = _spare_tolerated(drug, fired, context)
    # Only a rule that holds under every reading of the inputs may lower another one.
    superseded = {rule_id for rule in fired if rule.certain for rule_id in rule.rule.supersedes}
    kept = [rule for rule in fired if rule.level and rule.rule.id not in superseded]
    if len(kept) > 1:
        kept.sort(key=lambda rule: (-rule.level, rule.rule.id))
    return kept


def _spare_tolerated(drug: str, fired: list[Fired], context: Context) -> list[Fired]:
    """Leaves out the rules that hold only through an unknown attribute when `drug` is a chronic
    medication the patient already takes (tolerated.py says why), and records the assumption."""
    course = chronic_course(drug, context.medications)
    if course is None:
        return fired
    spared = [rule for rule in fired if rule.unknown_reading == UNKNOWN_TRAIT]
    context.spared[drug] = tuple(
        dict.fromkeys(tolerated_note(course, rule.summary) for rule in spared)
    )
    return [rule for rule in fired if rule.unknown_reading != UNKNOWN_TRAIT]


def _candidates(drug: str, context: Context) -> tuple[int, ...]:
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
        remember(index.candidate_memo, key, candidates)
    return candidates


def _could_fire(when: When, context: Context) -> bool:
    return not (
        (when.receptor_state and context.override not in when.receptor_state)
        or (when.medication_codes and when.medication_codes.isdisjoint(context.medication_codes))
        or (when.present_codes and when.present_codes.isdisjoint(context.present_pool))
        or (when.also_present_codes and when.also_present_codes.isdisjoint(context.present_pool))
    )


def _with_present(base: Fired, target: str, context: Context) -> Fired | None:
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
    return Fired(
        base.rule,
        base.level,
        base.effects,
        base.summary,
        frozenset(triggers),
        tuple(notes),
        certain,
        base.unknown_reading,
    )


def _present(
    codes: frozenset[str], target: str, context: Context
) -> tuple[set[str], list[str], bool] | None:
    triggers: set[str] = set()
    notes: list[str] = []
    certain = False
    for medication in context.medications:
        if medication.definition.code in codes and medication.possibly_active:
            triggers.add(f"medication:{medication.definition.code}")
            notes += medication.aftermath_notes
            certain = certain or (medication.certainly_active and not medication.aftermath_notes)
            if not medication.certainly_active:
                notes += medication.notes
    for drug in context.planned:
        # A planned drug never satisfies its own rule: "present" means something else is.
        if drug != target and drug in codes:
            triggers.add(f"drug:{drug}")
            certain = True
    return (triggers, notes, certain) if triggers else None


def _base(rule: Rule, context: Context) -> Fired | None:
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
        return Fired(
            rule,
            level,
            effects,
            summary,
            only.triggers,
            only.notes,
            only.certain,
            only.unknown_reading,
        )
    return Fired(
        rule,
        level,
        effects,
        summary,
        frozenset(trigger for part in parts for trigger in part.triggers),
        tuple(note for part in parts for note in part.notes),
        all(part.certain for part in parts),
        _either(part.unknown_reading for part in parts),
    )


def _conditions(when: When, context: Context) -> _Match | None:
    """Any listed condition, in the required status, whose known attributes fit."""
    codes = when.condition_codes
    needs_active = when.condition_status == "active"
    triggers: list[str] = []
    notes: list[str] = []
    certain = False
    unknown_reading: str | None = None
    for episode in context.episodes:
        if episode.code not in codes or (needs_active and not episode.possibly_active):
            continue
        attributes = _attributes(when, episode)
        if attributes is None:
            continue
        unknown_reading = _both(unknown_reading, attributes[1], when, episode)
        triggers.append(episode.trigger)
        notes += attributes[0]
        if needs_active:
            notes += episode.aftermath_notes
        timely = episode.certainly_active if needs_active else episode.certainly_begun
        if not timely:
            notes += episode.notes
            notes.append(
                f"{episode.definition.name}: may not be active at the planned time; counted."
            )
        # A rule that fires only through an aftermath never lowers another (supersession).
        lingering = needs_active and bool(episode.aftermath_notes)
        certain = certain or (timely and attributes[1] and not lingering)
    if not triggers:
        return None
    return _Match(
        frozenset(triggers),
        tuple(notes) if notes else NO_NOTES,
        certain,
        None,
        (),
        "",
        unknown_reading or "",
    )


# How a rule can hold only through the cautious reading of unknown attribute values. A choice
# attribute says what kind of disease it is (an antibody, a gene, a genotype): a medication the
# patient has long tolerated tells against the kinds that forbid it, so that reading is spared
# for it (tolerated.py). A number or a boolean measures a state that changes (a serum level, a
# clearance, a deficit): tolerance says nothing about its value now, so it is never spared.
UNKNOWN_TRAIT = "trait"
UNKNOWN_MEASURE = "measure"


def _unknown_kind(when: When, episode: ConditionEpisode) -> str:
    """UNKNOWN_TRAIT when only choice attributes the rule constrains are unknown for this
    episode, UNKNOWN_MEASURE when any other such attribute is, else ""."""
    definition = episode.definition
    unknown = [
        definition.attributes[name].type
        for name in when.attributes
        if name in definition.attributes and episode.values[name] is UNKNOWN
    ]
    if not unknown:
        return ""
    return UNKNOWN_TRAIT if all(kind == "choice" for kind in unknown) else UNKNOWN_MEASURE


def _both(so_far: str | None, certain_values: bool, when: When, episode: ConditionEpisode) -> str:
    """The unknown reading of a rule matched by several episodes: it holds through known values
    when any episode's known values meet it; otherwise the least sparable kind."""
    kind = "" if certain_values else _unknown_kind(when, episode)
    if so_far is None:
        return kind
    if not so_far or not kind:
        return ""
    return UNKNOWN_MEASURE if UNKNOWN_MEASURE in (so_far, kind) else UNKNOWN_TRAIT


def _either(kinds: Iterable[str]) -> str:
    """The unknown reading of a rule whose parts must all hold: any part's, the least sparable."""
    found = set(kinds)
    if UNKNOWN_MEASURE in found:
        return UNKNOWN_MEASURE
    return UNKNOWN_TRAIT if UNKNOWN_TRAIT in found else ""


def _phased(rule: Rule, context: Context) -> _Match | None:
    """The most restrictive phase possible for any listed condition whose attributes fit."""
    candidates: list[tuple[Phase, str, list[str], bool]] = []
    unknown_reading: str | None = None
    # Each phase's status decides. A rule for any status states itself what applies after
    # resolution, so its phases see the recorded status; any other rule's phases see a condition
    # inside its aftermath as still ongoing.
    recorded = rule.when.condition_status == "any"
    for episode in context.episodes:
        definition = episode.definition
        if episode.code not in rule.when.condition_codes:
            continue
        attributes = _attributes(rule.when, episode)
        if attributes is None:
            continue
        statuses = episode.statuses if recorded else episode.effective_statuses
        possible = []
        for phase in rule.phases:
            if phase.status != "any" and phase.status not in statuses:
                continue
            clock = _clock(episode, phase)
            if clock is not None and clock.meets(phase.start, phase.end):
                possible.append(phase)
        if not possible:
            continue
        top = possible[0]
        for phase in possible[1:]:
            if phase.level > top.level:
                top = phase
        clock = _clock(episode, top)
        exact = (
            len(possible) == 1
            and clock is not None
            and clock.within(top.start, top.end)
            and (top.status == "any" or statuses == {top.status})
        )
        notes = list(attributes[0])
        if not recorded and episode.aftermath_notes:
            notes += episode.aftermath_notes
            exact = False
        if not exact:
            notes += episode.notes
        if len(possible) > 1:
            notes.append(_phases_note(definition, episode, possible, statuses))
        candidates.append((top, episode.trigger, notes, exact and attributes[1]))
        unknown_reading = _both(unknown_reading, attributes[1], rule.when, episode)
    if not candidates:
        return None
    level = max(candidate[0].level for candidate in candidates)
    chosen = [candidate for candidate in candidates if candidate[0].level == level]
    # Equally restrictive phases of several records: the one the rule lists first, as within one
    # record, so that the order the records were entered in never changes the finding.
    if len(chosen) == 1:
        phase = chosen[0][0]
    else:
        picked = {id(pick[0]) for pick in chosen}
        phase = next(item for item in rule.phases if id(item) in picked)
    return _Match(
        frozenset([candidate[1] for candidate in chosen]),  # triggers
        tuple([note for candidate in chosen for note in candidate[2]]),  # notes
        any([candidate[3] for candidate in candidates]),  # certain
        phase.level,  # level
        phase.effects,  # effects
        phase.summary,  # summary
        unknown_reading or "",  # unknown_reading
    )


def _clock(episode: ConditionEpisode, phase: Phase) -> Span | None:
    """The possible durations the phase's window is measured on; None when it has not started."""
    if phase.since == "resolution":
        return episode.since_resolution
    return episode.elapsed if phase.until == "evaluation" else episode.exposure


def _phases_note(
    definition: ConditionDefinition,
    episode: ConditionEpisode,
    possible: list[Phase],
    statuses: frozenset[str],
) -> str:
    reasons = []
    if episode.elapsed.lo != episode.elapsed.hi:
        reasons.append("time since onset uncertain")
    since = episode.since_resolution
    if any(phase.since == "resolution" for phase in possible) and (
        since is not None and since.lo != since.hi
    ):
        reasons.append("time since resolution uncertain")
    if len(statuses) > 1:
        reasons.append("may or may not be resolved")
    windows = ", ".join(
        window_text(phase.from_hours, phase.to_hours)
        + (" after resolution" if phase.since == "resolution" else "")
        + (" until resolution" if phase.until == "resolution" else "")
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
        return NO_NOTES, True
    definition = episode.definition
    notes: list[str] = []
    read: list[str] = []
    for name, constraint in when.attributes.items():
        if name not in definition.attributes:
            continue
        value = episode.values[name]
        if value is UNKNOWN:
            label = attribute_label(definition, name)
            notes.append(f"{definition.name}: {label} unknown; treated the most cautious way.")
        elif isinstance(value, Readings):
            # Contradictory or several implied values: any reading that fits fires the rule.
            if not value.fits(constraint):
                return None
            if not value.certainly_fits(constraint):
                notes.append(value.note)
        elif not constraint.allows(value):
            return None
        else:
            # A value converted or implied: the finding says how it was read.
            read += episode.reading_notes.get(name, ())
    # Every note but those records an unknown or uncertain value, so the match is certain
    # exactly when there are none.
    return [*notes, *read], not notes


def _medications(when: When, context: Context) -> _Match | None:
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
            clock = medication.exposure if hours.since == "start" else medication.since_stop
            if clock is None or not clock.meets(hours.minimum_us, hours.maximum_us):
                continue
            timely = timely and clock.within(hours.minimum_us, hours.maximum_us)
        triggers.add(f"medication:{code}")
        notes += medication.aftermath_notes
        if not timely:
            notes += medication.notes
        certain = certain or (timely and not medication.aftermath_notes)
    return _Match(frozenset(triggers), tuple(notes), certain) if triggers else None
