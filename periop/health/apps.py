from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "periop.health"
    label = "health"
    verbose_name = "Health probe"
