"""Reads the knowledge-base TOML files, validates every entry and compiles a KnowledgeBase.

The schema is `fixtures/knowledge/README.md`. Any problem stops loading with a
`KnowledgeBaseError` naming the file, the entry and the bad value, so an invalid knowledge base
never reaches a patient.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from periop.drugs.engine.knowledge import (
    ATTRIBUTE_TYPES,
    GROUP_PREFIX,
    AttributeConstraint,
    AttributeDefinition,
    ConditionDefinition,
    DoseSpec,
    DrugDefinition,
    Guidance,
    GuidanceText,
    HoursRange,
    KnowledgeBase,
    Phase,
    ReceptorEffectOverride,
    Reference,
    ReleaseMetadata,
    Rule,
    When,
    build_index,
    is_number,
    resolve_selectors,
    show,
)
from periop.drugs.engine.types import (
    EFFECT_TAGS,
    RECEPTOR_STATES,
    DoseRange,
    KnowledgeBaseError,
    Level,
)

# The vocabularies of fixtures/knowledge/README.md.
DRUG_CLASSES = (
    "depolarizing-blocker",
    "nondepolarizing-blocker",
    "antibiotic",
    "magnesium",
    "reversal-agent",
    "chronic-nmj-drug",
    "anticonvulsant",
    "calcium-channel-blocker",
)
MECHANISM_SITES = (
    "presynaptic",
    "synaptic",
    "postsynaptic",
    "receptor-regulation",
    "muscle",
    "nerve",
    "cns",
    "plasma-enzyme",
    "mixed",
    "none",
)
RECEPTOR_EFFECTS = ("up", "down", "none")
PHASE_STATUSES = ("any", "ongoing", "resolved")
CONDITION_STATUSES = ("active", "any")
DEMOGRAPHICS = ("age", "sex", "weight")
LEVEL_CODES = tuple(level.code for level in sorted(Level, reverse=True))
_RULE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_VERSION = re.compile(r"\d{4}\.(?:0?[1-9]|1[0-2])\.\d+")

Table = dict[str, Any]


class Entry:
    """Where in the knowledge base a value comes from; every check failure names it."""

    def __init__(self, path: str, entry: str) -> None:
        self.path = path
        self.entry = entry

    def at(self, entry: str) -> Entry:
        return Entry(self.path, entry)

    def fail(self, message: str) -> NoReturn:
        raise KnowledgeBaseError(self.path, self.entry, message)

    def keys(self, table: Table, allowed: Collection[str], required: Collection[str]) -> None:
        for key in table:
            if key not in allowed:
                self.fail(f"unknown key '{key}' (allowed: {', '.join(allowed)}).")
        for key in required:
            if key not in table:
                self.fail(f"missing required key '{key}'.")

    def table(self, value: object, what: str) -> Table:
        if not isinstance(value, dict):
            self.fail(f"{what} must be a table, not {show(value)}.")
        return value

    def tables(self, value: object, what: str) -> list[Table]:
        if not isinstance(value, list):
            self.fail(f"{what} must be an array of tables, not {show(value)}.")
        return [self.table(item, what) for item in value]

    def identify(self, table: Table, kind: str, position: int, key: str = "id") -> Entry:
        """The entry named by its id once it has a valid one, else by its position."""
        value = table.get(key)
        return self.at(f"{kind} '{value}'" if isinstance(value, str) else f"{kind} #{position}")

    def text(self, table: Table, key: str) -> str:
        value = table[key] if key in table else self.fail(f"missing required key '{key}'.")
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{key} must be a non-empty string, not {show(value)}.")
        return value

    def optional_text(self, table: Table, key: str) -> str | None:
        return self.text(table, key) if key in table else None

    def texts(self, table: Table, key: str, nonempty: bool = False) -> tuple[str, ...]:
        values = table.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(value, str) and value for value in values
        ):
            self.fail(f"{key} must be a list of non-empty strings, not {show(values)}.")
        if nonempty and not values:
            self.fail(f"{key} must not be empty.")
        return tuple(values)

    def choice(self, table: Table, key: str, allowed: tuple[str, ...], default: str = "") -> str:
        value = table.get(key, default) if default else self.text(table, key)
        if value not in allowed:
            self.fail(f"{key} {show(value)} is not one of {', '.join(allowed)}.")
        return str(value)

    def choices(
        self, table: Table, key: str, allowed: Collection[str], unknown: str = ""
    ) -> tuple[str, ...]:
        """A list of strings from `allowed`; `unknown` names what an entry outside it would be."""
        values = self.texts(table, key)
        for value in values:
            if value not in allowed:
                if unknown:
                    self.fail(f"{key}: unknown {unknown} {show(value)}.")
                self.fail(f"{key}: {show(value)} is not one of {', '.join(allowed)}.")
        return values

    def flag(self, table: Table, key: str) -> bool:
        value = table.get(key, False)
        if type(value) is not bool:
            self.fail(f"{key} must be true or false, not {show(value)}.")
        return value

    def number(self, table: Table, key: str, minimum: float | None = None) -> int | float:
        value = table[key]
        if not is_number(value) or isinstance(value, Decimal):
            self.fail(f"{key} must be a number, not {show(value)}.")
        if minimum is not None and value < minimum:
            self.fail(f"{key} {show(value)} must not be below {minimum}.")
        return value

    def date(self, table: Table, key: str) -> dt.date:
        value = table[key]
        if type(value) is not dt.date:
            self.fail(f"{key} must be a TOML date such as 2026-11-22, not {show(value)}.")
        return value

    def decimal(self, value: object, what: str) -> Decimal:
        # Doses are decimals written as strings so that no binary float ever rounds them.
        if type(value) is not str and type(value) is not int:
            self.fail(f'{what} must be a decimal written as a string such as "0.5", not {value!r}.')
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(f"{what} {show(value)} is not a decimal number.")
        if not number.is_finite() or number < 0:
            self.fail(f"{what} {show(value)} must be a finite number of at least 0.")
        return number

    def references(
        self, table: Table, key: str, known: Mapping[str, Reference], nonempty: bool
    ) -> tuple[str, ...]:
        values = self.texts(table, key, nonempty=nonempty)
        for value in values:
            if value not in known:
                self.fail(f"unknown reference id '{value}' (not in references.toml).")
        return values


class _Files:
    """The files read so far, parsed, keyed by their path inside the knowledge-base directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.documents: dict[str, Table] = {}

    def display(self, relative: str) -> str:
        return f"{self.directory.name}/{relative}"

    def read(self, relative: str) -> tuple[Table, Entry]:
        entry = Entry(self.display(relative), "")
        try:
            with (self.directory / relative).open("rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError:
            entry.fail("the file is missing.")
        except OSError as error:
            entry.fail(f"the file cannot be read: {error.strerror}.")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            entry.fail(f"not valid TOML: {error}.")
        self.documents[relative] = document
        return document, entry

    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(canonical_json(self.documents).encode()).hexdigest()


def canonical_json(value: object) -> str:
    """Sorted-key, compact JSON; dates as ISO 8601 and decimals as strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )


def _json_value(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Cannot serialise {value!r}.")


def load_knowledge_base(directory: Path) -> KnowledgeBase:
    """The validated, compiled knowledge base in `directory`; raises KnowledgeBaseError."""
    files = _Files(directory)
    release, guidance = _release(*files.read("release.toml"))
    references = _references(*files.read("references.toml"))
    guidance_entry = Entry(files.display("release.toml"), "[guidance.neuromuscular_monitoring]")
    for reference in guidance.neuromuscular_monitoring.references:
        if reference not in references:
            guidance_entry.fail(f"unknown reference id '{reference}' (not in references.toml).")
    groups, drugs = _drugs(*files.read("drugs.toml"))
    conditions = _conditions(*files.read("conditions.toml"), references)
    if not (directory / "rules").is_dir():
        Entry(files.display("rules"), "").fail("the rules directory is missing.")
    catalogue = _Catalogue(references, conditions, resolve_selectors(drugs, groups, DRUG_CLASSES))
    rules: list[Rule] = []
    for path in sorted((directory / "rules").glob("*.toml")):
        relative = f"rules/{path.name}"
        rules.extend(_rule_file(*files.read(relative), relative, catalogue))
    _check_rule_set(rules, files.display)
    return KnowledgeBase(
        version=release.version,
        digest=files.digest(),
        release=release,
        references=MappingProxyType(references),
        conditions=MappingProxyType(conditions),
        drugs=MappingProxyType(drugs),
        groups=MappingProxyType(groups),
        rules=tuple(rules),
        guidance=guidance,
        index=build_index(drugs, groups, DRUG_CLASSES, tuple(rules)),
    )


def _release(document: Table, file: Entry) -> tuple[ReleaseMetadata, Guidance]:
    file.keys(document, ("release", "guidance"), required=("release", "guidance"))
    entry = file.at("[release]")
    table = entry.table(document["release"], "[release]")
    metadata = ("version", "released_on", "developer", "funding_source", "status", "description")
    entry.keys(table, (*metadata, "revised_on"), required=metadata)
    version = entry.text(table, "version")
    if not _VERSION.fullmatch(version):
        entry.fail(f"version '{version}' is not a calendar version year.month.revision.")
    release = ReleaseMetadata(
        version=version,
        released_on=entry.date(table, "released_on"),
        revised_on=entry.date(table, "revised_on") if "revised_on" in table else None,
        developer=entry.text(table, "developer"),
        funding_source=entry.text(table, "funding_source"),
        status=entry.text(table, "status"),
        description=entry.text(table, "description"),
    )
    entry = file.at("[guidance]")
    table = entry.table(document["guidance"], "[guidance]")
    entry.keys(table, ("neuromuscular_monitoring",), required=("neuromuscular_monitoring",))
    entry = file.at("[guidance.neuromuscular_monitoring]")
    table = entry.table(table["neuromuscular_monitoring"], "neuromuscular_monitoring")
    entry.keys(table, ("text", "references"), required=("text", "references"))
    text = GuidanceText(entry.text(table, "text"), entry.texts(table, "references", True))
    return release, Guidance(neuromuscular_monitoring=text)


def _references(document: Table, file: Entry) -> dict[str, Reference]:
    file.keys(document, ("references",), required=("references",))
    references: dict[str, Reference] = {}
    for position, table in enumerate(file.tables(document["references"], "references"), 1):
        entry = file.identify(table, "reference", position)
        fields = ("id", "citation", "url", "what_read")
        entry.keys(table, fields, required=fields)
        reference = Reference(*(entry.text(table, key) for key in fields))
        if reference.id in references:
            entry.fail(f"duplicate reference id '{reference.id}'.")
        references[reference.id] = reference
    return references


def _drugs(document: Table, file: Entry) -> tuple[dict[str, str], dict[str, DrugDefinition]]:
    file.keys(document, ("groups", "drugs"), required=("drugs",))
    groups: dict[str, str] = {}
    for position, table in enumerate(file.tables(document.get("groups", []), "groups"), 1):
        entry = file.identify(table, "group", position, key="code")
        entry.keys(table, ("code", "name"), required=("code", "name"))
        code = entry.text(table, "code")
        if code in groups or code in DRUG_CLASSES:
            entry.fail(f"group code '{code}' is already a group or a drug class.")
        groups[code] = entry.text(table, "name")
    drugs: dict[str, DrugDefinition] = {}
    for position, table in enumerate(file.tables(document["drugs"], "drugs"), 1):
        entry = file.identify(table, "drug", position, key="code")
        required = ("code", "name", "drug_class")
        entry.keys(table, (*required, "groups", "atc"), required=required)
        drug = DrugDefinition(
            code=entry.text(table, "code"),
            name=entry.text(table, "name"),
            drug_class=entry.choice(table, "drug_class", DRUG_CLASSES),
            groups=entry.choices(table, "groups", groups, unknown="group"),
            atc=entry.optional_text(table, "atc"),
        )
        if drug.code in drugs:
            entry.fail(f"duplicate drug code '{drug.code}'.")
        drugs[drug.code] = drug
    return groups, drugs


def _conditions(
    document: Table, file: Entry, references: Mapping[str, Reference]
) -> dict[str, ConditionDefinition]:
    file.keys(document, ("conditions",), required=("conditions",))
    conditions: dict[str, ConditionDefinition] = {}
    required = ("code", "name", "mechanism_site", "receptor_effect", "references")
    optional = (
        "receptor_effect_from_hours",
        "snomed",
        "icd10cm",
        "onset_means",
        "resolved_means",
        "attributes",
        "receptor_effect_overrides",
    )
    for position, table in enumerate(file.tables(document["conditions"], "conditions"), 1):
        entry = file.identify(table, "condition", position, key="code")
        entry.keys(table, (*required, *optional), required=required)
        code = entry.text(table, "code")
        if code in conditions:
            entry.fail(f"duplicate condition code '{code}'.")
        attributes = {
            str(name): _attribute(entry.at(f"{entry.entry} attribute '{name}'"), name, value)
            for name, value in entry.table(table.get("attributes", {}), "attributes").items()
        }
        conditions[code] = ConditionDefinition(
            code=code,
            name=entry.text(table, "name"),
            mechanism_site=entry.choice(table, "mechanism_site", MECHANISM_SITES),
            receptor_effect=entry.choice(table, "receptor_effect", RECEPTOR_EFFECTS),
            receptor_effect_from_hours=(
                entry.number(table, "receptor_effect_from_hours", 0)
                if "receptor_effect_from_hours" in table
                else 0
            ),
            references=entry.references(table, "references", references, nonempty=False),
            snomed=entry.optional_text(table, "snomed"),
            icd10cm=entry.texts(table, "icd10cm"),
            onset_means=entry.optional_text(table, "onset_means"),
            resolved_means=entry.optional_text(table, "resolved_means"),
            attributes=MappingProxyType(attributes),
            receptor_effect_overrides=_overrides(entry, table, attributes),
        )
    return conditions


_ATTRIBUTE_KEYS: Mapping[str, tuple[str, ...]] = {
    "choice": ("type", "label", "choices", "unknown", "default"),
    "boolean": ("type", "label", "default"),
    "number": ("type", "label", "min", "max", "unit", "default"),
}


def _attribute(entry: Entry, name: str, value: object) -> AttributeDefinition:
    table = entry.table(value, "the attribute")
    kind = entry.choice(table, "type", ATTRIBUTE_TYPES)
    entry.keys(table, _ATTRIBUTE_KEYS[kind], required=("type", "label"))
    choices = entry.texts(table, "choices", nonempty=True) if kind == "choice" else ()
    if len(set(choices)) != len(choices):
        entry.fail("a choice is listed more than once.")
    unknown = entry.optional_text(table, "unknown")
    if unknown is not None and unknown not in choices:
        entry.fail(f"unknown marker '{unknown}' is not one of the choices.")
    minimum = entry.number(table, "min") if "min" in table else None
    maximum = entry.number(table, "max") if "max" in table else None
    if minimum is not None and maximum is not None and minimum > maximum:
        entry.fail(f"min {show(minimum)} is above max {show(maximum)}.")
    definition = AttributeDefinition(
        name=name,
        type=kind,
        label=entry.text(table, "label"),
        choices=choices,
        unknown=unknown,
        default=table.get("default"),
        minimum=minimum,
        maximum=maximum,
        unit=entry.optional_text(table, "unit"),
    )
    problem = definition.check(table["default"]) if "default" in table else None
    if problem is not None:
        entry.fail(f"default: {problem}")
    return definition


def _overrides(
    entry: Entry, table: Table, attributes: Mapping[str, AttributeDefinition]
) -> tuple[ReceptorEffectOverride, ...]:
    overrides = []
    listed = entry.tables(table.get("receptor_effect_overrides", []), "receptor_effect_overrides")
    for position, override in enumerate(listed, 1):
        here = entry.at(f"{entry.entry} receptor_effect_overrides #{position}")
        here.keys(override, ("attributes", "effect"), required=("attributes", "effect"))
        constraints = here.table(override["attributes"], "attributes")
        if not constraints:
            here.fail("attributes must name at least one attribute.")
        resolved = {}
        for name, value in constraints.items():
            if name not in attributes:
                here.fail(f"unknown attribute '{name}' (not in the condition's attributes).")
            resolved[name] = _constraint(here, name, value, [attributes[name]])
        effect = here.choice(override, "effect", RECEPTOR_EFFECTS)
        overrides.append(ReceptorEffectOverride(MappingProxyType(resolved), effect))
    return tuple(overrides)


def _constraint(
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


class _Catalogue:
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


def _rule_file(document: Table, file: Entry, relative: str, catalogue: _Catalogue) -> list[Rule]:
    file.keys(document, ("rules",), required=("rules",))
    return [
        _rule(file.identify(table, "rule", position), table, relative, catalogue)
        for position, table in enumerate(file.tables(document["rules"], "rules"), 1)
    ]


def _rule(entry: Entry, table: Table, relative: str, catalogue: _Catalogue) -> Rule:
    entry.keys(table, _RULE_KEYS, required=_RULE_REQUIRED)
    rule_id = entry.text(table, "id")
    if not _RULE_ID.fullmatch(rule_id):
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
    )


def _effects(entry: Entry, table: Table) -> tuple[str, ...]:
    given = entry.choices(table, "effects", EFFECT_TAGS)
    return tuple(tag for tag in EFFECT_TAGS if tag in given)


def _when(entry: Entry, table: Table, catalogue: _Catalogue) -> When:
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
        constraints[str(name)] = _constraint(entry, name, value, definitions)
    medication_hours = None
    if "medication_hours" in table:
        if "medications" not in table:
            entry.fail("medication_hours needs when.medications to say which medication.")
        hours = entry.table(table["medication_hours"], "medication_hours")
        entry.keys(hours, ("min", "max"), required=())
        minimum = entry.number(hours, "min", 0) if "min" in hours else None
        maximum = entry.number(hours, "max", 0) if "max" in hours else None
        if minimum is not None and maximum is not None and minimum >= maximum:
            entry.fail(f"medication_hours min {show(minimum)} is not below max {show(maximum)}.")
        medication_hours = HoursRange(minimum, maximum)
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
    entry.keys(table, (*required, "to_hours", "status", "effects"), required=required)
    start = entry.number(table, "from_hours", 0)
    end = entry.number(table, "to_hours", 0) if "to_hours" in table else None
    if end is not None and start >= end:
        entry.fail(f"from_hours {show(start)} is not before to_hours {show(end)}.")
    return Phase(
        from_hours=start,
        to_hours=end,
        status=entry.choice(table, "status", PHASE_STATUSES, "any"),
        level=Level.from_code(entry.choice(table, "level", LEVEL_CODES)),
        effects=_effects(entry, table),
        summary=entry.text(table, "summary"),
    )


def _check_phase_overlaps(entry: Entry, phases: tuple[Phase, ...]) -> None:
    for first, earlier in enumerate(phases, 1):
        for second, later in enumerate(phases[first:], first + 1):
            same_status = "any" in (earlier.status, later.status) or earlier.status == later.status
            overlap = (later.to_hours is None or earlier.from_hours < later.to_hours) and (
                earlier.to_hours is None or later.from_hours < earlier.to_hours
            )
            if same_status and overlap:
                entry.fail(f"phases #{first} and #{second} overlap for the same status.")


def _dose(entry: Entry, table: Table, targets: frozenset[str], catalogue: _Catalogue) -> DoseSpec:
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


def _check_rule_set(rules: list[Rule], display: Callable[[str], str]) -> None:
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
