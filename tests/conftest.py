"""Personas and clients shared by every test kind."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from periop.accounts.models import Department, Role
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory


@pytest.fixture
def department(db: None) -> Department:
    return DepartmentFactory(code="main-theatres", name="Main theatres")


@pytest.fixture
def other_department(db: None) -> Department:
    return DepartmentFactory(code="day-surgery", name="Day surgery")


def _member(username: str, role: str, department: Department) -> Any:
    user = UserFactory(username=username)
    MembershipFactory(user=user, department=department, role=role)
    return user


@pytest.fixture
def anesthetist(department: Department) -> Any:
    return _member("dr-anesthetist", Role.ANESTHETIST, department)


@pytest.fixture
def pharmacist(department: Department) -> Any:
    return _member("pharmacist", Role.PHARMACIST, department)


@pytest.fixture
def auditor(department: Department) -> Any:
    return _member("auditor", Role.AUDITOR, department)


@pytest.fixture
def department_admin(department: Department) -> Any:
    return _member("department-admin", Role.ADMIN, department)


@pytest.fixture
def outsider(other_department: Department) -> Any:
    """An anesthetist of another department."""
    return _member("dr-outsider", Role.ANESTHETIST, other_department)


@pytest.fixture
def roleless_user(db: None) -> Any:
    return UserFactory(username="no-role")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_for(user: Any) -> APIClient:
    """An API client authenticated with the user's token, as a pharmacy system would be."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def pharmacist_client(pharmacist: Any) -> APIClient:
    return client_for(pharmacist)


@pytest.fixture
def anesthetist_client(anesthetist: Any) -> APIClient:
    return client_for(anesthetist)


@pytest.fixture
def auditor_client(auditor: Any) -> APIClient:
    return client_for(auditor)


@pytest.fixture
def audit_guard_lifted(django_db_blocker):
    """For transactional tests: lifts the ledger's append-only triggers so the flush at teardown
    can empty the table, and puts them back afterwards. List it BEFORE `transactional_db` so it
    is torn down after the flush. Production never runs this."""
    from django.db import connection

    from periop.assessments import guards as assessment_guards
    from periop.audit import guards as audit_guards

    with django_db_blocker.unblock():
        audit_guards.remove(connection)
        assessment_guards.remove(connection)
    yield
    with django_db_blocker.unblock():
        audit_guards.install(connection)
        assessment_guards.install(connection)


def audit_append_queries() -> int:
    """Statements one audit append costs: claim the next sequence, insert, move the head
    (PostgreSQL does the last two in one statement)."""
    from django.db import connection

    return 2 if connection.vendor == "postgresql" else 3


@pytest.fixture
def keep_test_connection():
    """For tests that call the WSGI application directly (schemathesis): Django closes the
    database connection around each request, which would end the test's transaction. Django's
    own test client disconnects the same handlers for the same reason."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
