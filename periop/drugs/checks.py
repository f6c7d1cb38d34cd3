"""System check: the triggers that keep knowledge-base releases unchanged must exist."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from periop.drugs import guards

GUARD_MIGRATION = ("drugs", "0001_knowledge_base_releases")


@register("database")
def knowledge_base_triggers_installed(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            applied = executor.loader.applied_migrations
            if GUARD_MIGRATION not in applied:
                continue  # Not migrated yet: `migrate` installs them.
            expected = set().union(
                *(
                    guard.expected_triggers(connection)
                    for guard in guards._all()
                    if _table_exists(connection, guard.table)
                )
            )
            missing = expected - guards.installed_triggers(connection)
        except DatabaseError:
            continue
        if missing:
            errors.append(
                Error(
                    "The triggers that keep knowledge-base releases and their reviews unchanged "
                    f"are missing: {', '.join(sorted(missing))}.",
                    hint="Re-create them (periop.drugs.guards.install).",
                    id="drugs.E001",
                )
            )
    return errors


def _table_exists(connection: Any, table: str) -> bool:
    return table in connection.introspection.table_names()
