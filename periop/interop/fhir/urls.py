"""FHIR R4 URLs, mounted at `/fhir/`."""

from django.urls import URLPattern, URLResolver, path

from periop.interop.fhir.apis import AssessmentBundleApi, AuditEventSearchApi

app_name = "fhir"

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "Bundle/assessment-<int:assessment_id>",
        AssessmentBundleApi.as_view(),
        name="assessment-bundle",
    ),
    path("AuditEvent", AuditEventSearchApi.as_view(), name="audit-event-search"),
]
