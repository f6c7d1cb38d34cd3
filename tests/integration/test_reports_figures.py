"""Department report figures, checked against counts worked out by hand from the data below."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

import pytest

from periop.accounts.models import Department, Role
from periop.assessments.models import (
    Assessment,
    AssessmentCaution,
    AssessmentConditionCode,
    AssessmentFinding,
)
from periop.assessments.services import (
    assessment_sign,
    assessment_update,
    caution_acknowledge,
    plan_decide,
)
from periop.audit.models import AuditChainHead
from periop.audit.services import Actor
from periop.reports.periods import ReportPeriod
from periop.reports.selectors import department_report
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = "America/New_York"
ZONE = zoneinfo.ZoneInfo(NEW_YORK)
OCTOBER = ReportPeriod(
    first_day=dt.date(2026, 10, 1), last_day=dt.date(2026, 10, 31), time_zone=NEW_YORK
)
# "Now" for the report: noon on 1 November in New York, so a draft made at 23:30 the night
# before is not yet 24 hours old and one made on 10 October is.
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=ZONE)


def local(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZONE)


def move(assessment: Assessment, created_at: dt.datetime) -> None:
    """Puts a draft at a chosen creation time (drafts may be updated; signed rows may not)."""
    Assessment.objects.filter(pk=assessment.pk).update(created_at=created_at)
    # The caution, finding and condition rows repeat the creation time (it never changes in
    # service).
    AssessmentCaution.objects.filter(assessment=assessment).update(created_at=created_at)
    AssessmentFinding.objects.filter(assessment=assessment).update(created_at=created_at)
    AssessmentConditionCode.objects.filter(assessment=assessment).update(created_at=created_at)


@dataclass
class October:
    department: Department
    clinician: Any
    colleague: Any
    assessments: dict[str, Assessment]


def build_october(department: Department, clinician: Any) -> October:
    """Four assessments inside October (New York time) and three just outside it.

    in  A1 myasthenia, succinylcholine (adjust) + neostigmine (avoid, overridden: no-alternative),
        signed; created 1 Oct 00:30
    in  A2 burn, succinylcholine (contraindicated, accepted) + rocuronium (adjust), signed
    in  A3 burn, succinylcholine (contraindicated, overridden by the colleague:
        benefit-outweighs-risk), left a draft since 10 Oct (stale)
    in  A4 no condition, rocuronium (none), draft created 31 Oct 23:30 (not yet stale)
    out A5 created 1 Nov 00:30; A6 created 30 Sep 23:30; A7 in another department
    """
    department.time_zone = NEW_YORK
    department.save()
    colleague = UserFactory(username="dr-colleague")
    MembershipFactory(user=colleague, department=department, role=Role.ANESTHETIST)
    me, them = Actor.from_user(clinician), Actor.from_user(colleague)

    def patient(*conditions: str) -> Any:
        person = PatientFactory(department=department)
        for code in conditions:
            PatientConditionFactory(patient=person, code=code, onset_date=dt.date(2020, 1, 1))
        return person

    def assessment(person: Any, drugs: list[str], by: Any, at: dt.datetime) -> Assessment:
        created = AssessmentFactory(patient=person, drugs=drugs, created_by=by)
        move(created, at)
        return created

    a1 = assessment(
        patient("myasthenia-gravis"),
        ["succinylcholine", "neostigmine"],
        clinician,
        local(2026, 10, 1, 0, 30),
    )
    caution_acknowledge(
        actor=me,
        assessment=a1,
        drug="neostigmine",
        decision="overridden",
        reason_code="no-alternative",
    )
    assessment_sign(actor=me, assessment=a1)
    burn = patient("burn")
    a2 = assessment(burn, ["succinylcholine", "rocuronium"], clinician, local(2026, 10, 15, 9))
    caution_acknowledge(actor=me, assessment=a2, drug="succinylcholine", decision="accepted")
    assessment_sign(actor=me, assessment=a2)
    a3 = assessment(burn, ["succinylcholine"], colleague, local(2026, 10, 10, 14))
    caution_acknowledge(
        actor=them,
        assessment=a3,
        drug="succinylcholine",
        decision="overridden",
        reason_code="benefit-outweighs-risk",
    )
    plain = patient()
    a4 = assessment(plain, ["rocuronium"], clinician, local(2026, 10, 31, 23, 30))
    a5 = assessment(plain, ["succinylcholine"], clinician, local(2026, 11, 1, 0, 30))
    a6 = assessment(plain, ["succinylcholine"], clinician, local(2026, 9, 30, 23, 30))
    elsewhere = PatientFactory()
    a7 = AssessmentFactory(patient=elsewhere, drugs=["succinylcholine"])
    move(a7, local(2026, 10, 15, 9))
    return October(
        department=department,
        clinician=clinician,
        colleague=colleague,
        assessments={"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5, "a6": a6, "a7": a7},
    )


@pytest.fixture
def october(department, anesthetist) -> October:
    return build_october(department, anesthetist)


@pytest.fixture
def report(october) -> dict[str, Any]:
    return department_report(department=october.department, period=OCTOBER, now=NOW)


def test_it_states_the_period_in_the_departments_time_zone(report):
    assert report["period"] == {
        "from": "2026-10-01",
        "to": "2026-10-31",
        "time_zone": NEW_YORK,
        "start": "2026-10-01T00:00:00-04:00",
        "end": "2026-11-01T00:00:00-04:00",
    }


def test_it_counts_assessments_by_status_inside_the_local_period_only(report):
    # A4 (31 Oct 23:30 local, 03:30 UTC on 1 Nov) is in; A5 (1 Nov 00:30) and A6 are out.
    assessments = report["assessments"]
    assert assessments["total"] == 4
    assert assessments["by_status"] == {"draft": 2, "signed": 2}
    assert assessments["amendments"] == 0
    assert assessments["by_highest_level"] == {
        "contraindicated": 2,
        "avoid": 1,
        "adjust": 0,
        "monitor": 0,
        "none": 1,
    }


def test_it_puts_each_assessment_on_its_local_day(report):
    series = {point["date"]: point["total"] for point in report["assessments"]["series"]}
    assert len(series) == 31
    assert series["2026-10-01"] == 1
    assert series["2026-10-10"] == 1
    assert series["2026-10-15"] == 1
    assert series["2026-10-31"] == 1
    assert sum(series.values()) == 4


def test_it_counts_cautions_by_level_drug_and_class(report):
    cautions = report["cautions"]
    assert cautions["planned_drugs"] == 6
    assert cautions["total"] == 5
    assert cautions["by_level"] == {
        "contraindicated": 2,
        "avoid": 1,
        "adjust": 2,
        "monitor": 0,
        "none": 1,
    }
    by_drug = {
        row["drug"]: (row["drug_class"], row["planned"], row["by_level"])
        for row in cautions["by_drug"]
    }
    assert by_drug["succinylcholine"][:2] == ("depolarizing-blocker", 3)
    assert by_drug["succinylcholine"][2]["contraindicated"] == 2
    assert by_drug["succinylcholine"][2]["adjust"] == 1
    assert by_drug["neostigmine"][2]["avoid"] == 1
    assert by_drug["rocuronium"][2] == {
        "contraindicated": 0,
        "avoid": 0,
        "adjust": 1,
        "monitor": 0,
        "none": 1,
    }
    classes = {row["drug_class"]: row["planned"] for row in cautions["by_drug_class"]}
    assert classes == {"depolarizing-blocker": 3, "nondepolarizing-blocker": 2, "reversal-agent": 1}


def test_it_counts_cautions_by_condition(report):
    by_condition = {row["code"]: row for row in report["cautions"]["by_condition"]}
    assert set(by_condition) == {"burn", "myasthenia-gravis"}
    assert by_condition["burn"]["assessments"] == 2
    assert by_condition["burn"]["by_level"]["contraindicated"] == 2
    assert by_condition["burn"]["by_level"]["adjust"] == 1
    assert by_condition["burn"]["cautions"] == 3
    assert by_condition["myasthenia-gravis"]["assessments"] == 1
    assert by_condition["myasthenia-gravis"]["by_level"]["avoid"] == 1
    assert by_condition["myasthenia-gravis"]["by_level"]["adjust"] == 1


def test_it_counts_overrides_by_reason_and_the_rate_per_level(report):
    overrides = report["overrides"]
    assert overrides["total"] == 2
    by_reason = {row["reason_code"]: row["count"] for row in overrides["by_reason"]}
    assert by_reason["no-alternative"] == 1
    assert by_reason["benefit-outweighs-risk"] == 1
    assert sum(by_reason.values()) == 2
    by_level = {row["level"]: row for row in overrides["by_level"]}
    assert by_level["contraindicated"] == {
        "level": "contraindicated",
        "cautions": 2,
        "accepted": 1,
        "overridden": 1,
        "override_rate": 0.5,
    }
    assert by_level["avoid"]["override_rate"] == 1.0
    assert overrides["by_drug"] == [
        {"drug": "neostigmine", "count": 1},
        {"drug": "succinylcholine", "count": 1},
    ]


def test_it_reports_each_clinicians_activity(report, october):
    people = {row["username"]: row for row in report["clinicians"]}
    assert people["dr-anesthetist"] == {
        "user_id": october.clinician.pk,
        "username": "dr-anesthetist",
        "assessments_created": 3,
        "assessments_signed": 2,
        "drafts_open": 1,
        "cautions_accepted": 1,
        "cautions_overridden": 1,
    }
    assert people["dr-colleague"]["assessments_created"] == 1
    assert people["dr-colleague"]["cautions_overridden"] == 1
    assert people["dr-colleague"]["assessments_signed"] == 0


def test_it_lists_drafts_unsigned_for_more_than_a_day(report, october):
    stale = report["stale_drafts"]
    assert stale["count"] == 1
    assert [row["assessment"] for row in stale["oldest"]] == [october.assessments["a3"].pk]
    assert stale["oldest"][0]["created_at"] == "2026-10-10T14:00:00-04:00"


def test_it_names_the_knowledge_base_versions_and_the_chain_head(report, october):
    versions = report["knowledge_base_versions"]
    assert len(versions) == 1
    assert versions[0]["version"] == october.assessments["a1"].knowledge_base_version
    assert versions[0]["assessments"] == 4
    head = AuditChainHead.objects.get(id=1)
    assert report["audit_chain_head"] == {"sequence": head.sequence, "hash": head.hash}


def test_an_acknowledgement_of_an_edited_revision_no_longer_counts(october):
    a3 = october.assessments["a3"]
    assessment_update(
        actor=Actor.from_user(october.colleague),
        assessment=a3,
        expected_revision=a3.revision,
        drugs=["succinylcholine", "rocuronium"],
    )
    report = department_report(department=october.department, period=OCTOBER, now=NOW)
    assert report["overrides"]["total"] == 1
    # The edit re-evaluated A3: its caution rows follow the new snapshot.
    assert set(AssessmentCaution.objects.filter(assessment=a3).values_list("drug", flat=True)) == {
        "succinylcholine",
        "rocuronium",
    }
    assert report["cautions"]["planned_drugs"] == 7


def test_a_replaced_override_is_not_counted_only_the_decision_in_force(october):
    a3 = october.assessments["a3"]
    plan_decide(
        actor=Actor.from_user(october.colleague),
        assessment=a3,
        drug="succinylcholine",
        decision="withhold",
    )

    report = department_report(department=october.department, period=OCTOBER, now=NOW)

    # A3's override was changed to withhold before signing: the override stays in the record
    # (replaced) but the figures count the withheld decision in its place.
    assert report["overrides"]["total"] == 1
    by_level = {row["level"]: row for row in report["overrides"]["by_level"]}
    assert (by_level["contraindicated"]["accepted"], by_level["contraindicated"]["overridden"]) == (
        2,
        0,
    )
    people = {row["username"]: row for row in report["clinicians"]}
    assert people["dr-colleague"]["cautions_overridden"] == 0
    assert people["dr-colleague"]["cautions_accepted"] == 1


def test_the_caution_rows_mirror_the_stored_snapshot(october):
    a1 = october.assessments["a1"]
    rows = AssessmentCaution.objects.filter(assessment=a1).order_by("drug")
    assert [(row.drug, row.drug_class, row.level, row.conflict) for row in rows] == [
        ("neostigmine", "reversal-agent", "avoid", False),
        ("succinylcholine", "depolarizing-blocker", "adjust", False),
    ]
    assert list(
        AssessmentConditionCode.objects.filter(assessment=a1).values_list("code", flat=True)
    ) == ["myasthenia-gravis"]


def test_an_empty_period_reports_zeros(department):
    period = ReportPeriod(
        first_day=dt.date(2020, 1, 1), last_day=dt.date(2020, 1, 31), time_zone="UTC"
    )
    report = department_report(department=department, period=period, now=NOW)
    assert report["assessments"]["total"] == 0
    assert report["cautions"]["by_drug"] == []
    assert report["overrides"]["total"] == 0
    assert all(row["override_rate"] is None for row in report["overrides"]["by_level"])
    assert report["clinicians"] == []


def test_a_long_period_is_charted_by_month(october):
    year = ReportPeriod(
        first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 12, 31), time_zone=NEW_YORK
    )
    report = department_report(department=october.department, period=year, now=NOW)
    series = {point["date"]: point["total"] for point in report["assessments"]["series"]}
    assert report["assessments"]["series_unit"] == "month"
    assert len(series) == 12
    assert series["2026-10-01"] == 4
    assert series["2026-09-01"] == 1
    assert series["2026-11-01"] == 1


def add_overridden_assessments(department: Department, anesthetist: Any, count: int) -> None:
    """`count` assessments of one burnt patient, each with its succinylcholine caution
    overridden (a burn makes that caution one that must be acknowledged)."""
    person = PatientFactory(department=department)
    PatientConditionFactory(patient=person, code="burn", onset_date=dt.date(2020, 1, 1))
    for _ in range(count):
        created = AssessmentFactory(
            patient=person, drugs=["succinylcholine", "rocuronium"], created_by=anesthetist
        )
        caution_acknowledge(
            actor=Actor.from_user(anesthetist),
            assessment=created,
            drug="succinylcholine",
            decision="overridden",
            reason_code="no-alternative",
        )


@pytest.mark.parametrize("rows", [1, 25])
def test_the_report_costs_the_same_queries_for_1_and_25_assessments(
    department, anesthetist, django_assert_num_queries, rows
):
    add_overridden_assessments(department, anesthetist, rows)
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(
        first_day=today - dt.timedelta(days=3),
        last_day=today + dt.timedelta(days=1),
        time_zone="UTC",
    )
    # One query per section: the chain head; the assessments grouped by day, status, level,
    # clinician and knowledge base; cautions by drug and level; cautions by condition;
    # acknowledgements (overrides and clinicians); CDS Hooks feedback (overrides fed back by
    # the EHR); the rules fired; the decisions per rule; the oldest stale drafts. Nine,
    # whatever the number of rows.
    with django_assert_num_queries(9):
        report = department_report(department=department, period=period)
    assert report["assessments"]["total"] == rows
    assert report["overrides"]["total"] == rows


def test_the_backfill_indexes_assessments_stored_before_the_rows_existed(october):
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module(
        "periop.assessments.migrations.0004_backfill_assessment_cautions"
    )
    expected = sorted(
        AssessmentCaution.objects.values_list("assessment_id", "drug", "level", "department_id")
    )
    codes = sorted(AssessmentConditionCode.objects.values_list("assessment_id", "code"))
    # Back to before the rows existed: the report rows of signed assessments are guarded, so
    # the guard is lifted for the deletion only (this test's transaction is rolled back).
    from periop.assessments.record_guards import CAUTIONS, CONDITION_CODES

    for guard in (CAUTIONS, CONDITION_CODES):
        guard.remove(connection)
    AssessmentCaution.objects.all().delete()
    AssessmentConditionCode.objects.all().delete()
    for guard in (CAUTIONS, CONDITION_CODES):
        guard.install(connection)

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    migration.backfill(apps, editor)

    assert (
        sorted(
            AssessmentCaution.objects.values_list("assessment_id", "drug", "level", "department_id")
        )
        == expected
    )
    assert sorted(AssessmentConditionCode.objects.values_list("assessment_id", "code")) == codes
    a1 = october.assessments["a1"]
    assert {row.created_at for row in AssessmentCaution.objects.filter(assessment=a1)} == {
        Assessment.objects.get(pk=a1.pk).created_at
    }


def test_a_lineage_counts_once_by_its_latest_signed_version(october, anesthetist):
    """A2 (signed) is amended: while the amendment is a draft the report still counts A2; once
    it is signed, it counts the amendment instead. Either way the totals stay one lineage."""
    from periop.assessments.services import assessment_amend

    actor = Actor.from_user(anesthetist)
    department, a2 = october.department, october.assessments["a2"]
    before = department_report(department=department, period=OCTOBER, now=NOW)
    amendment = assessment_amend(actor=actor, assessment=a2, reason="Weight corrected.")
    move(amendment, local(2026, 10, 20, 9, 0))

    with_draft = department_report(department=department, period=OCTOBER, now=NOW)

    assert with_draft["assessments"]["total"] == before["assessments"]["total"] == 4
    assert with_draft["cautions"] == before["cautions"]
    assert "latest signed version" in with_draft["counting"]

    for item in amendment.acknowledgement_required:
        caution_acknowledge(
            actor=actor, assessment=amendment, drug=item["drug"], decision="accepted"
        )
    assessment_sign(actor=actor, assessment=amendment)
    signed = department_report(department=department, period=OCTOBER, now=NOW)

    assert signed["assessments"]["total"] == 4
    assert signed["assessments"]["amendments"] == 1
    assert signed["assessments"]["by_status"] == before["assessments"]["by_status"]
    assert signed["cautions"]["planned_drugs"] == before["cautions"]["planned_drugs"]
