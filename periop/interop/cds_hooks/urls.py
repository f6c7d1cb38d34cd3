"""CDS Hooks URLs, mounted at the site root (`/cds-services`)."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
