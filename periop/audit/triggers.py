"""Database triggers that reject changes to one table, on SQLite and PostgreSQL.

The audit ledger and signed assessments are both guarded this way; each module that owns a
guarded table defines its trigger SQL and exposes install, remove and the presence checks
through one `TriggerGuard`, so the migrations, the system checks and the tests share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper


@dataclass(frozen=True)
class TriggerGuard:
    """The guard triggers of one table: statements by trigger name, per database vendor."""

    table: str
    sqlite_triggers: Mapping[str, str]
    postgres_function: str
    postgres_triggers: Mapping[str, str]

    def install(self, connection: BaseDatabaseWrapper) -> None:
        """Creates the guard triggers (idempotent)."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for statement in self.sqlite_triggers.values():
                    cursor.execute(statement)
            elif connection.vendor == "postgresql":
                cursor.execute(self.postgres_function)
                for name, statement in self.postgres_triggers.items():
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {self.table};")
                    cursor.execute(statement)

    def remove(self, connection: BaseDatabaseWrapper) -> None:
        """Drops the guard triggers. Only for migrations and tests, never in production."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for name in self.sqlite_triggers:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name};")
            elif connection.vendor == "postgresql":
                for name in self.postgres_triggers:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {self.table};")

    def expected_triggers(self, connection: BaseDatabaseWrapper) -> set[str]:
        """The names of the triggers this database should have; none on other vendors."""
        if connection.vendor == "sqlite":
            return set(self.sqlite_triggers)
        if connection.vendor == "postgresql":
            return set(self.postgres_triggers)
        return set()

    def installed_triggers(self, connection: BaseDatabaseWrapper) -> set[str]:
        """The names of the enabled triggers on the table in this database."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                    [self.table],
                )
            elif connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                    "AND NOT tgisinternal AND tgenabled <> 'D'",
                    [self.table],
                )
            else:
                return set()
            return {row[0] for row in cursor.fetchall()}
