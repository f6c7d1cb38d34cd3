"""System checks: the triggers that keep signed assessments unchanged must exist; the
weight-for-age table must load."""

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
    """The weight-for-age table behind the implausible-weight warning must load: a server
    without it would fail on the first child's assessment instead of at start-up."""
    from periop.drugs.plausibility import GROWTH_FILE, growth_table

    try:
        growth_table()
    except (OSError, ValueError, KeyError, TypeError) as error:
        return [
            Error(
                f"The weight-for-age table fixtures/knowledge/{GROWTH_FILE} cannot be read: "
                f"{error}",
                hint="Restore it from the repository; it holds the CDC data and its citation.",
                id="assessments.E002",
            )
        ]
    return []
