"""seed_demo: realistic demo data whose audit chain verifies and whose report adds up."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from periop.accounts.models import Department
from periop.assessments.models import (
    Acknowledgement,
    Assessment,
    AssessmentCaution,
    AssessmentFinding,
    AssessmentStatus,
)
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
