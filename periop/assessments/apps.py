from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "periop.assessments"
    label = "assessments"
    verbose_name = "Patients and pre-operative assessments"
