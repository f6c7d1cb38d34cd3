"""Value types of the caution engine: inputs, outputs and the compiled knowledge base.

Everything here is an immutable, standard-library value so the engine stays pure: no clock,
no I/O, no Django. Decimals, never floats, carry doses and weights.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

# A moment in clinical input: an exact, timezone-aware instant, or a calendar date whose time
# of day is unknown (the engine treats a date as a range of instants).
TimePoint = dt.datetime | dt.date


class Level(enum.IntEnum):
    """Caution levels; a larger value is more restrictive."""

    NONE = 0
    MONITOR = 1
    ADJUST = 2
    AVOID = 3
    CONTRAINDICATED = 4

    @property
    def code(self) -> str:
        # A tuple looked up by value: the enum's own `name` is a slow descriptor, and every
        # finding and caution of every answer reads its level's code.
        return _LEVEL_CODES[self]

    @classmethod
    def from_code(cls, code: str) -> Level:
        return cls[code.upper()]


# Indexed by the level's value (0 to 4, in order).
_LEVEL_CODES: tuple[str, ...] = tuple(level.name.lower() for level in sorted(Level))

# In the order of api-contract.md; merged effect lists follow this order.
EFFECT_TAGS: tuple[str, ...] = (
    "increased_sensitivity",
    "resistance",
    "prolonged",
    "hyperkalemia",
    "malignant_hyperthermia",
    "myotonia",
    "cholinergic",
    "reduced_reversal",
    "unpredictable",
    "worsens_disease",
)

RECEPTOR_STATES: tuple[str, ...] = ("up", "down", "mixed", "normal")


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionInput:
    """One recorded condition episode. `None` onset means unknown; `None` resolved means ongoing."""

    code: str
    onset: TimePoint | None = None
    resolved: TimePoint | None = None
    attributes: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MedicationInput:
    """A current or recent medication. `None` started is unknown; `None` stopped is ongoing."""

    code: str
    started: TimePoint | None = None
    stopped: TimePoint | None = None


@dataclass(frozen=True, slots=True)
class PatientState:
    """Everything the engine knows about the patient."""

    conditions: tuple[ConditionInput, ...] = ()
    medications: tuple[MedicationInput, ...] = ()
    weight_kg: Decimal | None = None
    age_years: int | None = None
    sex: str | None = None
    receptor_state_override: str | None = None  # one of RECEPTOR_STATES


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DoseRange:
    """An inclusive range in milligrams (or mg/kg). `minimum == maximum` for a single figure."""

    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True, slots=True)
class DoseGuidance:
    text: str
    rule: str
    per_kg_mg: DoseRange | None = None
    # The per-kg range times the patient's weight (capped by the rule's max_mg), when the weight
    # is known; or the rule's fixed dose.
    total_mg: DoseRange | None = None
    max_mg: Decimal | None = None
    # True on an avoid or contraindicated caution: the dose applies only if the drug is given
    # after a clinician's override, never as a recommendation to give it.
    only_after_override: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    level: Level
    effects: tuple[str, ...]
    # "condition:<code>", "medication:<code>", "drug:<code>", "receptor-state:<value>"
    triggered_by: tuple[str, ...]
    summary: str
    rationale: str
    references: tuple[str, ...]
    unconfirmed: bool = False


@dataclass(frozen=True, slots=True)
class DrugCaution:
    drug: str
    drug_class: str
    level: Level
    effects: tuple[str, ...]  # union of the findings' effects, in vocabulary order
    conflict: bool  # findings pull in opposite directions (increased_sensitivity and resistance)
    summary: str
    findings: tuple[Finding, ...]  # most restrictive first, then by rule id
    dose: DoseGuidance | None
    monitoring: str
    reversal: str
    assumptions: tuple[str, ...]
    # On an avoid or contraindicated caution, what to do instead (the card leads with it);
    # empty otherwise.
    instead: str = ""
    # On an avoid or contraindicated caution, the drug codes its restrictive findings name to
    # give instead, less any that is itself planned or rated avoid or above for this patient.
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceptorSource:
    condition: str
    effect: str  # "up" | "down"


@dataclass(frozen=True, slots=True)
class ReceptorState:
    value: str  # one of RECEPTOR_STATES
    overridden: bool
    derived: str  # the value derived from conditions, even when overridden
    sources: tuple[ReceptorSource, ...]


@dataclass(frozen=True, slots=True)
class Evaluation:
    knowledge_base_version: str
    knowledge_base_digest: str
    at: dt.datetime
    receptor_state: ReceptorState
    cautions: tuple[DrugCaution, ...]  # one per planned drug, in request order
    highest_level: Level
    assumptions: tuple[str, ...]  # patient-level assumptions (for example an unknown onset)
    # The cautions of the cautions' alternatives for this patient, had they been planned with
    # the planned drugs (their dose guidance, for an order that replaces a drug).
    alternative_cautions: tuple[DrugCaution, ...] = ()


class EngineInputError(ValueError):
    """Input the engine cannot evaluate, with the field it concerns (maps to a 400)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


class KnowledgeBaseError(Exception):
    """The knowledge-base files are invalid; names the file and the entry."""

    def __init__(self, path: str, entry: str, message: str) -> None:
        super().__init__(f"{path}: {entry}: {message}" if entry else f"{path}: {message}")
        self.path = path
        self.entry = entry
        self.message = message
