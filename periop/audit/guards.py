"""Database guards that make the ledger append-only, on SQLite and PostgreSQL.

The SQL lives here so the migration, the system check and the test fixture that lifts the
guard for a transactional test's teardown all use the same definitions.
"""

from __future__ import annotations

from periop.audit.triggers import TriggerGuard

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

# The functions the migration, the system check and the tests call.
GUARD = TriggerGuard(TABLE, SQLITE_TRIGGERS, POSTGRES_FUNCTION, POSTGRES_TRIGGERS)
install = GUARD.install
remove = GUARD.remove
expected_triggers = GUARD.expected_triggers
installed_triggers = GUARD.installed_triggers
