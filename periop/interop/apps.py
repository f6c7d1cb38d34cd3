from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "periop.interop"
    label = "interop"
    verbose_name = "CDS Hooks and FHIR"
