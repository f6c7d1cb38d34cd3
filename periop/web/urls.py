"""The anaesthetists' pages."""

from django.urls import path

from periop.web.views import (
    assessments,
    auth,
    history,
    knowledge,
    patients,
    printing,
    receptor_state,
    records,
    start,
    tunings,
)

app_name = "web"

urlpatterns = [
    path("", start.home, name="home"),
    path("knowledge-base/releases/", knowledge.release_list, name="knowledge-releases"),
    path(
        "knowledge-base/releases/<str:version>/",
        knowledge.release_review,
        name="knowledge-release",
    ),
    path(
        "knowledge-base/releases/<str:version>/impact",
        knowledge.release_impact,
        name="knowledge-impact",
    ),
    path(
        "knowledge-base/releases/<str:version>/impact.csv",
        knowledge.release_impact,
        {"as_csv": True},
        name="knowledge-impact-csv",
    ),
    path("knowledge-base/tunings/", tunings.tuning_list, name="knowledge-tunings"),
    path("knowledge-base/tunings/new", tunings.tuning_new, name="knowledge-tuning-new"),
    path(
        "knowledge-base/tunings/<int:tuning_id>/sign-off",
        tunings.tuning_sign_off_view,
        name="knowledge-tuning-sign-off",
    ),
    path("login", auth.login_view, name="login"),
    path("logout", auth.logout_view, name="logout"),
    path("department", auth.department_view, name="department"),
    path("patients/", patients.patient_search, name="patients"),
    path("patients/new", patients.patient_new, name="patient-new"),
    path("patients/<int:patient_id>/", patients.patient_detail, name="patient"),
    path("patients/<int:patient_id>/conditions/new", records.condition_new, name="condition-new"),
    path(
        "patients/<int:patient_id>/conditions/<int:condition_id>/correct",
        records.condition_correct,
        name="condition-correct",
    ),
    path(
        "patients/<int:patient_id>/conditions/<int:condition_id>/remove",
        records.condition_remove,
        name="condition-remove",
    ),
    path(
        "patients/<int:patient_id>/conditions/<int:condition_id>/history",
        history.condition_history,
        name="condition-history",
    ),
    path(
        "patients/<int:patient_id>/receptor-state",
        receptor_state.receptor_state_record,
        name="receptor-state",
    ),
    path(
        "patients/<int:patient_id>/receptor-state/clear",
        receptor_state.receptor_state_clear,
        name="receptor-state-clear",
    ),
    path(
        "patients/<int:patient_id>/medications/new",
        records.medication_new,
        name="medication-new",
    ),
    path(
        "patients/<int:patient_id>/medications/<int:medication_id>/remove",
        records.medication_remove,
        name="medication-remove",
    ),
    path(
        "patients/<int:patient_id>/assessments/new",
        assessments.assessment_new,
        name="assessment-new",
    ),
    path(
        "patients/<int:patient_id>/assessments/preview",
        assessments.assessment_preview,
        name="assessment-preview",
    ),
    path("assessments/<int:assessment_id>/", assessments.assessment_detail, name="assessment"),
    path(
        "assessments/<int:assessment_id>/edit",
        assessments.assessment_edit,
        name="assessment-edit",
    ),
    path(
        "assessments/<int:assessment_id>/acknowledge",
        assessments.assessment_acknowledge,
        name="assessment-acknowledge",
    ),
    path(
        "assessments/<int:assessment_id>/sign",
        assessments.assessment_sign_view,
        name="assessment-sign",
    ),
    path(
        "assessments/<int:assessment_id>/amend",
        assessments.assessment_amend_view,
        name="assessment-amend",
    ),
    path(
        "assessments/<int:assessment_id>/print",
        printing.assessment_print,
        name="assessment-print",
    ),
]
