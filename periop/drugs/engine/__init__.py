"""The pure caution engine: knowledge-base loading and evaluation, standard library only."""

from periop.drugs.engine.evaluate import evaluate
from periop.drugs.engine.knowledge import KnowledgeBase, check_condition_attributes
from periop.drugs.engine.loader import load_knowledge_base
from periop.drugs.engine.types import (
    EFFECT_TAGS,
    RECEPTOR_STATES,
    ConditionInput,
    DoseGuidance,
    DoseRange,
    DrugCaution,
    EngineInputError,
    Evaluation,
    Finding,
    KnowledgeBaseError,
    Level,
    MedicationInput,
    PatientState,
    ReceptorSource,
    ReceptorState,
    TimePoint,
)

__all__ = [
    "EFFECT_TAGS",
    "RECEPTOR_STATES",
    "ConditionInput",
    "DoseGuidance",
    "DoseRange",
    "DrugCaution",
    "EngineInputError",
    "Evaluation",
    "Finding",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Level",
    "MedicationInput",
    "PatientState",
    "ReceptorSource",
    "ReceptorState",
    "TimePoint",
    "check_condition_attributes",
    "evaluate",
    "load_knowledge_base",
]
