"""CDS Hooks URLs, mounted at the site root (`/cds-services`)."""

from django.urls import URLPattern, URLResolver, path

from periop.interop.cds_hooks import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("cds-services", views.discovery_view, name="cds-discovery"),
    path("cds-services/<str:service_id>", views.service_view, name="cds-service"),
    path("cds-services/<str:service_id>/feedback", views.feedback_view, name="cds-feedback"),
]
