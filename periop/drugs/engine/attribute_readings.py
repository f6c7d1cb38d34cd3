"""Condition attributes beyond single values: what one attribute implies about another, the
contradictions between them, and the check that every attribute a condition accepts is used.

An implication (`[[conditions.implications]]`) says that known values of some attributes imply
the values another attribute can take; a dibucaine number under 30 implies a homozygous
butyrylcholinesterase genotype. At evaluation an unrecorded implied attribute takes the implied
values. A recorded value outside them is a contradiction: both readings are kept, every rule
that either reading allows fires (the most cautious reading), and an assumption names the
contradiction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from periop.drugs.engine.knowledge import (
    AttributeConstraint,
    AttributeDefinition,
    AttributeImplication,
    ConditionDefinition,
    Reference,
    Rule,
    show,
)
from periop.drugs.engine.timeline import UNKNOWN, ConditionEpisode
from periop.drugs.engine.toml_checks import Entry, Table

IMPLICATION_KEYS = ("when", "then", "reason", "references")


@dataclass(frozen=True, slots=True)
class Readings:
    """An attribute with more than one possible value at evaluation, and why."""

    values: tuple[object, ...]
    note: str

    def fits(self, constraint: AttributeConstraint) -> bool:
        """Some reading satisfies the constraint."""
        return any(constraint.allows(value) for value in self.values)

    def certainly_fits(self, constraint: AttributeConstraint) -> bool:
        """Every reading satisfies the constraint."""
        return all(constraint.allows(value) for value in self.values)


def implications(
    entry: Entry,
    table: Table,
    attributes: Mapping[str, AttributeDefinition],
    references: Mapping[str, Reference],
    constraint: Callable[[Entry, str, object, list[AttributeDefinition]], AttributeConstraint],
) -> tuple[AttributeImplication, ...]:
    """The condition's `[[conditions.implications]]`, checked against its attribute schema."""
    found = []
    listed = entry.tables(table.get("implications", []), "implications")
    for position, implication in enumerate(listed, 1):
        here = entry.at(f"{entry.entry} implications #{position}")
        here.keys(implication, IMPLICATION_KEYS, required=IMPLICATION_KEYS)
        when = here.table(implication["when"], "when")
        then = here.table(implication["then"], "then")
        if not when:
            here.fail("when must name at least one attribute.")
        if len(then) != 1:
            here.fail("then must name exactly one attribute.")
        resolved = {}
        for name in {**when, **then}:
            if name not in attributes:
                here.fail(f"unknown attribute '{name}' (not in the condition's attributes).")
        for name, value in when.items():
            resolved[str(name)] = constraint(here, name, value, [attributes[name]])
        implied, values = next(iter(then.items()))
        if implied in when:
            here.fail(f"attribute '{implied}' cannot imply itself.")
        definition = attributes[implied]
        if definition.type == "number":
            here.fail(f"then: attribute '{implied}' is a number; only choices can be implied.")
        allowed = constraint(here, implied, values, [definition])
        found.append(
            AttributeImplication(
                when=MappingProxyType(resolved),
                attribute=str(implied),
                values=allowed.values or (),
                reason=here.text(implication, "reason"),
                references=here.references(implication, "references", references, nonempty=True),
            )
        )
    return tuple(found)


def check_attribute_use(
    conditions: Mapping[str, ConditionDefinition],
    rules: Iterable[Rule],
    display: Callable[[str], str],
) -> None:
    """Every attribute is used by a rule, or is marked informational with a reason, not both.

    An attribute is used when a rule that names its condition constrains it, when a receptor
    effect override of its condition reads it, or when it implies another attribute that is
    itself used.
    """
    by_condition = uses_by_rule(conditions, rules)
    for code, condition in conditions.items():
        used = used_attributes(condition, by_condition.get(code, {}))
        entry = Entry(display("conditions.toml"), f"condition '{code}'")
        for name, attribute in condition.attributes.items():
            if attribute.informational is not None and name in used:
                entry.fail(
                    f"attribute '{name}' is marked informational but is used by "
                    f"{', '.join(used[name])}."
                )
            if attribute.informational is None and name not in used:
                entry.fail(
                    f"attribute '{name}' is accepted but used by no rule; use it in a rule or "
                    'mark it informational = "reason".'
                )


def uses_by_rule(
    conditions: Mapping[str, ConditionDefinition], rules: Iterable[Rule]
) -> dict[str, dict[str, list[str]]]:
    """Condition code -> attribute name -> ids of the rules that constrain it."""
    uses: dict[str, dict[str, list[str]]] = {}
    for rule in rules:
        for code in rule.when.conditions:
            for name in rule.when.attributes:
                if name in conditions[code].attributes:
                    uses.setdefault(code, {}).setdefault(name, []).append(rule.id)
    return uses


def used_attributes(
    condition: ConditionDefinition, by_rule: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """Attribute name -> what uses it (rule ids, "receptor effect override", "implies x")."""
    used = {name: list(rule_ids) for name, rule_ids in by_rule.items()}
    for override in condition.receptor_effect_overrides:
        for name in override.attributes:
            used.setdefault(name, []).append("a receptor effect override")
    # A unit conversion counts when the attribute it converts into is used, an implication when
    # what it implies is used; an implication may read a converted value, so follow both to the
    # end of every chain.
    links = [
        (conversion.to, conversion.source, f"its conversion into {conversion.to}")
        for conversion in condition.conversions
    ] + [
        (implication.attribute, name, f"its implication of {implication.attribute}")
        for implication in condition.implications
        for name in implication.when
    ]
    changed = True
    while changed:
        changed = False
        for target, name, user in links:
            if target in used and user not in used.setdefault(name, []):
                used[name].append(user)
                changed = True
    return {name: users for name, users in used.items() if users}


def apply_implications(episode: ConditionEpisode) -> None:
    """Gives implied attributes their implied values, or both readings on a contradiction."""
    definition = episode.definition
    if not definition.implications:
        return
    recorded = dict(episode.values)
    implied: dict[str, list[tuple[AttributeImplication, str]]] = {}
    for implication in definition.implications:
        causes = []
        for name, constraint in implication.when.items():
            value = recorded[name]
            if value is UNKNOWN or not constraint.allows(value):
                break
            causes.append(f"{attribute_label(definition, name)} {show(value)}")
        else:
            because = " and ".join(causes)
            implied.setdefault(implication.attribute, []).append((implication, because))
    notes = list(episode.notes)
    values_after = dict(recorded)
    reading_notes = dict(episode.reading_notes)
    for name, found in implied.items():
        values = tuple(dict.fromkeys(value for item in found for value in item[0].values))
        reasons = "; ".join(cause for _, cause in found)
        label = attribute_label(definition, name)
        value = recorded[name]
        if value is UNKNOWN:
            shown = " or ".join(show(item) for item in values)
            reading = f"{label} not recorded; read as {shown} from {reasons}."
            notes.append(f"{definition.name}: {reading}")
            if len(values) == 1:
                values_after[name] = values[0]
                # How the values it was read from were read, then the implication.
                sources = (
                    note
                    for implication, _ in found
                    for source in implication.when
                    for note in episode.reading_notes.get(source, ())
                )
                reading_notes[name] = (*dict.fromkeys(sources), notes[-1])
            else:
                values_after[name] = Readings(values, notes[-1])
        elif value not in values:
            note = (
                f"{definition.name}: {label} {show(value)} contradicts {reasons}; "
                "both readings are kept and the most cautious applies."
            )
            notes.append(note)
            values_after[name] = Readings((value, *values), note)
    episode.values = values_after
    episode.notes = tuple(notes)
    episode.reading_notes = reading_notes


_LEADING_LETTERS = re.compile(r"[^\W\d_]+")


def attribute_label(definition: ConditionDefinition, name: str) -> str:
    """The attribute's label, for use mid-sentence: its first letter lower-cased when its
    leading letters are an ordinary capitalised word ("Time since burn", "Anti-MuSK titre"),
    never in an acronym or a name with capitals inside ("AChR", "IgG antibody") nor a single
    letter."""
    label = definition.attributes[name].label
    leading = _LEADING_LETTERS.match(label)
    if leading and len(leading[0]) > 1 and leading[0][1:].islower():
        return label[:1].lower() + label[1:]
    return label
