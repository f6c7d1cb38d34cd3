from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "periop.health"
    label = "health"
    verbose_name = "Health probe"

    def ready(self) -> None:
        from periop.health import checks  # noqa: F401  (registers the deploy checks)
