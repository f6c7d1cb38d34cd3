"""Database guards that keep a signed assessment unchanged, on SQLite and PostgreSQL.

A signed assessment is a clinical record someone put their name to: the database itself
rejects any UPDATE or DELETE of a signed row, whatever the code path (ORM, raw SQL, a shell).
Changes go through an amendment, a new row that supersedes the signed one. The SQL lives here
so the migration, the system check and tests share one definition.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from periop.audit.triggers import TriggerGuard

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

GUARD = TriggerGuard(TABLE, SQLITE_TRIGGERS, POSTGRES_FUNCTION, POSTGRES_TRIGGERS)


# The functions the migrations, the system check and the tests call: the signed assessment's
# own guard, and those of the rows its record rests on (`periop.assessments.record_guards`).
def _all() -> tuple[TriggerGuard, ...]:
    from periop.assessments.record_guards import GUARDS

    return (GUARD, *GUARDS)


def _present(connection: BaseDatabaseWrapper) -> tuple[TriggerGuard, ...]:
    """The guards whose tables exist: a migration that installs every guard of the app runs
    before the tables of later migrations are created, and each of those installs its own."""
    tables = set(connection.introspection.table_names())
    return tuple(guard for guard in _all() if guard.table in tables)


def install(connection: BaseDatabaseWrapper) -> None:
    for guard in _present(connection):
        guard.install(connection)


def remove(connection: BaseDatabaseWrapper) -> None:
    for guard in _present(connection):
        guard.remove(connection)


def expected_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    return set().union(*(guard.expected_triggers(connection) for guard in _present(connection)))


def installed_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    return set().union(*(guard.installed_triggers(connection) for guard in _all()))
