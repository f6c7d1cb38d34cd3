from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "periop.reports"
    label = "reports"
    verbose_name = "Department audit reports"
