"""A signed assessment is never updated or deleted: the database itself refuses, on SQLite
and PostgreSQL, whatever the code path."""

import pytest
from django.core.checks import Error
from django.db import DatabaseError, connection, transaction

from periop.assessments import guards
from periop.assessments.checks import assessment_triggers_installed
from periop.assessments.models import Assessment
from periop.assessments.services import assessment_sign
from periop.audit.services import Actor
from tests.factories import AssessmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():
    signer = UserFactory(username="dr-signer")
    assessment = AssessmentFactory(drugs=["sugammadex"])
    return assessment_sign(actor=Actor.from_user(signer), assessment=assessment)


def test_raw_sql_update_of_a_signed_assessment_is_rejected(signed):
    with (
        pytest.raises(DatabaseError, match="signed assessments are immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE assessments_assessment SET procedure = 'Tampered' WHERE id = %s", [signed.pk]
        )

    signed.refresh_from_db()
    assert signed.procedure != "Tampered"


def test_raw_sql_cannot_unsign_an_assessment(signed):
    with (
        pytest.raises(DatabaseError, match="signed assessments are immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE assessments_assessment SET status = 'draft' WHERE id = %s", [signed.pk]
        )

    signed.refresh_from_db()
    assert signed.status == "signed"


def test_raw_sql_delete_of_a_signed_assessment_is_rejected(signed):
    with (
        pytest.raises(DatabaseError, match="signed assessments are immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM assessments_assessment WHERE id = %s", [signed.pk])

    assert Assessment.objects.filter(pk=signed.pk).exists()


def test_the_orm_cannot_save_a_signed_assessment_either(signed):
    original = Assessment.objects.values().get(pk=signed.pk)
    signed.procedure = "Tampered"

    with (
        pytest.raises(DatabaseError, match="signed assessments are immutable"),
        transaction.atomic(),
    ):
        signed.save()
    with (
        pytest.raises(DatabaseError, match="signed assessments are immutable"),
        transaction.atomic(),
    ):
        Assessment.objects.filter(pk=signed.pk).update(weight_kg="80")

    assert Assessment.objects.values().get(pk=signed.pk) == original


def test_a_draft_can_still_be_updated_and_deleted():
    draft = AssessmentFactory(drugs=["sugammadex"])

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assessments_assessment SET procedure = 'Changed' WHERE id = %s", [draft.pk]
        )
    draft.refresh_from_db()
    assert draft.procedure == "Changed"
    Assessment.objects.filter(pk=draft.pk).delete()
    assert not Assessment.objects.filter(pk=draft.pk).exists()


def test_the_system_check_passes_when_the_triggers_exist():
    assert assessment_triggers_installed(databases=["default"]) == []


def test_the_system_check_fails_when_a_trigger_is_missing():
    guards.remove(connection)
    try:
        errors = assessment_triggers_installed(databases=["default"])
    finally:
        guards.install(connection)

    assert len(errors) == 1
    assert isinstance(errors[0], Error)
    assert errors[0].id == "assessments.E001"
    assert "signed assessments unchanged are missing" in errors[0].msg
