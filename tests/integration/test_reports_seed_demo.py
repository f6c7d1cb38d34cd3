"""seed_demo: realistic demo data whose audit chain verifies and whose report adds up."""

from __future__ import annotations

import datetime as dt
import html
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from periop.accounts.models import Department, Membership, Role
from periop.assessments.models import (
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentFinding,
    AssessmentStatus,
)
from periop.assessments.services.replay import assessment_replay
from periop.audit.models import AuditChainHead, AuditEvent
from periop.audit.verification import audit_chain_verify
from periop.reports.periods import ReportPeriod
from periop.reports.selectors import department_report
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    output = io.StringIO()
    call_command(
        "seed_demo", departments=2, patients=40, assessments=300, months=2, stdout=output, **options
    )
    return output.getvalue()


def test_it_fills_departments_patients_assessments_and_a_valid_chain():
    output = seed()

    assert "Seeded in" in output
    assert Department.objects.filter(code__startswith="demo-").count() == 2
    assert Assessment.objects.count() == 300
    assert AssessmentCaution.objects.count() >= 300
    signed = Assessment.objects.filter(status=AssessmentStatus.SIGNED)
    assert signed.exists()
    assert Assessment.objects.filter(status=AssessmentStatus.DRAFT).exists()
    assert Acknowledgement.objects.filter(decision="overridden").exists()
    # Every signed assessment quotes its sign event, as the services do.
    sample = signed.first()
    assert AuditEvent.objects.get(hash=sample.sign_event_hash).action == "sign"
    result = audit_chain_verify()
    assert result.ok, result
    assert AuditChainHead.objects.get(id=1).sequence == result.events


def test_the_seeded_report_adds_up():
    seed()
    department = Department.objects.get(code="demo-1")
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(
        first_day=today - dt.timedelta(days=90), last_day=today, time_zone=department.time_zone
    )

    report = department_report(department=department, period=period)

    assessments = report["assessments"]
    assert assessments["total"] == Assessment.objects.filter(department=department).count()
    assert sum(assessments["by_status"].values()) == assessments["total"]
    assert sum(point["total"] for point in assessments["series"]) == assessments["total"]
    assert report["cautions"]["planned_drugs"] == sum(report["cautions"]["by_level"].values())
    overridden = sum(row["count"] for row in report["overrides"]["by_reason"])
    assert overridden == report["overrides"]["total"] > 0


def test_it_writes_a_finding_row_for_each_rule_its_snapshots_name():
    seed()

    expected = sorted(
        (assessment_id, caution["drug"], finding["rule"], finding["level"])
        for assessment_id, text in Assessment.objects.values_list("id", "cautions_snapshot")
        for caution in json.loads(text)["cautions"]
        for finding in caution["findings"]
    )
    assert expected
    stored = AssessmentFinding.objects.values_list("assessment_id", "drug", "rule", "level")
    assert sorted(stored) == expected
    department = Department.objects.get(code="demo-1")
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(
        first_day=today - dt.timedelta(days=90), last_day=today, time_zone=department.time_zone
    )
    rules = department_report(department=department, period=period)["rules"]["by_rule"]
    in_department = AssessmentFinding.objects.filter(department=department).count()
    assert sum(row["fired"] for row in rules) == in_department
    assert sum(row["overridden"] for row in rules) > 0


def test_it_refuses_a_database_with_patients_unless_forced():
    PatientFactory()
    with pytest.raises(CommandError, match="already holds patients"):
        seed()
    seed(force=True)
    assert audit_chain_verify().ok


def test_it_rejects_nonsense_sizes():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", assessments=0, stdout=io.StringIO())


def test_a_seeded_assessment_renders_and_replays_identical_on_its_release():
    call_command(
        "seed_demo", departments=1, patients=30, assessments=120, months=3, stdout=io.StringIO()
    )
    assessments = list(Assessment.objects.order_by("id"))
    # Snapshots as an assessment stores them: every card with its findings, a dose for the
    # weight, the inputs with the recorded rows they came from.
    cards = [
        card
        for assessment in assessments
        for card in json.loads(assessment.cautions_snapshot)["cautions"]
    ]
    assert all("findings" in card and "dose" in card for card in cards)
    assert any(card["findings"] for card in cards)
    assert any(card["dose"] and card["dose"]["total_mg"] for card in cards)
    inputs = [json.loads(assessment.inputs_snapshot) for assessment in assessments]
    assert any(snapshot["conditions"] for snapshot in inputs)
    assert all(snapshot["patient"]["weight_kg"] for snapshot in inputs)

    replays = [assessment_replay(assessment) for assessment in assessments]
    assert [replay["differences"] for replay in replays] == [[]] * len(assessments)
    assert all(replay["identical"] for replay in replays)

    signed = next(
        assessment
        for assessment in assessments
        if assessment.status == AssessmentStatus.SIGNED
        and assessment.highest_level in ("avoid", "contraindicated")
    )
    # A draft as well, waiting for decisions: its page has forms a signed one has not.
    draft = next(
        assessment
        for assessment in assessments
        if assessment.status == AssessmentStatus.DRAFT and assessment.acknowledgement_required
    )
    # A clinician of the department who wrote neither opens them.
    reader = (
        Membership.objects.filter(department=signed.department, role=Role.ANESTHETIST)
        .exclude(user_id__in=(signed.created_by_id, draft.created_by_id))
        .first()
    )
    browser = Client()
    browser.force_login(reader.user)
    browser.get("/patients/")
    for assessment in (signed, draft):
        page = browser.get(f"/assessments/{assessment.pk}/")
        assert page.status_code == 200
        text = html.unescape(page.content.decode())
        summaries = [
            finding["summary"]
            for card in json.loads(assessment.cautions_snapshot)["cautions"]
            for finding in card["findings"]
        ]
        assert summaries
        assert all(summary in text for summary in summaries)


def test_a_seeded_creation_is_audited_with_the_payload_a_real_one_has():
    """An auditor reading a demo ledger sees the same fields in a seeded "create" event as in
    one the assessment service writes: the planned time and the drugs needing a decision too."""
    from decimal import Decimal

    from django.utils import timezone

    from periop.assessments.services import assessment_create
    from periop.audit.chain import iso_utc
    from periop.audit.services import Actor

    seed()
    seeded = AuditEvent.objects.filter(action="create", resource_type="assessment").first()
    department = Department.objects.get(code="demo-1")
    patient = PatientFactory(department=department)
    real = assessment_create(
        actor=Actor.system(),
        patient=patient,
        department=department,
        planned_at=(timezone.now() + dt.timedelta(days=1)).replace(microsecond=0),
        procedure="Laparoscopy",
        weight_kg=Decimal("70"),
        drugs=["succinylcholine"],
    )
    written = AuditEvent.objects.get(
        action="create", resource_type="assessment", resource_id=str(real.pk)
    )

    seeded_payload, real_payload = json.loads(seeded.payload), json.loads(written.payload)
    assert set(seeded_payload) == set(real_payload)
    seeded_assessment = Assessment.objects.get(pk=int(seeded.resource_id))
    assert seeded_payload["planned_at"] == iso_utc(seeded_assessment.planned_at)
    assert seeded_payload["acknowledgement_required"] == [
        item["drug"] for item in seeded_assessment.acknowledgement_required
    ]
