"""System check: the triggers that keep signed assessments unchanged must exist."""

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
