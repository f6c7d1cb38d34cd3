from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "periop.audit"
    label = "audit"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from periop.audit import checks, receivers  # noqa: F401  (registers the check and receivers)
