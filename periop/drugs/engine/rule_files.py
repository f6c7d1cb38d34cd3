"""Parses and checks the rule files (`rules/*.toml`) against the conditions, drugs and references
already loaded, and checks the rule set across files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from periop.drugs.engine.knowledge import (
    GROUP_PREFIX,
    Alternative,
    AttributeConstraint,
    AttributeDefinition,
    ConditionDefinition,
    DoseSpec,
    HoursRange,
    Phase,
    Reference,
    Rule,
    When,
    show,
)
from periop.drugs.engine.toml_checks import (
    CONDITION_STATUSES,
    DEMOGRAPHICS,
    LEVEL_CODES,
    PHASE_STATUSES,
    RULE_ID_PATTERN,
    Entry,
    Table,
)
from periop.drugs.engine.types import EFFECT_TAGS, RECEPTOR_STATES, DoseRange, Level

# The clocks a phase window can count on (fixtures/knowledge/README.md).
PHASE_CLOCKS = ("onset", "resolution")


def attribute_constraint(
    entry: Entry, name: str, value: object, definitions: list[AttributeDefinition]
) -> AttributeConstraint:
    """A when-attribute constraint, valid for every condition schema that defines `name`."""
    kinds = {definition.type for definition in definitions}
    if len(kinds) > 1:
        entry.fail(f"attribute '{name}' has different types in the rule's conditions.")
    if kinds == {"number"}:
        bounds = entry.table(value, f"attribute '{name}' (a number)")
        entry.keys(bounds, ("min", "max"), required=())
        if not bounds:
            entry.fail(f"attribute '{name}' needs min or max.")
        minimum = entry.number(bounds, "min") if "min" in bounds else None
        maximum = entry.number(bounds, "max") if "max" in bounds else None
        if minimum is not None and maximum is not None and minimum > maximum:
            entry.fail(f"attribute '{name}': min {show(minimum)} is above max {show(maximum)}.")
        return AttributeConstraint(minimum=minimum, maximum=maximum)
    if not isinstance(value, list) or not value:
        entry.fail(f"attribute '{name}' must list its allowed values, not {show(value)}.")
    for allowed in value:
        for definition in definitions:
            problem = definition.check(allowed)
            if problem is not None:
                entry.fail(f"attribute '{name}': {problem}")
    return AttributeConstraint(values=tuple(value))


class Catalogue:
    """What rules may refer to, with every valid selector resolved to drug codes."""

    def __init__(
        self,
        references: Mapping[str, Reference],
        conditions: Mapping[str, ConditionDefinition],
        selectors: Mapping[str, frozenset[str]],
    ) -> None:
        self.references = references
        self.conditions = conditions
        self.selectors = selectors

    def drugs(self, entry: Entry, table: Table, key: str, nonempty: bool = False) -> frozenset[str]:
        codes: set[str] = set()
        for selector in entry.texts(table, key, nonempty=nonempty):
            if selector not in self.selectors:
                kind = "group" if selector.startswith(GROUP_PREFIX) else "drug"
                entry.fail(f"{key}: unknown {kind} {show(selector.removeprefix(GROUP_PREFIX))}.")
            if not self.selectors[selector]:
                entry.fail(f"{key}: selector {show(selector)} matches no drug.")
            codes |= self.selectors[selector]
        return frozenset(codes)


_RULE_REQUIRED = ("id", "drugs", "summary", "rationale", "references", "evidence")
_RULE_KEYS = (
    *_RULE_REQUIRED,
    "level",
    "effects",
    "unconfirmed",
    "monitoring",
    "reversal",
    "uses_demographics",
    "supersedes",
    "when",
    "phases",
    "doses",
    "alternatives",
)
_WHEN_KEYS = (
    "conditions",
    "attributes",
    "condition_status",
    "medications",
    "medication_hours",
    "present",
    "also_present",
    "receptor_state",
)


def rule_file(document: Table, file: Entry, relative: str, catalogue: Catalogue) -> list[Rule]:
    """The rules of one file under `rules/`, each checked against the catalogue."""
    file.keys(document, ("rules",), required=("rules",))
    return [
        _rule(file.identify(table, "rule", position), table, relative, catalogue)
        for position, table in enumerate(file.tables(document["rules"], "rules"), 1)
    ]


def _rule(entry: Entry, table: Table, relative: str, catalogue: Catalogue) -> Rule:
    entry.keys(table, _RULE_KEYS, required=_RULE_REQUIRED)
    rule_id = entry.text(table, "id")
    if not RULE_ID_PATTERN.fullmatch(rule_id):
        entry.fail(f"id '{rule_id}' is not a lowercase slug such as 'sux-burn-window'.")
    targets = catalogue.drugs(entry, table, "drugs", nonempty=True)
    when = _when(entry, entry.table(table.get("when", {}), "when"), catalogue)
    phases = tuple(
        _phase(entry.at(f"{entry.entry} phase #{position}"), phase)
        for position, phase in enumerate(entry.tables(table.get("phases", []), "phases"), 1)
    )
    if phases and ("level" in table or "effects" in table):
        entry.fail("a rule with phases takes its level and effects from the phases.")
    if not phases and "level" not in table:
        entry.fail("the rule has neither a level nor phases.")
    if phases and not when.conditions:
        entry.fail("phases count hours from a condition's onset, but when.conditions is empty.")
    _check_phase_overlaps(entry, phases)
    _check_phase_flags(entry, phases, entry.flag(table, "unconfirmed"))
    doses = tuple(
        _dose(entry.at(f"{entry.entry} dose #{position}"), dose, targets, catalogue)
        for position, dose in enumerate(entry.tables(table.get("doses", []), "doses"), 1)
    )
    return Rule(
        id=rule_id,
        drugs=entry.texts(table, "drugs"),
        level=Level.from_code(entry.choice(table, "level", LEVEL_CODES)) if not phases else None,
        effects=_effects(entry, table),
        summary=entry.text(table, "summary"),
        rationale=entry.text(table, "rationale"),
        references=entry.references(table, "references", catalogue.references, nonempty=True),
        evidence=entry.text(table, "evidence"),
        unconfirmed=entry.flag(table, "unconfirmed"),
        monitoring=entry.optional_text(table, "monitoring"),
        reversal=entry.optional_text(table, "reversal"),
        uses_demographics=entry.choices(table, "uses_demographics", DEMOGRAPHICS),
        supersedes=entry.texts(table, "supersedes"),
        when=when,
        phases=phases,
        doses=doses,
        source_file=relative,
        target_drugs=targets,
        alternatives=tuple(
            _alternative(
                entry.at(f"{entry.entry} alternative #{position}"), item, targets, catalogue
            )
            for position, item in enumerate(
                entry.tables(table.get("alternatives", []), "alternatives"), 1
            )
        ),
    )


def _alternative(
    entry: Entry, table: Table, targets: frozenset[str], catalogue: Catalogue
) -> Alternative:
    entry.keys(table, ("drug", "references", "present"), required=("drug", "references"))
    drug = entry.text(table, "drug")
    if drug.startswith(GROUP_PREFIX) or catalogue.selectors.get(drug) != frozenset({drug}):
        entry.fail(f"drug: unknown drug {show(drug)} (an alternative is one drug code).")
    if drug in targets:
        entry.fail(f"drug: {show(drug)} is a target of the rule itself.")
    return Alternative(
        drug=drug,
        references=entry.references(table, "references", catalogue.references, nonempty=True),
        present=entry.texts(table, "present"),
        present_codes=catalogue.drugs(entry, table, "present", nonempty="present" in table),
    )


def _effects(entry: Entry, table: Table) -> tuple[str, ...]:
    given = entry.choices(table, "effects", EFFECT_TAGS)
    return tuple(tag for tag in EFFECT_TAGS if tag in given)


def _when(entry: Entry, table: Table, catalogue: Catalogue) -> When:
    entry.keys(table, _WHEN_KEYS, required=())
    conditions = entry.choices(table, "conditions", catalogue.conditions, unknown="condition")
    constraints = {}
    for name, value in entry.table(table.get("attributes", {}), "when.attributes").items():
        definitions = [
            catalogue.conditions[code].attributes[name]
            for code in conditions
            if name in catalogue.conditions[code].attributes
        ]
        if not definitions:
            entry.fail(f"unknown attribute '{name}' for conditions {', '.join(conditions)}.")
        constraints[str(name)] = attribute_constraint(entry, name, value, definitions)
    medication_hours = None
    if "medication_hours" in table:
        if "medications" not in table:
            entry.fail("medication_hours needs when.medications to say which medication.")
        hours = entry.table(table["medication_hours"], "medication_hours")
        entry.keys(hours, ("min", "max", "since"), required=())
        minimum = entry.number(hours, "min", 0) if "min" in hours else None
        maximum = entry.number(hours, "max", 0) if "max" in hours else None
        if minimum is not None and maximum is not None and minimum >= maximum:
            entry.fail(f"medication_hours min {show(minimum)} is not below max {show(maximum)}.")
        since = entry.choice(hours, "since", ("start", "stop"), "start")
        medication_hours = HoursRange(minimum, maximum, since)
    return When(
        conditions=conditions,
        attributes=MappingProxyType(constraints),
        condition_status=entry.choice(table, "condition_status", CONDITION_STATUSES, "active"),
        medications=entry.texts(table, "medications"),
        medication_hours=medication_hours,
        present=entry.texts(table, "present"),
        also_present=entry.texts(table, "also_present"),
        receptor_state=entry.choices(table, "receptor_state", RECEPTOR_STATES),
        condition_codes=frozenset(conditions),
        needs_present="present" in table or "also_present" in table,
        medication_codes=catalogue.drugs(entry, table, "medications"),
        present_codes=catalogue.drugs(entry, table, "present"),
        also_present_codes=catalogue.drugs(entry, table, "also_present"),
    )


def _phase(entry: Entry, table: Table) -> Phase:
    required = ("from_hours", "level", "summary")
    optional = ("to_hours", "status", "effects", "since", "until", "unconfirmed")
    entry.keys(table, (*required, *optional), required=required)
    start = entry.number(table, "from_hours", 0)
    end = entry.number(table, "to_hours", 0) if "to_hours" in table else None
    if end is not None and start >= end:
        entry.fail(f"from_hours {show(start)} is not before to_hours {show(end)}.")
    since = entry.choice(table, "since", PHASE_CLOCKS, "onset")
    status = entry.choice(table, "status", PHASE_STATUSES, "any")
    if since == "resolution" and status != "resolved":
        entry.fail('since = "resolution" counts from the resolution: it needs status = "resolved".')
    until = entry.choice(table, "until", ("evaluation", "resolution"), "evaluation")
    if since == "resolution" and until == "resolution":
        entry.fail('until = "resolution" counts from the onset: it needs since = "onset".')
    return Phase(
        from_hours=start,
        to_hours=end,
        status=status,
        level=Level.from_code(entry.choice(table, "level", LEVEL_CODES)),
        effects=_effects(entry, table),
        summary=entry.text(table, "summary"),
        since=since,
        until=until,
        unconfirmed=entry.flag(table, "unconfirmed") if "unconfirmed" in table else None,
    )


def _check_phase_overlaps(entry: Entry, phases: tuple[Phase, ...]) -> None:
    for first, earlier in enumerate(phases, 1):
        for second, later in enumerate(phases[first:], first + 1):
            same_status = "any" in (earlier.status, later.status) or earlier.status == later.status
            if (earlier.since, earlier.until) != (later.since, later.until):
                continue  # windows on different clocks cannot be compared
            overlap = (later.to_hours is None or earlier.from_hours < later.to_hours) and (
                earlier.to_hours is None or later.from_hours < earlier.to_hours
            )
            if same_status and overlap:
                entry.fail(f"phases #{first} and #{second} overlap for the same status.")


def _check_phase_flags(entry: Entry, phases: tuple[Phase, ...], unconfirmed: bool) -> None:
    """A finding tells its phase by level, effects and summary, so phases alike in those must be
    alike in `unconfirmed` (a phase without the key takes the rule's flag)."""
    seen: dict[tuple[object, ...], tuple[int, bool]] = {}
    for position, phase in enumerate(phases, 1):
        flag = unconfirmed if phase.unconfirmed is None else phase.unconfirmed
        first = seen.setdefault((phase.level, phase.effects, phase.summary), (position, flag))
        if first[1] != flag:
            entry.fail(
                f"phases #{first[0]} and #{position} share level, effects and summary but not "
                "unconfirmed; give them different summaries."
            )


def _dose(entry: Entry, table: Table, targets: frozenset[str], catalogue: Catalogue) -> DoseSpec:
    entry.keys(table, ("drugs", "text", "per_kg_mg", "fixed_mg", "max_mg"), required=("text",))
    codes = catalogue.drugs(entry, table, "drugs")
    if "drugs" in table and not codes & targets:
        entry.fail("drugs names none of the rule's target drugs.")
    if "max_mg" in table and "per_kg_mg" not in table:
        entry.fail("max_mg caps a per-kg dose, but there is no per_kg_mg.")
    return DoseSpec(
        text=entry.text(table, "text"),
        drugs=entry.texts(table, "drugs"),
        per_kg_mg=_dose_range(entry, table, "per_kg_mg"),
        fixed_mg=_dose_range(entry, table, "fixed_mg"),
        max_mg=entry.decimal(table["max_mg"], "max_mg") if "max_mg" in table else None,
        drug_codes=codes & targets,
    )


def _dose_range(entry: Entry, table: Table, key: str) -> DoseRange | None:
    if key not in table:
        return None
    bounds = entry.table(table[key], key)
    entry.keys(bounds, ("min", "max"), required=("min", "max"))
    minimum = entry.decimal(bounds["min"], f"{key} min")
    maximum = entry.decimal(bounds["max"], f"{key} max")
    if minimum > maximum:
        entry.fail(f"{key} min {minimum} is above max {maximum}.")
    return DoseRange(minimum=minimum, maximum=maximum)


def check_rule_set(rules: list[Rule], display: Callable[[str], str]) -> None:
    """Checks across files: unique ids and supersession that names real, related rules."""
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            other = by_id[rule.id].source_file
            Entry(display(rule.source_file), f"rule '{rule.id}'").fail(
                f"duplicate rule id '{rule.id}' (also in {display(other)})."
            )
        by_id[rule.id] = rule
    for rule in rules:
        entry = Entry(display(rule.source_file), f"rule '{rule.id}'")
        for superseded in rule.supersedes:
            if superseded not in by_id:
                entry.fail(f"supersedes unknown rule '{superseded}'.")
            if superseded == rule.id:
                entry.fail("a rule cannot supersede itself.")
            if not by_id[superseded].target_drugs & rule.target_drugs:
                entry.fail(f"supersedes '{superseded}', which cautions none of its drugs.")
    for rule in rules:
        _check_supersession_cycle(
            Entry(display(rule.source_file), f"rule '{rule.id}'"), rule, by_id
        )


def _check_supersession_cycle(entry: Entry, start: Rule, by_id: Mapping[str, Rule]) -> None:
    # Two rules that supersede each other would both vanish and lower a caution silently.
    seen: set[str] = set()
    pending = list(start.supersedes)
    while pending:
        rule_id = pending.pop()
        if rule_id == start.id:
            entry.fail("supersedes forms a cycle back to this rule.")
        if rule_id not in seen:
            seen.add(rule_id)
            pending.extend(by_id[rule_id].supersedes)
