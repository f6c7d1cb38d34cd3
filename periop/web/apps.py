from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "periop.web"
    label = "web"
    verbose_name = "Anaesthetists' pre-op pages"

    def ready(self) -> None:
        # Connects the lockout receiver: axes announces a lockout only through its signal.
        from periop.web import receivers  # noqa: F401
