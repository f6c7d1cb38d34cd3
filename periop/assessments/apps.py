from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "periop.assessments"
    label = "assessments"
    verbose_name = "Patients and pre-operative assessments"

    def ready(self) -> None:
        from periop.assessments import checks  # noqa: F401  (registers the system check)
        from periop.assessments.services.signed_records import signed_records_verify
        from periop.audit.verification import records_verifier_register

        records_verifier_register(signed_records_verify)
