"""The rows a signed record rests on are immutable in the database (SQLite and PostgreSQL),
and a signed record proves itself: its digest in the sign event is recomputed from its rows,
and any change made around the guards names the record."""

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from periop.assessments import guards
from periop.assessments.models import Acknowledgement, AssessmentCaution, PatientCondition
from periop.assessments.services import (
    assessment_sign,
    caution_acknowledge,
    patient_condition_correct,
    patient_condition_record,
    plan_decide,
)
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.audit.verification import records_verify
from tests.factories import AssessmentFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return Actor.from_user(UserFactory(username="dr-signer"))


@pytest.fixture
def signed(actor):
    """A burn five days old: succinylcholine contraindicated, withheld, then signed."""
    patient = PatientFactory()
    patient_condition_record(
        actor=actor,
        patient=patient,
        code="burn",
        onset=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )
    assessment = AssessmentFactory(patient=patient, drugs=["succinylcholine", "sugammadex"])
    caution_acknowledge(
        actor=actor, assessment=assessment, drug="succinylcholine", decision="accepted"
    )
    return assessment_sign(actor=actor, assessment=assessment)


def refused(sql, params, message):
    with (
        pytest.raises(DatabaseError, match=message),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "UPDATE assessments_acknowledgement SET comment = 'x' WHERE assessment_id = %s",
            "decisions of a signed assessment are immutable",
        ),
        (
            "DELETE FROM assessments_acknowledgement WHERE assessment_id = %s",
            "decisions of a signed assessment are immutable",
        ),
        (
            "UPDATE assessments_assessmentcaution SET level = 'none' WHERE assessment_id = %s",
            "report rows of a signed assessment are immutable",
        ),
        (
            "DELETE FROM assessments_assessmentcaution WHERE assessment_id = %s",
            "report rows of a signed assessment are immutable",
        ),
        (
            "DELETE FROM assessments_assessmentconditioncode WHERE assessment_id = %s",
            "report rows of a signed assessment are immutable",
        ),
    ],
)
def test_the_rows_of_a_signed_record_cannot_be_changed(signed, sql, message):
    before = (
        list(Acknowledgement.objects.filter(assessment=signed).values()),
        list(AssessmentCaution.objects.filter(assessment=signed).values()),
    )

    refused(sql, [signed.pk], message)

    assert before == (
        list(Acknowledgement.objects.filter(assessment=signed).values()),
        list(AssessmentCaution.objects.filter(assessment=signed).values()),
    )


def test_the_rows_of_a_draft_can_still_change(actor):
    draft = AssessmentFactory(drugs=["sugammadex"])

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assessments_assessmentcaution SET level = level WHERE assessment_id = %s",
            [draft.pk],
        )


def test_a_replaced_condition_version_cannot_be_changed(actor):
    patient = PatientFactory()
    original = patient_condition_record(actor=actor, patient=patient, code="stroke")
    current = patient_condition_correct(
        actor=actor,
        condition=original,
        code="stroke",
        onset=None,
        resolved=None,
        attributes={},
        reason="Typo.",
    )

    refused(
        "UPDATE assessments_patientcondition SET code = 'burn' WHERE id = %s",
        [original.pk],
        "replaced or removed condition versions are immutable",
    )
    refused(
        "DELETE FROM assessments_patientcondition WHERE id = %s",
        [original.pk],
        "replaced or removed condition versions are immutable",
    )
    assert PatientCondition.objects.get(pk=original.pk).code == "stroke"
    # The current version is still correctable.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assessments_patientcondition SET code = code WHERE id = %s", [current.pk]
        )


def test_the_sign_event_holds_the_records_digest_and_verification_finds_it_intact(signed):
    event = AuditEvent.objects.get(action="sign")

    assert json.loads(event.payload)["record_digest"].startswith("sha256:")
    result = records_verify()
    assert result.ok
    assert result.checked == 1


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE assessments_acknowledgement SET decision = 'overridden', "
        "reason_code = 'no-alternative' WHERE assessment_id = %s",
        "UPDATE assessments_assessmentcaution SET level = 'none' WHERE assessment_id = %s",
        "DELETE FROM assessments_assessmentconditioncode WHERE assessment_id = %s",
        "UPDATE assessments_assessment SET procedure = 'Tampered' WHERE id = %s",
        "UPDATE assessments_patientcondition SET attributes = '{}' WHERE patient_id = "
        "(SELECT patient_id FROM assessments_assessment WHERE id = %s)",
    ],
)
def test_a_change_made_around_the_guards_names_the_record(signed, tamper):
    # As a database superuser could: the guards are dropped, the row changed, the guards
    # put back. The ledger's digest of the signed record still shows it.
    guards.remove(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(tamper, [signed.pk])
    finally:
        guards.install(connection)

    result = records_verify()

    assert not result.ok
    assert result.problems == (
        f"Assessment {signed.pk} differs from the record signed at event "
        f"{AuditEvent.objects.get(action='sign').sequence}.",
    )
    with pytest.raises(CommandError, match="1 signed record"):
        call_command("verify_audit_chain", "--records")


def test_the_verify_api_checks_records_on_request(signed, auditor_client):
    guards.remove(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE assessments_acknowledgement SET comment = 'x' WHERE assessment_id = %s",
                [signed.pk],
            )
    finally:
        guards.install(connection)

    plain = auditor_client.get("/api/v1/audit/verify").json()
    with_records = auditor_client.get("/api/v1/audit/verify", {"records": "true"}).json()

    assert "records" not in plain
    assert with_records["ok"] is False
    assert with_records["records"]["checked"] == 1
    assert str(signed.pk) in with_records["records"]["problems"][0]


@pytest.fixture
def signed_after_a_change(actor):
    """Succinylcholine overridden, then the decision changed to withhold, then signed."""
    patient = PatientFactory()
    patient_condition_record(
        actor=actor,
        patient=patient,
        code="burn",
        onset=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )
    assessment = AssessmentFactory(patient=patient, drugs=["succinylcholine", "sugammadex"])
    for decision, reason in (("override", "no-alternative"), ("withhold", "")):
        plan_decide(
            actor=actor,
            assessment=assessment,
            drug="succinylcholine",
            decision=decision,
            reason_code=reason,
        )
    return assessment_sign(actor=actor, assessment=assessment)


def test_a_replaced_decision_of_a_signed_record_cannot_be_changed(signed_after_a_change):
    replaced = Acknowledgement.objects.get(replaced_at__isnull=False)

    refused(
        "UPDATE assessments_acknowledgement SET replaced_at = NULL WHERE id = %s",
        [replaced.pk],
        "decisions of a signed assessment are immutable",
    )
    refused(
        "DELETE FROM assessments_acknowledgement WHERE id = %s",
        [replaced.pk],
        "decisions of a signed assessment are immutable",
    )
    assert records_verify().ok


def test_the_records_digest_covers_a_replaced_decision(signed_after_a_change):
    replaced = Acknowledgement.objects.get(replaced_at__isnull=False)
    guards.remove(connection)
    try:
        with connection.cursor() as cursor:
            # The override erased from the history, as a superuser could.
            cursor.execute(
                "UPDATE assessments_acknowledgement SET reason_code = 'already-tolerated' "
                "WHERE id = %s",
                [replaced.pk],
            )
    finally:
        guards.install(connection)

    result = records_verify()

    assert not result.ok
    assert str(signed_after_a_change.pk) in result.problems[0]
