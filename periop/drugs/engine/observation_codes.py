"""Observation codes (`observations.toml`): the LOINC codes whose results feed the engine.

Each entry names a code, the quantity it measures (`measure`), the source that confirms it and
its evidence grade, and the UCUM units it is accepted in, each mapped to what the engine reads:
the patient's `weight_kg`, or a number attribute of the conditions that have one. Only grades A
and B are encoded (standards-reference §0.1: a U item is never hard-coded); the loader refuses
any other grade, an unknown target and a unit given twice. No conversion factor lives here: a
unit maps to the attribute in that unit, and conditions.toml converts it with its cited factor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from periop.drugs.engine.knowledge import ConditionDefinition
from periop.drugs.engine.toml_checks import KnowledgeFiles

OBSERVATIONS_FILE = "observations.toml"
WEIGHT = "weight_kg"
ENCODABLE_GRADES = ("A", "B")
KEYS = ("measure", "system", "code", "display", "grade", "sources", "evidence", "units")


@dataclass(frozen=True, slots=True)
class ObservationCode:
    """One confirmed code: a result coded `system`|`code` in one of `units` (UCUM) is read as
    the target that unit maps to."""

    measure: str
    system: str
    code: str
    display: str
    grade: str
    sources: tuple[str, ...]
    evidence: str
    units: Mapping[str, str]


def read_observation_codes(
    files: KnowledgeFiles, conditions: Mapping[str, ConditionDefinition]
) -> tuple[ObservationCode, ...]:
    """The validated observation codes, or none when the knowledge base has no such file."""
    if not files.exists(OBSERVATIONS_FILE):
        return ()
    document, file = files.read(OBSERVATIONS_FILE)
    file.keys(document, ("observations",), required=("observations",))
    numbers = {
        name
        for condition in conditions.values()
        for name, attribute in condition.attributes.items()
        if attribute.type == "number"
    }
    found: list[ObservationCode] = []
    seen: set[tuple[str, str]] = set()
    for position, table in enumerate(file.tables(document["observations"], "observations"), 1):
        entry = file.identify(table, "observation", position, key="code")
        entry.keys(table, KEYS, required=KEYS)
        system, code = entry.text(table, "system"), entry.text(table, "code")
        if (system, code) in seen:
            entry.fail(f"duplicate code {system}|{code}.")
        seen.add((system, code))
        grade = entry.text(table, "grade")
        if grade not in ENCODABLE_GRADES:
            entry.fail(
                f"grade {grade!r}: only codes graded A or B are encoded (a C or U code is not)."
            )
        units = entry.table(table["units"], "units")
        if not units:
            entry.fail("units must name at least one UCUM unit.")
        for unit, target in units.items():
            if not isinstance(target, str) or (target != WEIGHT and target not in numbers):
                entry.fail(
                    f"unit {unit!r} maps to {target!r}, which is neither {WEIGHT} nor a number "
                    "attribute of a condition."
                )
        found.append(
            ObservationCode(
                measure=entry.text(table, "measure"),
                system=system,
                code=code,
                display=entry.text(table, "display"),
                grade=grade,
                sources=entry.texts(table, "sources", nonempty=True),
                evidence=entry.text(table, "evidence"),
                units=MappingProxyType(dict(units)),
            )
        )
    return tuple(found)
