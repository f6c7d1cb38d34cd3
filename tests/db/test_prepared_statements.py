"""The fixed statements every request runs are prepared on PostgreSQL and planned once; they
stay in the caller's transaction, raise Django's errors and are counted like any query."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from periop.accounts.models import Role
from periop.accounts.permissions import user_department_ids
from periop.audit.models import AuditEvent
from periop.fixed_sql import FixedColumns, prepared_cursor
from periop.interop.models import CdsCard, CdsClient
from tests.api.test_checks import valid_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's prepared statements"
    ),
]


def _prepared() -> dict[str, tuple[str, int]]:
    """The statements prepared on this connection, by name, with how often each has run (one
    text may be prepared more than once, for parameters of different types, such as a null)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement, generic_plans + custom_plans FROM pg_prepared_statements"
        )
        return {name: (statement, runs) for name, statement, runs in cursor.fetchall()}


def _runs_of(fragment: str) -> int:
    return sum(runs for statement, runs in _prepared().values() if fragment in statement)


def _card_row(department) -> dict[str, object]:
    """A CDS card's row for the fixed insert, of a client registered for it."""
    client = CdsClient.objects.create(
        issuer="https://ehr.example/", department=department, public_key_pem="-"
    )
    return {
        "uuid": uuid.uuid4(),
        "hook_instance": "hook-1",
        "client_id": client.pk,
        "department_id": department.pk,
        "service": "periop-nmj",
        "drug": "succinylcholine",
        "level": "contraindicated",
        "issued_at": timezone.now(),
    }


def test_a_check_prepares_its_fixed_statements_and_runs_them_again_without_preparing(
    pharmacist_client,
):
    # The token, the caller's departments, the tunings in force, and the audit append's
    # claim and insert.
    fragments = (
        '"accounts_apitoken"',
        '"accounts_membership"',
        "drugs_tuningsignoff",
        "UPDATE audit_auditchainhead SET sequence",
        "INSERT INTO audit_auditevent",
    )
    before = _prepared()

    for _ in range(3):
        response = pharmacist_client.post("/api/v1/checks", valid_body(), format="json")
        assert response.status_code == 200

    after = _prepared()
    for fragment in fragments:
        # One prepared statement ran each of them, once for each check.
        runs = [
            count - before.get(name, ("", 0))[1]
            for name, (statement, count) in after.items()
            if fragment in statement
        ]
        assert [count for count in runs if count] == [3], (fragment, after)


def test_orm_queries_are_never_prepared(department):
    list(CdsClient.objects.filter(department=department))
    list(CdsClient.objects.filter(department=department))

    assert _runs_of("interop_cdsclient") == 0


def test_with_the_setting_off_nothing_is_prepared(pharmacist, department, settings):
    before = _runs_of('"accounts_membership"')
    settings.DATABASE_PREPARED_STATEMENTS = False

    assert user_department_ids(pharmacist, [Role.PHARMACIST]) == {department.pk}

    assert _runs_of('"accounts_membership"') == before


def test_a_prepared_statement_is_counted_and_logged_like_any_query(pharmacist, department):
    before = _runs_of('"accounts_membership"')
    with CaptureQueriesContext(connection) as queries:
        user_department_ids(pharmacist, [Role.PHARMACIST])

    (query,) = queries.captured_queries
    assert '"accounts_membership"' in query["sql"]
    assert _runs_of('"accounts_membership"') == before + 1


def test_a_prepared_statement_runs_in_the_callers_transaction(department):
    row = _card_row(department)

    written_inside = []

    @transaction.atomic
    def fails_after_the_insert() -> None:
        FixedColumns(CdsCard).insert(connection, [row])
        written_inside.append(CdsCard.objects.count())
        raise RuntimeError("the caller fails after the insert")

    with pytest.raises(RuntimeError):
        fails_after_the_insert()

    assert written_inside == [1]
    assert CdsCard.objects.count() == 0


def test_a_prepared_statement_raises_djangos_errors(department):
    row = _card_row(department)
    FixedColumns(CdsCard).insert(connection, [row])

    with pytest.raises(IntegrityError), transaction.atomic():
        FixedColumns(CdsCard).insert(connection, [row])


def test_the_cursor_is_the_ordinary_one_with_the_setting_off(settings):
    before = _runs_of("count(*) FROM audit_auditevent")
    settings.DATABASE_PREPARED_STATEMENTS = False
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        (count,) = cursor.fetchone()

    assert count == AuditEvent.objects.count()
    assert _runs_of("count(*) FROM audit_auditevent") == before
