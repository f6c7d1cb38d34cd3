"""Database guards that make the ledger append-only, on SQLite and PostgreSQL.

The SQL lives here so the migration, the system check and the test fixture that lifts the
guard for a transactional test's teardown all use the same definitions.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"
MESSAGE = "audit events are append-only"

SQLITE_TRIGGERS = {
    "audit_event_no_update": (
        f"CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
    "audit_event_no_delete": (
        f"CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
}

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_reject_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

POSTGRES_TRIGGERS = {
    "audit_event_no_update_delete": (
        f"CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_reject_change();"
    ),
    "audit_event_no_truncate": (
        f"CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_reject_change();"
    ),
}


def install(connection: BaseDatabaseWrapper) -> None:
    """Creates the guard triggers (idempotent)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_TRIGGERS.values():
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            for name, statement in POSTGRES_TRIGGERS.items():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE};")
                cursor.execute(statement)


def remove(connection: BaseDatabaseWrapper) -> None:
    """Drops the guard triggers. Only for migrations and test teardown, never in production."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name};")
        elif connection.vendor == "postgresql":
            for name in POSTGRES_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {TABLE};")


def expected_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    if connection.vendor == "sqlite":
        return set(SQLITE_TRIGGERS)
    if connection.vendor == "postgresql":
        return set(POSTGRES_TRIGGERS)
    return set()


def installed_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE]
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
                "AND tgenabled <> 'D'",
                [TABLE],
            )
        else:
            return set()
        return {row[0] for row in cursor.fetchall()}
