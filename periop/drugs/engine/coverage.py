"""The reference-table coverage map (`coverage.toml`): every cell of the reference's condition
and interaction tables, the rules that cover it or the reviewed reason it is excluded, and the
check that each listed rule really gives at least the cell's level to a patient of that row.

The map is data in the knowledge base; the check evaluates each row's minimal patient through
the engine, so a cell cannot claim a rule that does not fire for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from periop.drugs.engine.knowledge import ConditionDefinition, DrugDefinition, show
from periop.drugs.engine.toml_checks import LEVEL_CODES, Entry, KnowledgeFiles, Table
from periop.drugs.engine.types import (
    ConditionInput,
    Level,
    MedicationInput,
    PatientState,
)

if TYPE_CHECKING:
    from periop.drugs.engine.knowledge import KnowledgeBase

COVERAGE_FILE = "coverage.toml"
# Patients are written in hours before the evaluation; any fixed instant serves.
EVALUATED_AT = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class CoveragePatient:
    """A minimal patient of one table row, with times in hours before the evaluation."""

    id: str
    description: str
    state: PatientState
    also_planned: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CoverageCell:
    table: str
    row: str
    column: str
    case: str  # "" unless a cell is split into cases (for example before and after day 7)
    reference: str  # the cell as the reference writes it
    level: Level
    patient: str
    drugs: tuple[str, ...]
    rules: tuple[str, ...] | None  # None when excluded
    excluded: str | None

    @property
    def name(self) -> str:
        case = f" [{self.case}]" if self.case else ""
        return f"{self.table} {self.row} x {self.column}{case}"


@dataclass(frozen=True, slots=True)
class CoverageMap:
    columns: Mapping[tuple[str, str], tuple[str, ...]]  # (table, column) -> drug codes
    patients: Mapping[str, CoveragePatient]
    cells: tuple[CoverageCell, ...]


@dataclass(frozen=True, slots=True)
class CellResult:
    cell: CoverageCell
    levels: Mapping[str, Level]  # drug -> the level the engine gives the row's patient
    problems: tuple[str, ...]  # empty when the cell is honestly covered or excluded


def read_coverage(
    files: KnowledgeFiles,
    rule_ids: Collection[str],
    drugs: Mapping[str, DrugDefinition],
    conditions: Mapping[str, ConditionDefinition],
) -> CoverageMap | None:
    """The validated coverage map, or None when the knowledge base has no coverage.toml."""
    if not files.exists(COVERAGE_FILE):
        return None
    document, file = files.read(COVERAGE_FILE)
    file.keys(document, ("columns", "patients", "cells"), required=("columns", "patients", "cells"))
    columns: dict[tuple[str, str], tuple[str, ...]] = {}
    for position, table in enumerate(file.tables(document["columns"], "columns"), 1):
        entry = file.at(f"column #{position}")
        entry.keys(table, ("table", "column", "drugs"), required=("table", "column", "drugs"))
        key = (entry.text(table, "table"), entry.text(table, "column"))
        if key in columns:
            entry.fail(f"duplicate column {key[1]} of {key[0]}.")
        columns[key] = entry.choices(table, "drugs", drugs, unknown="drug")
    patients = {}
    for position, table in enumerate(file.tables(document["patients"], "patients"), 1):
        patient = _patient(file.identify(table, "patient", position), table, drugs, conditions)
        if patient.id in patients:
            file.at(f"patient '{patient.id}'").fail("duplicate patient id.")
        patients[patient.id] = patient
    cells: list[CoverageCell] = []
    seen: set[tuple[str, str, str, str]] = set()
    for position, table in enumerate(file.tables(document["cells"], "cells"), 1):
        cell = _cell(file.at(f"cell #{position}"), table, columns, patients, drugs, rule_ids)
        cell_key = (cell.table, cell.row, cell.column, cell.case)
        if cell_key in seen:
            file.at(f"cell {cell.name}").fail("duplicate cell; name a different case.")
        seen.add(cell_key)
        cells.append(cell)
    return CoverageMap(MappingProxyType(columns), MappingProxyType(patients), tuple(cells))


def _patient(
    entry: Entry,
    table: Table,
    drugs: Mapping[str, DrugDefinition],
    conditions: Mapping[str, ConditionDefinition],
) -> CoveragePatient:
    allowed = ("id", "description", "conditions", "medications", "also_planned")
    entry.keys(table, allowed, required=("id", "description"))
    recorded = []
    for position, condition in enumerate(entry.tables(table.get("conditions", []), "conditions")):
        here = entry.at(f"{entry.entry} condition #{position + 1}")
        here.keys(condition, ("code", "onset_hours", "resolved_hours", "attributes"), ("code",))
        code = here.choice(condition, "code", tuple(conditions))
        attributes = here.table(condition.get("attributes", {}), "attributes")
        for name, value in attributes.items():
            definition = conditions[code].attributes.get(name)
            problem = "unknown attribute" if definition is None else definition.check(value)
            if problem is not None:
                here.fail(f"attribute '{name}': {problem}")
        recorded.append(
            ConditionInput(
                code=code,
                onset=_before(here, condition, "onset_hours"),
                resolved=_before(here, condition, "resolved_hours"),
                attributes=MappingProxyType(dict(attributes)),
            )
        )
    medications = []
    for position, medication in enumerate(
        entry.tables(table.get("medications", []), "medications")
    ):
        here = entry.at(f"{entry.entry} medication #{position + 1}")
        here.keys(medication, ("code", "started_hours", "stopped_hours"), ("code",))
        medications.append(
            MedicationInput(
                code=here.choice(medication, "code", tuple(drugs)),
                started=_before(here, medication, "started_hours"),
                stopped=_before(here, medication, "stopped_hours"),
            )
        )
    return CoveragePatient(
        id=entry.text(table, "id"),
        description=entry.text(table, "description"),
        state=PatientState(conditions=tuple(recorded), medications=tuple(medications)),
        also_planned=entry.choices(table, "also_planned", drugs, unknown="drug"),
    )


def _before(entry: Entry, table: Table, key: str) -> dt.datetime | None:
    if key not in table:
        return None
    return EVALUATED_AT - dt.timedelta(hours=entry.number(table, key, 0))


def _cell(
    entry: Entry,
    table: Table,
    columns: Mapping[tuple[str, str], tuple[str, ...]],
    patients: Mapping[str, CoveragePatient],
    drugs: Mapping[str, DrugDefinition],
    rule_ids: Collection[str],
) -> CoverageCell:
    required = ("table", "row", "column", "reference", "level", "patient")
    entry.keys(table, (*required, "case", "drugs", "rules", "excluded"), required=required)
    key = (entry.text(table, "table"), entry.text(table, "column"))
    if key not in columns and "drugs" not in table:
        entry.fail(f"column {key[1]} of {key[0]} has no drugs; list them in the cell or columns.")
    patient = entry.text(table, "patient")
    if patient not in patients:
        entry.fail(f"unknown patient '{patient}'.")
    rules = entry.texts(table, "rules") if "rules" in table else None
    for rule_id in rules or ():
        if rule_id not in rule_ids:
            entry.fail(f"unknown rule id '{rule_id}'.")
    excluded = entry.optional_text(table, "excluded")
    if rules is not None and excluded is not None:
        entry.fail("a cell is either covered by rules or excluded, not both.")
    level = Level.from_code(entry.choice(table, "level", LEVEL_CODES))
    return CoverageCell(
        table=key[0],
        row=entry.text(table, "row"),
        column=key[1],
        case=entry.text(table, "case") if "case" in table else "",
        reference=entry.text(table, "reference"),
        level=level,
        patient=patient,
        drugs=(
            entry.choices(table, "drugs", drugs, unknown="drug")
            if "drugs" in table
            else columns[key]
        ),
        rules=rules,
        excluded=excluded,
    )


def check_coverage(kb: KnowledgeBase) -> tuple[CellResult, ...]:
    """Every cell of the map with the levels its row's patient gets and what is wrong, if any."""
    from periop.drugs.engine.evaluate import evaluate  # evaluate imports the knowledge types

    if kb.coverage is None:
        return ()
    results = []
    for cell in kb.coverage.cells:
        patient = kb.coverage.patients[cell.patient]
        levels: dict[str, Level] = {}
        findings: dict[str, Level] = {}
        for drug in cell.drugs:
            planned = (drug, *(code for code in patient.also_planned if code != drug))
            caution = evaluate(patient.state, planned, EVALUATED_AT, kb).cautions[0]
            levels[drug] = caution.level
            for finding in caution.findings:
                findings[finding.rule] = max(finding.level, findings.get(finding.rule, Level.NONE))
        results.append(
            CellResult(cell, MappingProxyType(levels), _problems(cell, levels, findings))
        )
    return tuple(results)


def _problems(
    cell: CoverageCell, levels: Mapping[str, Level], findings: Mapping[str, Level]
) -> tuple[str, ...]:
    if cell.excluded is not None:
        return ()
    if cell.rules is None or (not cell.rules and cell.level > Level.NONE):
        return (f"uncovered: no rule and no exclusion for reference level {cell.level.code}.",)
    problems = []
    for rule_id in cell.rules:
        fired = findings.get(rule_id)
        if fired is None:
            problems.append(f"rule '{rule_id}' gives no finding for patient '{cell.patient}'.")
        elif fired < cell.level:
            problems.append(
                f"rule '{rule_id}' gives {fired.code}, below the reference level {cell.level.code}."
            )
    for drug, level in levels.items():
        if level < cell.level:
            problems.append(
                f"{drug} gets {level.code}, below the reference level {cell.level.code}."
            )
    return tuple(problems)


def describe(result: CellResult) -> str:
    """One line for the coverage command: the cell, its level and what covers it."""
    cell = result.cell
    if cell.excluded is not None:
        cover = f"excluded: {cell.excluded}"
    elif cell.rules:
        cover = "rules: " + ", ".join(cell.rules)
    elif cell.rules is not None and cell.level == Level.NONE:
        cover = "no caution expected"
    else:
        cover = "UNCOVERED"
    given = ", ".join(f"{drug} {level.code}" for drug, level in result.levels.items())
    reference = f"reference {cell.level.code} ({show(cell.reference)})"
    return f"{cell.name}: {reference}; {cover}; engine: {given}"
