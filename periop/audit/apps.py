from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "periop.audit"
    label = "audit"
    verbose_name = "Audit ledger"
