"""The reads and writes every request makes run as fixed statements: they must read and write
exactly what the ORM did, on SQLite and PostgreSQL alike."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework import exceptions

from periop.accounts.authentication import HashedTokenAuthentication, token_candidates
from periop.accounts.models import API_TOKEN_PREFIX_LENGTH, ApiToken, Membership, Role
from periop.accounts.permissions import user_department_ids, user_has_role
from periop.accounts.services import api_token_issue
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.drugs.models import LocalTuning
from periop.fixed_sql import FixedColumns, per_vendor
from periop.interop.cds_hooks.auth import _registered_client
from periop.interop.models import CdsCard, CdsClient
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _all_values(instance):
    """Every concrete column's value, with its Python type."""
    return {
        field.attname: (value := getattr(instance, field.attname), type(value))
        for field in instance._meta.concrete_fields
    }


def test_a_token_and_its_user_read_by_the_fixed_statement_equal_the_orm_ones(pharmacist):
    pharmacist.last_login = pharmacist.date_joined
    pharmacist.save()
    key = api_token_issue(actor="command:test", user=pharmacist)

    (candidate,) = token_candidates(key[:API_TOKEN_PREFIX_LENGTH])

    stored = ApiToken.objects.select_related("user").get(user=pharmacist)
    assert _all_values(candidate) == _all_values(stored)
    assert _all_values(candidate.user) == _all_values(stored.user)
    assert candidate.expires_at.tzinfo is not None
    assert candidate._state.adding is False
    assert candidate._state.db == stored._state.db
    # The token is bound to its user without another query.
    assert candidate.user_id == pharmacist.pk


def test_every_token_sharing_a_prefix_is_a_candidate_and_only_they(pharmacist, auditor):
    first = api_token_issue(actor="command:test", user=pharmacist)
    api_token_issue(actor="command:test", user=auditor)
    prefix = first[:API_TOKEN_PREFIX_LENGTH]
    twin = ApiToken.objects.get(user=pharmacist)
    twin.pk = None
    twin.digest = "f" * 64
    twin.user = auditor
    twin.save()

    candidates = token_candidates(prefix)

    assert sorted((token.user.username, token.digest) for token in candidates) == sorted(
        (token.user.username, token.digest) for token in ApiToken.objects.filter(prefix=prefix)
    )
    assert len(candidates) == 2


def test_the_token_authentication_makes_one_query(pharmacist, django_assert_num_queries):
    key = api_token_issue(actor="command:test", user=pharmacist)

    with django_assert_num_queries(1):
        user, token = HashedTokenAuthentication().authenticate_credentials(key)

    assert user == pharmacist
    assert token.user is user


def test_a_deactivated_user_is_refused_at_once(pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)
    HashedTokenAuthentication().authenticate_credentials(key)
    get_user_model().objects.filter(pk=pharmacist.pk).update(is_active=False)

    with pytest.raises(exceptions.AuthenticationFailed, match="inactive"):
        HashedTokenAuthentication().authenticate_credentials(key)


@pytest.mark.parametrize("active", [True, False])
def test_a_cds_client_read_by_the_fixed_statement_equals_the_orm_one(department, active):
    CdsClient.objects.create(
        issuer="https://other.example/", department=DepartmentFactory(), public_key_pem="-"
    )
    CdsClient.objects.create(
        issuer="https://ehr.example/",
        department=department,
        jwks_url="https://ehr.example/jwks",
        active=active,
    )

    client = _registered_client("https://ehr.example/")

    stored = CdsClient.objects.get(issuer="https://ehr.example/")
    assert _all_values(client) == _all_values(stored)
    # SQLite returns booleans as integers: the ORM's converter makes them booleans again.
    assert client.active is active
    assert client._state.adding is False
    assert client._state.db == stored._state.db
    assert _registered_client("https://unknown.example/") is None


@pytest.mark.parametrize(
    "roles",
    [None, [], [Role.PHARMACIST], [Role.AUDITOR, Role.ANESTHETIST], ["pharmacist"], list(Role)],
)
def test_department_ids_equal_the_orm_answer(roles):
    user = UserFactory()
    for role in (Role.PHARMACIST, Role.AUDITOR, Role.ANESTHETIST):
        MembershipFactory(user=user, department=DepartmentFactory(), role=role)
    MembershipFactory(user=UserFactory(), department=DepartmentFactory(), role=Role.PHARMACIST)

    expected = Membership.objects.filter(user=user)
    if roles is not None:
        expected = expected.filter(role__in=roles)

    assert user_department_ids(user, roles) == set(expected.values_list("department_id", flat=True))
    assert all(isinstance(pk, int) for pk in user_department_ids(user, roles))


def test_department_ids_take_any_iterable_of_roles(pharmacist, department):
    assert user_department_ids(pharmacist, (role for role in [Role.PHARMACIST])) == {department.pk}
    assert user_department_ids(pharmacist, iter([Role.AUDITOR])) == set()


@pytest.mark.parametrize(
    "roles", [[], [Role.PHARMACIST], [Role.AUDITOR], [Role.AUDITOR, Role.PHARMACIST], list(Role)]
)
def test_holding_a_role_equals_the_orm_answer(pharmacist, roles):
    expected = Membership.objects.filter(user=pharmacist, role__in=roles).exists()

    assert user_has_role(pharmacist, roles) is expected


def test_rows_inserted_by_one_fixed_statement_read_back_as_the_orm_wrote_them(department):
    client = CdsClient.objects.create(
        issuer="https://ehr.example/", department=department, public_key_pem="-"
    )
    at = timezone.now()
    rows = [
        {
            "uuid": uuid.uuid4(),
            "hook_instance": "hook-1",
            "client_id": client.pk,
            "department_id": department.pk,
            "service": "periop-nmj",
            "drug": drug,
            "level": level,
            "issued_at": at,
        }
        for drug, level in [("succinylcholine", "contraindicated"), ("", "")]
    ]
    twins = [CdsCard(**{**row, "uuid": uuid.uuid4()}) for row in rows]

    FixedColumns(CdsCard).insert(connection, rows)
    CdsCard.objects.bulk_create(twins)

    by_uuid = {card.uuid: card for card in CdsCard.objects.all()}
    for row, twin in zip(rows, twins, strict=True):
        written, orm_written = _all_values(by_uuid[row["uuid"]]), _all_values(by_uuid[twin.uuid])
        assert written.pop("uuid")[0] == row["uuid"]
        orm_written.pop("uuid")
        assert written == orm_written
        assert written["issued_at"][0] == at


def test_a_row_missing_a_column_is_refused_and_nothing_is_written(department):
    client = CdsClient.objects.create(
        issuer="https://ehr.example/", department=department, public_key_pem="-"
    )
    row = {"uuid": uuid.uuid4(), "hook_instance": "h", "client_id": client.pk}

    with pytest.raises(KeyError, match="department_id"):
        FixedColumns(CdsCard).insert(connection, [row])

    assert CdsCard.objects.count() == 0


def test_a_model_with_an_automatic_key_or_a_self_filling_field_is_refused():
    with pytest.raises(ValueError, match="automatic key"):
        FixedColumns(AuditEvent).insert(connection, [{}])
    with pytest.raises(ValueError, match="fills itself"):
        FixedColumns(ApiToken).insert(connection, [{}])


def test_a_read_of_some_columns_equals_the_orms_only_and_defers_the_rest(
    department, department_admin, django_assert_num_queries
):
    stored = LocalTuning.objects.create(
        department=department,
        rule_id="rule",
        change="local-text",
        text="Bleep 1234.",
        reason="Local pathway.",
        proposed_by=department_admin,
        proposed_at=timezone.now(),
    )
    # In any order: the columns are read in the model's order.
    columns = FixedColumns(LocalTuning, fields=("proposed_at", "id", "rule_id"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.select_list(connection, 't')} "  # noqa: S608
            f"FROM {LocalTuning._meta.db_table} t"
        )
        (row,) = cursor.fetchall()

    read = columns.instance(connection, row)

    only = LocalTuning.objects.only("proposed_at", "rule_id").get()
    assert read.get_deferred_fields() == only.get_deferred_fields()
    assert "text" in read.get_deferred_fields()
    for name in ("id", "rule_id", "proposed_at"):
        value = getattr(read, name)
        assert (value, type(value)) == (getattr(stored, name), type(getattr(stored, name)))
    assert read.proposed_at.tzinfo is not None
    # A deferred column is read when asked for, as after `.only()`.
    with django_assert_num_queries(1):
        assert read.text == "Bleep 1234."


def test_columns_the_model_does_not_have_or_a_read_without_the_key_are_refused_at_once():
    with pytest.raises(ValueError, match="no column department, nowhere"):
        FixedColumns(LocalTuning, fields=("id", "department", "nowhere"))
    with pytest.raises(ValueError, match="primary key"):
        FixedColumns(LocalTuning, fields=("rule_id",))


def test_an_insert_of_some_columns_only_is_refused(department):
    columns = FixedColumns(CdsCard, fields=("uuid", "hook_instance"))

    with pytest.raises(ValueError, match="every column"):
        columns.insert(connection, [{"uuid": uuid.uuid4(), "hook_instance": "h"}])

    assert CdsCard.objects.count() == 0


def test_a_model_refused_for_inserts_is_still_read_and_refused_at_each_insert():
    audit_event_append(
        actor=Actor.system("test"), action="read", resource_type="patient", resource_id=1
    )
    columns = FixedColumns(AuditEvent)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns.select_list(connection, 'e')} "  # noqa: S608
            f"FROM {AuditEvent._meta.db_table} e"
        )
        (row,) = cursor.fetchall()

    assert _all_values(columns.instance(connection, row)) == _all_values(AuditEvent.objects.get())
    columns.insert(connection, [])
    for _ in range(2):
        with pytest.raises(ValueError, match="automatic key"):
            columns.insert(connection, [{}])


def test_a_statement_is_built_once_per_vendor_and_arguments():
    built = []

    @per_vendor
    def statement(connection, width):
        built.append((connection.vendor, width))
        return f"SELECT {', '.join(['%s'] * width)} -- {connection.ops.quote_name('x')}"

    first = statement(connection, 2)

    assert statement(connection, 2) is first
    assert statement(connection, 3).count("%s") == 3
    assert statement(connection, 3) is statement(connection, 3)
    assert built == [(connection.vendor, 2), (connection.vendor, 3)]


def test_the_fixed_statements_are_built_once(pharmacist):
    from periop.accounts.authentication import _statement
    from periop.accounts.permissions import department_ids_statement

    assert _statement(connection) is _statement(connection)
    assert department_ids_statement(connection, 2) is department_ids_statement(connection, 2)
    assert department_ids_statement(connection, None) is not department_ids_statement(connection, 1)
