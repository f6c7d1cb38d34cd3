"""Models of patients, their recorded state, and pre-operative assessments."""

from periop.assessments.models.assessments import (
    ACKNOWLEDGED_LEVELS,
    REASONS_NEEDING_COMMENT,
    Acknowledgement,
    Assessment,
    AssessmentStatus,
    Decision,
    ReasonCode,
)
from periop.assessments.models.cautions import (
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
)
from periop.assessments.models.idempotency import IdempotencyKey
from periop.assessments.models.patients import (
    RECEPTOR_STATE_CHOICES,
    Patient,
    PatientCondition,
    PatientMedication,
    PatientReceptorState,
    Sex,
)
from periop.drugs.weights import MAXIMUM_WEIGHT_KG, MINIMUM_WEIGHT_KG

__all__ = [
    "ACKNOWLEDGED_LEVELS",
    "MAXIMUM_WEIGHT_KG",
    "MINIMUM_WEIGHT_KG",
    "REASONS_NEEDING_COMMENT",
    "RECEPTOR_STATE_CHOICES",
    "Acknowledgement",
    "Assessment",
    "AssessmentCaution",
    "AssessmentConditionCode",
    "AssessmentFinding",
    "AssessmentStatus",
    "Decision",
    "IdempotencyKey",
    "Patient",
    "PatientCondition",
    "PatientMedication",
    "PatientReceptorState",
    "ReasonCode",
    "Sex",
]
