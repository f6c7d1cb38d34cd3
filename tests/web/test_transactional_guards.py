"""Pages in transactional tests: `audit_guard_lifted` lets the flush at teardown empty the
append-only tables however the test asks for the database, and puts the guards back after.

A failure here shows as an error at teardown: "audit events are append-only" when a guard
was not lifted for the flush, "Guards not put back" when one did not come back after it
(tests/conftest.py checks that after every test that lifted them, whichever test process runs
it)."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from periop.assessments import guards as assessment_guards
from periop.audit import guards as audit_guards
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append


def fetch(live_server: Any, user: Any, path: str) -> int:
    """A page of the live server, as the signed-in user's browser would ask for it."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    # Only ever the live server's own http:// address.
    request = urllib.request.Request(  # noqa: S310
        live_server.url + path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status)


def test_a_live_server_test_may_list_the_fixture_last(live_server, anesthetist, audit_guard_lifted):
    # pytest-django sets up the live server's transactional database before any fixture the
    # test lists, so this fixture is set up after it and torn down before its flush.
    assert fetch(live_server, anesthetist, "/patients/?q=Ada") == 200

    assert AuditEvent.objects.filter(action="query").exists()
    assert_guards_in_place()


def assert_guards_in_place() -> None:
    """The guards are lifted only for the teardown flush, never during the test itself."""
    for guards in (audit_guards, assessment_guards):
        assert guards.installed_triggers(connection) == guards.expected_triggers(connection)


@pytest.mark.django_db(transaction=True)
def test_a_test_marked_transactional_may_use_the_fixture(audit_guard_lifted):
    audit_event_append(
        actor=Actor.system("tests"), action="read", resource_type="patient", resource_id="1"
    )

    assert AuditEvent.objects.count() == 1
    assert_guards_in_place()


def test_a_transactional_test_may_list_the_fixture_after_the_database(
    transactional_db, audit_guard_lifted
):
    audit_event_append(
        actor=Actor.system("tests"), action="read", resource_type="patient", resource_id="2"
    )

    assert AuditEvent.objects.count() == 1
    assert_guards_in_place()
