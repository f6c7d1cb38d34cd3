from django.apps import AppConfig


class DrugsConfig(AppConfig):
    name = "periop.drugs"
    label = "drugs"
    verbose_name = "Knowledge base and cautions"

    def ready(self) -> None:
        # Validate the knowledge base at start-up: a server must not run on rules it could not
        # check. The message names the file and the entry at fault.
        from periop.drugs import checks  # noqa: F401  (registers the system check)
        from periop.drugs.registry import load_active_knowledge_base

        load_active_knowledge_base()
