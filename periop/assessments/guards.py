"""Database guards that keep a signed assessment unchanged, on SQLite and PostgreSQL.

A signed assessment is a clinical record someone put their name to: the database itself
rejects any UPDATE or DELETE of a signed row, whatever the code path (ORM, raw SQL, a shell).
Changes go through an amendment, a new row that supersedes the signed one. The SQL lives here
so the migration, the system check and tests share one definition.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "assessments_assessment"
MESSAGE = "signed assessments are immutable"

SQLITE_TRIGGERS = {
    "assessment_signed_no_update": (
        f"CREATE TRIGGER IF NOT EXISTS assessment_signed_no_update BEFORE UPDATE ON {TABLE} "
        f"WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
    "assessment_signed_no_delete": (
        f"CREATE TRIGGER IF NOT EXISTS assessment_signed_no_delete BEFORE DELETE ON {TABLE} "
        f"WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    ),
}

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION assessment_reject_signed_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

POSTGRES_TRIGGERS = {
    "assessment_signed_immutable": (
        f"CREATE TRIGGER assessment_signed_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW WHEN (OLD.status = 'signed') "
        "EXECUTE FUNCTION assessment_reject_signed_change();"
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
    """Drops the guard triggers. Only for migrations and tests, never in production."""
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
