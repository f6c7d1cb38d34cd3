"""Database guards that keep knowledge-base releases and their governance records unchanged,
on SQLite and PostgreSQL: whatever the code path (ORM, raw SQL, a shell), the database rejects
UPDATE and DELETE of a stored release, an activation, a sign-off or a review comment."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from periop.audit.triggers import TriggerGuard


def _append_only(table: str, name: str, message: str) -> TriggerGuard:
    function = f"{name}_reject_change"
    return TriggerGuard(
        table,
        {
            f"{name}_no_update": (
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            ),
            f"{name}_no_delete": (
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            ),
        },
        # Built from this module's constants only, never from input.
        f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""",
        {
            f"{name}_immutable": (
                f"CREATE TRIGGER {name}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}();"
            ),
        },
    )


RELEASES = _append_only(
    "drugs_knowledgebaserelease", "kb_release", "knowledge-base releases are immutable"
)
ACTIVATIONS = _append_only(
    "drugs_knowledgebaseactivation", "kb_activation", "knowledge-base activations are immutable"
)

GUARDS: tuple[TriggerGuard, ...] = (RELEASES, ACTIVATIONS)


def _all() -> tuple[TriggerGuard, ...]:
    from periop.drugs import review_guards

    return (*GUARDS, *review_guards.GUARDS)


def install(connection: BaseDatabaseWrapper) -> None:
    for guard in _all():
        guard.install(connection)


def remove(connection: BaseDatabaseWrapper) -> None:
    for guard in _all():
        guard.remove(connection)


def expected_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    return set().union(*(guard.expected_triggers(connection) for guard in _all()))


def installed_triggers(connection: BaseDatabaseWrapper) -> set[str]:
    return set().union(*(guard.installed_triggers(connection) for guard in _all()))
