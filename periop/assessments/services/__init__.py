"""Writes to patients, their records and assessments. Each runs in one transaction with its
audit event: if either fails, neither is kept."""

from periop.assessments.services.assessments import (
    assessment_amend,
    assessment_create,
    assessment_sign,
    assessment_update,
    caution_acknowledge,
    plan_decide,
)
from periop.assessments.services.idempotency import assessment_create_once
from periop.assessments.services.patients import (
    ShownRow,
    patient_check_run,
    patient_condition_history_read,
    patient_create,
    patient_data_query,
    patient_data_read,
)
from periop.assessments.services.records import (
    condition_correction_check,
    condition_release_notices,
    medication_release_notices,
    patient_condition_correct,
    patient_condition_record,
    patient_condition_remove,
    patient_medication_record,
    patient_medication_remove,
    patient_receptor_state_clear,
    patient_receptor_state_record,
)

__all__ = [
    "ShownRow",
    "assessment_amend",
    "assessment_create",
    "assessment_create_once",
    "assessment_sign",
    "assessment_update",
    "caution_acknowledge",
    "condition_correction_check",
    "condition_release_notices",
    "medication_release_notices",
    "patient_check_run",
    "patient_condition_correct",
    "patient_condition_history_read",
    "patient_condition_record",
    "patient_condition_remove",
    "patient_create",
    "patient_data_query",
    "patient_data_read",
    "patient_medication_record",
    "patient_medication_remove",
    "patient_receptor_state_clear",
    "patient_receptor_state_record",
    "plan_decide",
]
