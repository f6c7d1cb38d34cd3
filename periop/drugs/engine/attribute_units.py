"""One measurement recorded in another unit: a condition attribute that converts into another.

A conversion (`[[conditions.conversions]]`) says that an attribute in one unit (serum magnesium
in mmol/L) is another attribute in the unit the rules read (mg/dL), multiplied by a cited factor.
At evaluation:
- only the converted attribute recorded: the rules read its value times the factor, and an
  assumption keeps the value as recorded;
- both recorded and agreeing (within the conversion's tolerance): nothing changes;
- both recorded and disagreeing: a contradiction. Both readings are kept, every rule that either
  allows fires (the most cautious reading), and an assumption names the contradiction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from periop.drugs.engine.attribute_readings import Readings
from periop.drugs.engine.knowledge import AttributeDefinition, Reference, is_number, show
from periop.drugs.engine.timeline import UNKNOWN, ConditionEpisode
from periop.drugs.engine.toml_checks import Entry, Table

CONVERSION_KEYS = ("from", "to", "factor", "round_to", "tolerance", "reason", "references")


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """`to` = `source` x `factor`, rounded half up to `round_to` (1, 0.1, 0.01, ...: the
    precision the rules' thresholds are written to, so that a value at a threshold in the other
    unit meets it); values further apart than `tolerance` (in the unit of `to`) contradict each
    other."""

    source: str
    to: str
    factor: Decimal
    round_to: Decimal
    tolerance: Decimal
    reason: str
    references: tuple[str, ...]

    def convert(self, value: int | float | Decimal) -> Decimal:
        """The value in the unit of `to`, rounded half up to `round_to`."""
        exact = Decimal(str(value)) * self.factor
        return exact.quantize(self.round_to, rounding=ROUND_HALF_UP)

    def agrees(self, converted: Decimal, recorded: int | float | Decimal) -> bool:
        return abs(converted - Decimal(str(recorded))) <= self.tolerance


def conversions(
    entry: Entry,
    table: Table,
    attributes: Mapping[str, AttributeDefinition],
    references: Mapping[str, Reference],
) -> tuple[UnitConversion, ...]:
    """The condition's `[[conditions.conversions]]`, checked against its attribute schema."""
    found: list[UnitConversion] = []
    listed = entry.tables(table.get("conversions", []), "conversions")
    for position, conversion in enumerate(listed, 1):
        here = entry.at(f"{entry.entry} conversions #{position}")
        here.keys(conversion, CONVERSION_KEYS, required=CONVERSION_KEYS)
        source, to = here.text(conversion, "from"), here.text(conversion, "to")
        for name in (source, to):
            if name not in attributes:
                here.fail(f"unknown attribute '{name}' (not in the condition's attributes).")
            if attributes[name].type != "number":
                here.fail(f"attribute '{name}' is not a number; only numbers convert.")
        if source == to:
            here.fail(f"attribute '{source}' cannot convert into itself.")
        if any(item.source == source for item in found):
            here.fail(f"attribute '{source}' already converts.")
        factor = here.decimal(conversion["factor"], "factor")
        round_to = here.decimal(conversion["round_to"], "round_to")
        if factor == 0 or round_to == 0:
            here.fail("factor and round_to must be above 0.")
        # quantize keeps the exponent of round_to, not its digits: "0.5" would round to tenths
        # and "10" to units, so only a power of ten written as one is accepted.
        if round_to.as_tuple().digits != (1,) or int(round_to.as_tuple().exponent) > 0:
            here.fail(f'round_to {show(conversion["round_to"])} must be "1", "0.1", "0.01", ...')
        found.append(
            UnitConversion(
                source=source,
                to=to,
                factor=factor,
                round_to=round_to,
                tolerance=here.decimal(conversion["tolerance"], "tolerance"),
                reason=here.text(conversion, "reason"),
                references=here.references(conversion, "references", references, nonempty=True),
            )
        )
    targets = {item.to for item in found}
    for item in found:
        if item.source in targets:
            entry.fail(f"attribute '{item.source}' is converted into and converts; chain none.")
    return tuple(found)


def converted_values(
    name: str,
    attributes: Mapping[str, AttributeDefinition],
    items: tuple[UnitConversion, ...],
    values: Mapping[str, object],
    unknown: object,
) -> tuple[tuple[object, ...], list[str]]:
    """The readings of attribute `name` once every attribute converting into it is counted
    (the recorded value first, if any), and the notes that say why."""
    recorded = values[name]
    readings: list[object] = [] if recorded is unknown else [recorded]
    notes: list[str] = []
    target = attributes[name]
    for item in items:
        if item.to != name:
            continue
        value = values[item.source]
        if value is unknown or not is_number(value):
            continue
        converted = item.convert(value)
        source = attributes[item.source]
        given = f"{source.label} {_amount(value, source)}"
        as_target = f"{_amount(converted, target)} ({item.reason})"
        if recorded is unknown:
            notes.append(f"{given} read as {target.label.lower()} {as_target}.")
            readings.append(converted)
        elif is_number(recorded) and not item.agrees(converted, recorded):
            notes.append(
                f"{given} is {as_target}, which contradicts the recorded "
                f"{_amount(recorded, target)}; both readings are kept and the most cautious "
                "applies."
            )
            readings.append(converted)
    return tuple(dict.fromkeys(readings)), notes


def _amount(value: object, attribute: AttributeDefinition) -> str:
    shown = format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)
    return f"{shown} {attribute.unit}" if attribute.unit else shown


def apply_conversions(episode: ConditionEpisode) -> None:
    """Gives each attribute the values converted into it, or both readings on a contradiction."""
    definition = episode.definition
    if not definition.conversions:
        return
    values = dict(episode.values)
    notes = list(episode.notes)
    reading_notes = dict(episode.reading_notes)
    for name in dict.fromkeys(item.to for item in definition.conversions):
        readings, found = converted_values(
            name, definition.attributes, definition.conversions, episode.values, UNKNOWN
        )
        named = [f"{definition.name}: {note}" for note in found]
        notes += named
        if len(readings) == 1:
            values[name] = readings[0]
            if named:  # each attribute is converted into once, and first
                reading_notes[name] = tuple(named)
        elif len(readings) > 1:
            values[name] = Readings(readings, notes[-1])
    episode.values = values
    episode.notes = tuple(notes)
    episode.reading_notes = reading_notes
