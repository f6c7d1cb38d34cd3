"""The knowledge base as validated, immutable values, with the indexes the evaluator needs.

`loader.py` builds these from the TOML files; `evaluate.py` only reads them. Every selector is
resolved to a frozenset of drug codes once, here, so evaluation never parses a string.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeGuard

from periop.drugs.engine.aftermath import UNSTATED, Aftermath
from periop.drugs.engine.timeline import Bound, hours_to_microseconds
from periop.drugs.engine.types import DoseRange, DrugCaution, EngineInputError, Finding, Level

if TYPE_CHECKING:
    # Only for the annotations: card_text.py, coverage.py and attribute_units.py read the
    # knowledge types defined here.
    from periop.drugs.engine.attribute_units import UnitConversion
    from periop.drugs.engine.card_text import CardEditor
    from periop.drugs.engine.coverage import CoverageMap
    from periop.drugs.engine.growth import GrowthTable
    from periop.drugs.engine.observation_codes import ObservationCode

ATTRIBUTE_TYPES: tuple[str, ...] = ("choice", "boolean", "number")
GROUP_PREFIX = "group:"

# Planned drugs in this group or class always get the knowledge base's monitoring guidance.
MONITORING_GROUP = "nmba"
MONITORING_CLASS = "reversal-agent"


@dataclass(frozen=True, slots=True)
class Reference:
    """One source: `url` is an https link or empty; `identifier` a DOI, PMID or address as given."""

    id: str
    citation: str
    url: str
    what_read: str
    identifier: str = ""


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    """One attribute of a condition's schema; `check` says what is wrong with a value."""

    name: str
    type: str  # one of ATTRIBUTE_TYPES
    label: str
    choices: tuple[str, ...] = ()
    unknown: str | None = None
    default: object = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    unit: str | None = None
    # Why no rule uses the attribute, when none does; None for an attribute that rules use.
    informational: str | None = None

    def check(self, value: object) -> str | None:
        """The plain-English problem with `value` for this attribute, or None when it is valid."""
        if self.type == "boolean":
            return None if type(value) is bool else f"{show(value)} is not true or false."
        if self.type == "choice":
            if isinstance(value, str) and value in self.choices:
                return None
            return f"{show(value)} is not one of {', '.join(self.choices)}."
        if not is_number(value):
            return f"{show(value)} is not a number."
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and value < self.minimum:
            return f"{show(value)} is below the minimum of {show(self.minimum)}{unit}."
        if self.maximum is not None and value > self.maximum:
            return f"{show(value)} is above the maximum of {show(self.maximum)}{unit}."
        return None


@dataclass(frozen=True, slots=True)
class AttributeConstraint:
    """A `when.attributes` entry: allowed values (choice, boolean) or an inclusive number range."""

    values: tuple[object, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    # The values paired with their types, so that True never matches 1 (and lookup is O(1)).
    typed_values: frozenset[tuple[type, object]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        typed = frozenset((type(value), value) for value in self.values or ())
        object.__setattr__(self, "typed_values", typed)

    def allows(self, value: object) -> bool:
        """Whether a known, valid attribute value satisfies the constraint."""
        if self.values is not None:
            return (type(value), value) in self.typed_values
        if not is_number(value):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        return not (self.maximum is not None and value > self.maximum)


@dataclass(frozen=True, slots=True)
class ReceptorEffectOverride:
    attributes: Mapping[str, AttributeConstraint]
    effect: str  # "up" | "down" | "none"


@dataclass(frozen=True, slots=True)
class AttributeImplication:
    """Known values of some attributes imply the values another attribute can take.

    A recorded value outside `values` contradicts the implying values; the evaluation then keeps
    both readings and says so.
    """

    when: Mapping[str, AttributeConstraint]
    attribute: str
    values: tuple[object, ...]
    reason: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConditionDefinition:
    code: str
    name: str
    mechanism_site: str
    receptor_effect: str  # "up" | "down" | "none"
    receptor_effect_from_hours: int | float
    references: tuple[str, ...]
    snomed: str | None
    icd10cm: tuple[str, ...]
    onset_means: str | None
    resolved_means: str | None
    attributes: Mapping[str, AttributeDefinition]
    receptor_effect_overrides: tuple[ReceptorEffectOverride, ...] = ()
    implications: tuple[AttributeImplication, ...] = ()
    aftermath: Aftermath = UNSTATED  # how long it counts as active after it resolves
    # Attributes recorded in another unit and the attribute the rules read them as (v1.1).
    conversions: tuple[UnitConversion, ...] = ()
    # The SNOMED CT concept stands for the records whose attributes take these values only
    # (Duchenne's concept for a condition that is Duchenne or Becker); empty: for every record.
    snomed_when: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    # receptor_effect_from_hours in exact microseconds, for the evaluator.
    effect_from: Bound = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        effect_from = hours_to_microseconds(self.receptor_effect_from_hours)
        object.__setattr__(self, "effect_from", effect_from)

    def snomed_for(self, attributes: Mapping[str, object]) -> str | None:
        """The SNOMED CT code of a record with these attributes: None when the concept is
        narrower than the record (a Becker or unknown type under Duchenne's concept)."""
        if self.snomed is None:
            return None
        for name, values in self.snomed_when.items():
            if attributes.get(name) not in values:
                return None
        return self.snomed


@dataclass(frozen=True, slots=True)
class DrugDefinition:
    code: str
    name: str
    drug_class: str
    groups: tuple[str, ...]
    atc: str | None
    aftermath: Aftermath = UNSTATED  # how long it counts as active after it stops
    # Other names accepted for the drug (British and international names); never a code.
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HoursRange:
    """Hours a medication has been taken (from its start to its stop, or to the evaluation while
    it is taken), or hours since its stop: minimum inclusive, maximum exclusive."""

    minimum: int | float | None
    maximum: int | float | None
    since: str = "start"  # "start" | "stop": the clock; only a stopped medication has a "stop" one
    # The bounds in exact microseconds, for the evaluator.
    minimum_us: Bound | None = field(init=False, repr=False, compare=False)
    maximum_us: Bound | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "minimum_us", _microseconds(self.minimum))
        object.__setattr__(self, "maximum_us", _microseconds(self.maximum))


@dataclass(frozen=True, slots=True)
class When:
    """What must hold of the patient for a rule to fire; every list is "any of"."""

    conditions: tuple[str, ...] = ()
    attributes: Mapping[str, AttributeConstraint] = field(
        default_factory=lambda: MappingProxyType({})
    )
    condition_status: str = "active"  # "active" | "any"
    medications: tuple[str, ...] = ()
    medication_hours: HoursRange | None = None
    present: tuple[str, ...] = ()
    also_present: tuple[str, ...] = ()
    receptor_state: tuple[str, ...] = ()
    # For the evaluator: the conditions as a set, and the selectors resolved to drug codes.
    condition_codes: frozenset[str] = frozenset()
    needs_present: bool = False  # present or also_present is set
    medication_codes: frozenset[str] = frozenset()
    present_codes: frozenset[str] = frozenset()
    also_present_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Phase:
    from_hours: int | float
    to_hours: int | float | None  # None: no end
    status: str  # "any" | "ongoing" | "resolved"
    level: Level
    effects: tuple[str, ...]
    summary: str
    # The clock of the window: hours since the condition's "onset" (default) or since its
    # "resolution" (then only a resolved condition can match), counted until the "evaluation"
    # (default) or, from the onset, until the "resolution" (how long the condition lasted).
    since: str = "onset"
    until: str = "evaluation"
    # Whether this phase rests on a grade-U item; None: as the rule's `unconfirmed` says.
    unconfirmed: bool | None = None
    # The window in exact microseconds, for the evaluator.
    start: Bound = field(init=False, repr=False, compare=False)
    end: Bound | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", hours_to_microseconds(self.from_hours))
        object.__setattr__(self, "end", _microseconds(self.to_hours))


def _microseconds(hours: int | float | None) -> Bound | None:
    return None if hours is None else hours_to_microseconds(hours)


@dataclass(frozen=True, slots=True)
class DoseSpec:
    text: str
    drugs: tuple[str, ...] = ()  # selectors; empty means every target of the rule
    per_kg_mg: DoseRange | None = None
    fixed_mg: DoseRange | None = None
    max_mg: Decimal | None = None
    drug_codes: frozenset[str] = frozenset()  # `drugs` resolved; empty means every target


@dataclass(frozen=True, slots=True)
class Alternative:
    """A drug the reference names as the one to use instead of a rule's target drug."""

    drug: str  # a drug code
    references: tuple[str, ...]  # who names it
    # Selectors: offered only when one of them is an active medication or another planned drug
    # (sugammadex reverses only rocuronium and vecuronium); empty means always.
    present: tuple[str, ...] = ()
    present_codes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    drugs: tuple[str, ...]
    level: Level | None  # None for a time-windowed rule: the phases carry the level
    effects: tuple[str, ...]
    summary: str
    rationale: str
    references: tuple[str, ...]
    evidence: str
    unconfirmed: bool
    monitoring: str | None
    reversal: str | None
    uses_demographics: tuple[str, ...]
    supersedes: tuple[str, ...]
    when: When
    phases: tuple[Phase, ...]
    doses: tuple[DoseSpec, ...]
    source_file: str
    target_drugs: frozenset[str] = frozenset()  # `drugs` resolved to drug codes
    # What to give instead, offered on an avoid or contraindicated finding of this rule.
    alternatives: tuple[Alternative, ...] = ()

    def dose_for(self, drug: str) -> DoseSpec | None:
        """The first dose entry of this rule that applies to `drug`."""
        for dose in self.doses:
            if not dose.drug_codes or drug in dose.drug_codes:
                return dose
        return None


@dataclass(frozen=True, slots=True)
class ReleaseMetadata:
    version: str
    released_on: dt.date
    revised_on: dt.date | None
    developer: str
    funding_source: str
    status: str
    description: str


@dataclass(frozen=True, slots=True)
class GuidanceText:
    text: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Guidance:
    neuromuscular_monitoring: GuidanceText


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """Lookups compiled once per knowledge base so that evaluation touches only relevant rules."""

    selectors: Mapping[str, frozenset[str]]
    rules_by_id: Mapping[str, Rule]
    # Per planned drug: positions (in `KnowledgeBase.rules`) of the rules that need no condition,
    # and per condition code the positions of the rules that need that condition.
    unconditional_by_drug: Mapping[str, tuple[int, ...]]
    conditional_by_drug: Mapping[str, Mapping[str, tuple[int, ...]]]
    rules_by_condition: Mapping[str, tuple[Rule, ...]]
    monitored_drugs: frozenset[str]
    # Every drug code and synonym mapped to its code (v1.1 vocabulary).
    drug_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Output values already built for this knowledge base, reused by later evaluations: each is
    # immutable and a pure function of its key. matching.py bounds their size.
    finding_memo: dict[tuple[object, ...], Finding] = field(default_factory=dict, repr=False)
    candidate_memo: dict[tuple[object, ...], tuple[int, ...]] = field(
        default_factory=dict, repr=False
    )
    # Per patient alike in what rules read of their conditions and medications (all but the
    # clocks), each rule's target-independent result (matching.py); and per such patient and
    # drug planned with the same drugs, its cards (matching.DrugCards).
    base_memo: dict[tuple[object, ...], dict[int, object]] = field(default_factory=dict, repr=False)
    drug_cards_memo: dict[tuple[int, object], tuple[object, object]] = field(
        default_factory=dict, repr=False
    )
    # Per such patient and drugs planned (in order), the plan's cards (matching.PlanCards).
    plan_cards_memo: dict[tuple[int, object], tuple[object, object]] = field(
        default_factory=dict, repr=False
    )
    # Per card with a per-kg dose and weight, the card with that dose in mg (evaluate.py).
    weighed_memo: dict[tuple[int, object], tuple[object, object]] = field(
        default_factory=dict, repr=False
    )
    # Cautions by drug and what its kept rules found, without a per-kg dose's figures in mg;
    # and, by a caution and the alternatives it keeps, that caution and the one with only
    # those alternatives (evaluate.py).
    caution_memo: dict[tuple[object, ...], tuple[DrugCaution, object]] = field(
        default_factory=dict, repr=False
    )
    # Per set of rated-out drugs, what leaves advice to use them out of card texts (card_text.py).
    editor_memo: dict[tuple[tuple[str, Level], ...], CardEditor] = field(
        default_factory=dict, repr=False
    )


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """A validated, compiled knowledge-base version; compared by identity."""

    version: str
    digest: str
    release: ReleaseMetadata
    references: Mapping[str, Reference]
    conditions: Mapping[str, ConditionDefinition]
    drugs: Mapping[str, DrugDefinition]
    groups: Mapping[str, str]
    rules: tuple[Rule, ...]
    guidance: Guidance
    index: RuleIndex = field(repr=False)
    # The reference-table coverage map (coverage.toml); None when the directory has none.
    coverage: CoverageMap | None = field(default=None, repr=False)
    # The confirmed observation codes (observations.toml); empty when the directory has none.
    observations: tuple[ObservationCode, ...] = field(default=(), repr=False)
    # The weight-for-age growth chart (growth/cdc-2000-weight-for-age.toml) behind the
    # implausible-weight warning; None for a release stored before the chart was part of one.
    growth: GrowthTable | None = field(default=None, repr=False)

    def drug_codes_for(self, selector: str) -> frozenset[str]:
        """The drug codes a selector ("rocuronium", "group:aminosteroid") stands for."""
        try:
            return self.index.selectors[selector]
        except KeyError:
            raise KeyError(f"Unknown drug selector '{selector}'.") from None

    def canonical_drug_code(self, name: object) -> str | None:
        """The drug code a code or synonym stands for ("suxamethonium" -> "succinylcholine")."""
        return self.index.drug_names.get(name) if isinstance(name, str) else None

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        return self.index.rules_by_id[rule_id]


def build_index(
    drugs: Mapping[str, DrugDefinition],
    groups: Mapping[str, str],
    classes: tuple[str, ...],
    rules: tuple[Rule, ...],
) -> RuleIndex:
    """Compiles selectors and rule indexes; `rules` must already carry their target drugs."""
    return RuleIndex(
        selectors=MappingProxyType(resolve_selectors(drugs, groups, classes)),
        rules_by_id=MappingProxyType({rule.id: rule for rule in rules}),
        unconditional_by_drug=MappingProxyType(
            {
                code: tuple(
                    position
                    for position, rule in enumerate(rules)
                    if code in rule.target_drugs and not rule.when.conditions
                )
                for code in drugs
            }
        ),
        conditional_by_drug=MappingProxyType(
            {code: _conditional_rules(code, rules) for code in drugs}
        ),
        rules_by_condition=MappingProxyType(_rules_by_condition(rules)),
        monitored_drugs=frozenset(
            code
            for code, drug in drugs.items()
            if MONITORING_GROUP in drug.groups or drug.drug_class == MONITORING_CLASS
        ),
        drug_names=MappingProxyType(drug_names(drugs)),
    )


def drug_names(drugs: Mapping[str, DrugDefinition]) -> dict[str, str]:
    """Every drug code and synonym mapped to its drug code (the loader keeps them unique)."""
    names = {code: code for code in drugs}
    for code, drug in drugs.items():
        names.update(dict.fromkeys(drug.synonyms, code))
    return names


def resolve_selectors(
    drugs: Mapping[str, DrugDefinition], groups: Mapping[str, str], classes: tuple[str, ...]
) -> dict[str, frozenset[str]]:
    """Every valid selector mapped to its drug codes (a selector may match no drug)."""
    selectors = {code: frozenset((code,)) for code in drugs}
    for group in (*groups, *classes):
        selectors[GROUP_PREFIX + group] = frozenset(
            code for code, drug in drugs.items() if group in drug.groups or drug.drug_class == group
        )
    return selectors


def _conditional_rules(drug: str, rules: tuple[Rule, ...]) -> Mapping[str, tuple[int, ...]]:
    by_condition: dict[str, list[int]] = {}
    for position, rule in enumerate(rules):
        if drug in rule.target_drugs:
            for code in dict.fromkeys(rule.when.conditions):
                by_condition.setdefault(code, []).append(position)
    return MappingProxyType({code: tuple(found) for code, found in by_condition.items()})


def _rules_by_condition(rules: tuple[Rule, ...]) -> dict[str, tuple[Rule, ...]]:
    by_condition: dict[str, list[Rule]] = {}
    for rule in rules:
        for code in dict.fromkeys(rule.when.conditions):
            by_condition.setdefault(code, []).append(rule)
    return {code: tuple(found) for code, found in by_condition.items()}


def check_condition_attributes(
    kb: KnowledgeBase, code: str, attributes: Mapping[str, object]
) -> dict[str, str]:
    """Attribute name -> plain-English error for unknown attributes and bad values ({} if valid)."""
    condition = kb.conditions.get(code)
    if condition is None:
        raise EngineInputError("conditions", f"Unknown condition code {show(code)}.")
    errors: dict[str, str] = {}
    for name, value in attributes.items():
        definition = condition.attributes.get(name)
        if definition is None:
            allowed = ", ".join(condition.attributes) or "none"
            errors[str(name)] = (
                f"Unknown attribute {show(name)} for {condition.name}; allowed: {allowed}."
            )
            continue
        problem = definition.check(value)
        if problem is not None:
            errors[name] = problem
    return errors


def is_number(value: object) -> TypeGuard[int | float | Decimal]:
    """A finite int, float or Decimal, and not a bool."""
    if type(value) is bool:
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, Decimal) and value.is_finite()


def show(value: object) -> str:
    """A value as a message quotes it: strings in quotes, booleans as in TOML and JSON."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
