"""FHIR R4 URLs, mounted at `/fhir/`."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
