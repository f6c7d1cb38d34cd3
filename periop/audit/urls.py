from django.urls import path

from periop.audit.apis import AuditEventsApi, AuditVerifyApi

urlpatterns = [
    path("audit/events", AuditEventsApi.as_view(), name="audit-events"),
    path("audit/verify", AuditVerifyApi.as_view(), name="audit-verify"),
]
