from django.urls import path

from periop.assessments.apis.assessments import (
    AcknowledgementCreateApi,
    AssessmentAmendApi,
    AssessmentCollectionApi,
    AssessmentItemApi,
    AssessmentSignApi,
)
from periop.assessments.apis.conditions import (
    ConditionCollectionApi,
    ConditionHistoryApi,
    ConditionItemApi,
)
from periop.assessments.apis.decisions import DecisionCreateApi
from periop.assessments.apis.medications import MedicationCollectionApi, MedicationRemoveApi
from periop.assessments.apis.patients import (
    PatientCheckApi,
    PatientCollectionApi,
    PatientDetailApi,
)
from periop.assessments.apis.receptor_state import ReceptorStateApi
from periop.assessments.apis.replay import AssessmentReplayApi

urlpatterns = [
    path("patients", PatientCollectionApi.as_view(), name="patients"),
    path("patients/<int:patient_id>", PatientDetailApi.as_view(), name="patient"),
    path(
        "patients/<int:patient_id>/conditions",
        ConditionCollectionApi.as_view(),
        name="patient-conditions",
    ),
    path(
        "patients/<int:patient_id>/conditions/<int:condition_id>",
        ConditionItemApi.as_view(),
        name="patient-condition",
    ),
    path(
        "patients/<int:patient_id>/conditions/<int:condition_id>/history",
        ConditionHistoryApi.as_view(),
        name="patient-condition-history",
    ),
    path(
        "patients/<int:patient_id>/medications",
        MedicationCollectionApi.as_view(),
        name="patient-medications",
    ),
    path(
        "patients/<int:patient_id>/medications/<int:medication_id>",
        MedicationRemoveApi.as_view(),
        name="patient-medication",
    ),
    path(
        "patients/<int:patient_id>/receptor-state",
        ReceptorStateApi.as_view(),
        name="patient-receptor-state",
    ),
    path("patients/<int:patient_id>/checks", PatientCheckApi.as_view(), name="patient-checks"),
    path("assessments", AssessmentCollectionApi.as_view(), name="assessments"),
    path("assessments/<int:assessment_id>", AssessmentItemApi.as_view(), name="assessment"),
    path(
        "assessments/<int:assessment_id>/replay",
        AssessmentReplayApi.as_view(),
        name="assessment-replay",
    ),
    path(
        "assessments/<int:assessment_id>/sign",
        AssessmentSignApi.as_view(),
        name="assessment-sign",
    ),
    path(
        "assessments/<int:assessment_id>/acknowledgements",
        AcknowledgementCreateApi.as_view(),
        name="assessment-acknowledgements",
    ),
    path(
        "assessments/<int:assessment_id>/decisions",
        DecisionCreateApi.as_view(),
        name="assessment-decisions",
    ),
    path(
        "assessments/<int:assessment_id>/amend",
        AssessmentAmendApi.as_view(),
        name="assessment-amend",
    ),
]
