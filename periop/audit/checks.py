"""System check: the ledger's append-only triggers must exist on the database in use."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from periop.audit import guards


@register("database")
def audit_triggers_installed(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            applied = ("audit", "0002_append_only_triggers") in executor.loader.applied_migrations
            if not applied:
                continue  # Not migrated yet: `migrate` installs them.
            missing = guards.expected_triggers(connection) - guards.installed_triggers(connection)
        except DatabaseError:
            continue
        if missing:
            errors.append(
                Error(
                    "The audit ledger's append-only triggers are missing: "
                    f"{', '.join(sorted(missing))}.",
                    hint="Re-create them (periop.audit.guards.install); the ledger is unprotected.",
                    id="audit.E001",
                )
            )
    return errors
