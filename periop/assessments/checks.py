"""System checks: the triggers that keep signed assessments unchanged must exist; the
configured knowledge base must carry the weight-for-age chart."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from periop.assessments import guards

GUARD_MIGRATION = ("assessments", "0006_record_guards")


@register("database")
def assessment_triggers_installed(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            if GUARD_MIGRATION not in executor.loader.applied_migrations:
                continue  # Not migrated yet: `migrate` installs them.
            missing = guards.expected_triggers(connection) - guards.installed_triggers(connection)
        except DatabaseError:
            continue
        if missing:
            errors.append(
                Error(
                    "The triggers that keep signed assessments unchanged are missing: "
                    f"{', '.join(sorted(missing))}.",
                    hint=(
                        "Re-create them (periop.assessments.guards.install); until then a signed "
                        "assessment can be altered."
                    ),
                    id="assessments.E001",
                )
            )
    return errors


@register()
def growth_table_readable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The configured knowledge base must carry the weight-for-age chart behind the
    implausible-weight warning (the loader validates it at start-up): a release imported
    without it would leave every child's weight unchecked."""
    from periop.drugs.engine.growth import GROWTH_FILE
    from periop.drugs.registry import knowledge_base_directory

    directory = knowledge_base_directory()
    if not (directory / GROWTH_FILE).is_file():
        return [
            Error(
                f"The knowledge base in {directory} has no weight-for-age chart ({GROWTH_FILE}): "
                "a release imported from it would leave every child's weight unchecked.",
                hint="Restore it from the repository; it holds the CDC data and its citation.",
                id="assessments.E002",
            )
        ]
    return []
