"""The ledger is append-only in the database itself, on SQLite and PostgreSQL."""

import pytest
from django.core.checks import Error
from django.db import DatabaseError, connection, transaction

from periop.audit import guards
from periop.audit.checks import audit_triggers_installed
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_event_append(
        actor=Actor.system(), action="read", resource_type="patient", resource_id="1"
    )


def test_raw_sql_update_is_rejected(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'delete' WHERE id = %s", [event.id])

    event.refresh_from_db()
    assert event.action == "read"


def test_raw_sql_delete_is_rejected(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.id])

    assert AuditEvent.objects.filter(id=event.id).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL only")
def test_truncate_is_rejected_on_postgresql(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.count() == 1


def test_the_orm_refuses_updates_and_deletes(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(id=event.id).update(action="delete")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(id=event.id).delete()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    event.action = "delete"
    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_the_system_check_passes_when_the_triggers_exist():
    assert audit_triggers_installed(databases=["default"]) == []


def test_the_system_check_fails_when_a_trigger_is_missing():
    guards.remove(connection)
    try:
        errors = audit_triggers_installed(databases=["default"])
    finally:
        guards.install(connection)

    assert len(errors) == 1
    assert isinstance(errors[0], Error)
    assert errors[0].id == "audit.E001"
    assert "append-only triggers are missing" in errors[0].msg
