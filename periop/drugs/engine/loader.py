"""Reads the knowledge-base TOML files, validates every entry and compiles a KnowledgeBase.

The schema is `fixtures/knowledge/README.md`. Any problem stops loading with a
`KnowledgeBaseError` naming the file, the entry and the bad value, so an invalid knowledge base
never reaches a patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from periop.drugs.engine.aftermath import AFTERMATH_KEYS, aftermath_declaration
from periop.drugs.engine.attribute_readings import check_attribute_use, implications
from periop.drugs.engine.attribute_units import conversions
from periop.drugs.engine.coverage import read_coverage
from periop.drugs.engine.growth import GROWTH_FILE, read_growth_chart
from periop.drugs.engine.knowledge import (
    ATTRIBUTE_TYPES,
    AttributeDefinition,
    ConditionDefinition,
    DrugDefinition,
    Guidance,
    GuidanceText,
    KnowledgeBase,
    ReceptorEffectOverride,
    Reference,
    ReleaseMetadata,
    Rule,
    build_index,
    resolve_selectors,
    show,
)
from periop.drugs.engine.observation_codes import read_observation_codes
from periop.drugs.engine.rule_files import (
    Catalogue,
    attribute_constraint,
    check_rule_set,
    rule_file,
)
from periop.drugs.engine.toml_checks import (
    CONDITION_STATUSES,
    DEMOGRAPHICS,
    DRUG_CLASSES,
    LEVEL_CODES,
    MECHANISM_SITES,
    PHASE_STATUSES,
    RECEPTOR_EFFECTS,
    VERSION_PATTERN,
    Entry,
    KnowledgeFiles,
    Table,
    canonical_json,
)
from periop.drugs.engine.types import KnowledgeBaseError

# The vocabularies, the entry checks and the canonical JSON of the digest live in
# toml_checks.py and the rule parsing in rule_files.py; their public names stay importable here.
__all__ = [
    "CONDITION_STATUSES",
    "DEMOGRAPHICS",
    "DRUG_CLASSES",
    "LEVEL_CODES",
    "MECHANISM_SITES",
    "PHASE_STATUSES",
    "RECEPTOR_EFFECTS",
    "Entry",
    "Table",
    "canonical_json",
    "load_knowledge_base",
    "load_knowledge_base_texts",
    "read_release_files",
]


# The files a release is made of (besides `rules/*.toml`); coverage.toml, observations.toml
# and the growth chart are optional. An optional file counts in the digest only when present,
# so a release stored before the growth chart was part of releases keeps its digest.
RELEASE_FILES = ("release.toml", "references.toml", "drugs.toml", "conditions.toml")
OPTIONAL_FILES = ("coverage.toml", "observations.toml", GROWTH_FILE)


def read_release_files(directory: Path) -> dict[str, str]:
    """The TOML texts of the knowledge base in `directory`, by path inside it: what a release
    stored as data holds. Raises KnowledgeBaseError when a file cannot be read."""
    names = [*RELEASE_FILES, *(name for name in OPTIONAL_FILES if (directory / name).is_file())]
    names += [f"rules/{path.name}" for path in sorted((directory / "rules").glob("*.toml"))]
    texts: dict[str, str] = {}
    for name in names:
        try:
            texts[name] = (directory / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise KnowledgeBaseError(
                f"{directory.name}/{name}", "", f"the file cannot be read: {error}."
            ) from error
    return texts


def load_knowledge_base(directory: Path) -> KnowledgeBase:
    """The validated, compiled knowledge base in `directory`; raises KnowledgeBaseError."""
    return _load(KnowledgeFiles(directory))


def load_knowledge_base_texts(texts: Mapping[str, str], label: str) -> KnowledgeBase:
    """The validated, compiled knowledge base of a stored release's TOML texts (path -> text);
    `label` names it in error messages. Raises KnowledgeBaseError."""
    return _load(KnowledgeFiles(Path(label), texts=texts, label=label))


def _load(files: KnowledgeFiles) -> KnowledgeBase:
    release, guidance = _release(*files.read("release.toml"))
    references = _references(*files.read("references.toml"))
    guidance_entry = Entry(files.display("release.toml"), "[guidance.neuromuscular_monitoring]")
    for reference in guidance.neuromuscular_monitoring.references:
        if reference not in references:
            guidance_entry.fail(f"unknown reference id '{reference}' (not in references.toml).")
    groups, drugs = _drugs(*files.read("drugs.toml"), references)
    conditions = _conditions(*files.read("conditions.toml"), references)
    if not files.has_rules():
        Entry(files.display("rules"), "").fail("the rules directory is missing.")
    catalogue = Catalogue(references, conditions, resolve_selectors(drugs, groups, DRUG_CLASSES))
    rules: list[Rule] = []
    for relative in files.rule_files():
        rules.extend(rule_file(*files.read(relative), relative, catalogue))
    check_rule_set(rules, files.display)
    check_attribute_use(conditions, rules, files.display)
    coverage = read_coverage(files, {rule.id for rule in rules}, drugs, conditions)
    observations = read_observation_codes(files, conditions)
    growth = read_growth_chart(files)
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
        coverage=coverage,
        observations=observations,
        growth=growth,
    )


def _release(document: Table, file: Entry) -> tuple[ReleaseMetadata, Guidance]:
    file.keys(document, ("release", "guidance"), required=("release", "guidance"))
    entry = file.at("[release]")
    table = entry.table(document["release"], "[release]")
    metadata = ("version", "released_on", "developer", "funding_source", "status", "description")
    entry.keys(table, (*metadata, "revised_on"), required=metadata)
    version = entry.text(table, "version")
    if not VERSION_PATTERN.fullmatch(version):
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
        required = ("id", "citation", "url", "what_read")
        entry.keys(table, (*required, "identifier"), required=required)
        url = table["url"]
        if not isinstance(url, str):
            entry.fail(f"url must be a string (empty when there is no link), not {show(url)}.")
        reference = Reference(
            id=entry.text(table, "id"),
            citation=entry.text(table, "citation"),
            url=url,
            what_read=entry.text(table, "what_read"),
            identifier=entry.optional_text(table, "identifier") or "",
        )
        if reference.id in references:
            entry.fail(f"duplicate reference id '{reference.id}'.")
        references[reference.id] = reference
    return references


def _drugs(
    document: Table, file: Entry, references: Mapping[str, Reference]
) -> tuple[dict[str, str], dict[str, DrugDefinition]]:
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
        optional = ("groups", "atc", "synonyms", *AFTERMATH_KEYS)
        entry.keys(table, (*required, *optional), required=required)
        drug = DrugDefinition(
            code=entry.text(table, "code"),
            name=entry.text(table, "name"),
            drug_class=entry.choice(table, "drug_class", DRUG_CLASSES),
            groups=entry.choices(table, "groups", groups, unknown="group"),
            atc=entry.optional_text(table, "atc"),
            aftermath=aftermath_declaration(entry, table, references),
            synonyms=entry.texts(table, "synonyms"),
        )
        if drug.code in drugs:
            entry.fail(f"duplicate drug code '{drug.code}'.")
        drugs[drug.code] = drug
    _check_drug_names(drugs, file)
    return groups, drugs


def _check_drug_names(drugs: Mapping[str, DrugDefinition], file: Entry) -> None:
    """Synonyms are lower-case names, unique across every drug code and every synonym, so a
    name always stands for exactly one drug."""
    owner: dict[str, str] = {code: f"the code of '{code}'" for code in drugs}
    for code, drug in drugs.items():
        entry = file.at(f"drug '{code}'")
        for synonym in drug.synonyms:
            if synonym != synonym.strip().lower():
                entry.fail(f"synonym '{synonym}' must be lower case without surrounding spaces.")
            if synonym in owner:
                entry.fail(f"synonym '{synonym}' is already {owner[synonym]}.")
            owner[synonym] = f"a synonym of '{code}'"


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
        "implications",
        "conversions",
        "snomed_when",
        *AFTERMATH_KEYS,
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
            # Its receptor effect and mechanism are clinical facts: each condition cites them.
            references=entry.references(table, "references", references, nonempty=True),
            snomed=entry.optional_text(table, "snomed"),
            icd10cm=entry.texts(table, "icd10cm"),
            onset_means=entry.optional_text(table, "onset_means"),
            resolved_means=entry.optional_text(table, "resolved_means"),
            attributes=MappingProxyType(attributes),
            receptor_effect_overrides=_overrides(entry, table, attributes),
            implications=implications(entry, table, attributes, references, attribute_constraint),
            aftermath=aftermath_declaration(entry, table, references),
            conversions=conversions(entry, table, attributes, references),
            snomed_when=_snomed_when(entry, table, attributes),
        )
    return conditions


def _snomed_when(
    entry: Entry, table: Table, attributes: Mapping[str, AttributeDefinition]
) -> Mapping[str, tuple[str, ...]]:
    """`snomed_when = {attribute = [choices]}`: the records the SNOMED CT concept stands for."""
    if "snomed_when" not in table:
        return MappingProxyType({})
    if "snomed" not in table:
        entry.fail("snomed_when needs a snomed code to qualify.")
    when = entry.table(table["snomed_when"], "snomed_when")
    if not when:
        entry.fail("snomed_when must name at least one attribute.")
    result: dict[str, tuple[str, ...]] = {}
    for name in when:
        attribute = attributes.get(name)
        if attribute is None or attribute.type != "choice":
            entry.fail(f"snomed_when names '{name}', which is not a choice attribute.")
        result[name] = entry.choices(when, name, attribute.choices)
        if not result[name]:
            entry.fail(f"snomed_when '{name}' must list at least one choice.")
    return MappingProxyType(result)


_ATTRIBUTE_KEYS: Mapping[str, tuple[str, ...]] = {
    "choice": ("type", "label", "choices", "unknown", "default", "informational"),
    "boolean": ("type", "label", "default", "informational"),
    "number": ("type", "label", "min", "max", "unit", "default", "informational"),
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
        informational=entry.optional_text(table, "informational"),
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
            resolved[name] = attribute_constraint(here, name, value, [attributes[name]])
        effect = here.choice(override, "effect", RECEPTOR_EFFECTS)
        overrides.append(ReceptorEffectOverride(MappingProxyType(resolved), effect))
    return tuple(overrides)
