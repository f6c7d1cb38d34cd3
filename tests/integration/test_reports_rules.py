"""The department report's per-rule figures: how often each rule fired and at which level, and
the decisions on the cautions it set, counted by hand from the data below."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from periop.accounts.models import Department
from periop.assessments.models import Assessment, AssessmentFinding
from periop.assessments.services import (
    assessment_amend,
    assessment_sign,
    caution_acknowledge,
)
from periop.audit.services import Actor
from periop.reports.periods import ReportPeriod
from periop.reports.selectors import department_report
from tests.factories import AssessmentFactory, PatientConditionFactory, PatientFactory
from tests.integration.test_reports_figures import NOW, OCTOBER, local, move

pytestmark = pytest.mark.django_db

# Rules of the knowledge base in fixtures/knowledge/rules, as the assessments below fire them.
SUX_BURN = "sux-burn-window"  # burn: succinylcholine contraindicated
MUSK_NEOSTIGMINE = "mg-musk-neostigmine-avoid"  # myasthenia: neostigmine avoid
MG_NEOSTIGMINE = "mg-neostigmine-caution"  # myasthenia: neostigmine adjust
BURN_AMINOSTEROID = "burn-aminosteroid-resistance"  # burn: rocuronium adjust


def patient_with(department: Department, *conditions: str) -> Any:
    person = PatientFactory(department=department)
    for code in conditions:
        PatientConditionFactory(patient=person, code=code, onset_date=dt.date(2020, 1, 1))
    return person


def assessment_at(person: Any, drugs: list[str], by: Any, at: dt.datetime) -> Assessment:
    created = AssessmentFactory(patient=person, drugs=drugs, created_by=by)
    move(created, at)
    return created


def decide(by: Any, assessment: Assessment, drug: str, reason: str = "") -> None:
    caution_acknowledge(
        actor=Actor.from_user(by),
        assessment=assessment,
        drug=drug,
        decision="overridden" if reason else "accepted",
        reason_code=reason,
    )


@pytest.fixture
def october(department, other_department, anesthetist) -> dict[str, Assessment]:
    """In October (New York time):
    b1 burn, succinylcholine + rocuronium, succinylcholine overridden (no-alternative), signed
    b2 burn, succinylcholine, overridden (benefit-outweighs-risk), signed
    b3 burn, succinylcholine, accepted, signed
    m1 myasthenia, neostigmine + succinylcholine, neostigmine overridden (no-alternative), draft
    Outside: b4 burn 30 Sep 23:30, b5 burn 1 Nov 00:30 (both overridden), b6 burn in another
    department (overridden)."""
    department.time_zone = other_department.time_zone = "America/New_York"
    department.save()
    other_department.save()
    burn, myasthenia = (
        patient_with(department, "burn"),
        patient_with(department, "myasthenia-gravis"),
    )
    sux, both = ["succinylcholine"], ["succinylcholine", "rocuronium"]
    elsewhere = patient_with(other_department, "burn")
    made = {
        "b1": assessment_at(burn, both, anesthetist, local(2026, 10, 1, 0, 30)),
        "b2": assessment_at(burn, sux, anesthetist, local(2026, 10, 9, 10)),
        "b3": assessment_at(burn, sux, anesthetist, local(2026, 10, 31, 23, 30)),
        "m1": assessment_at(myasthenia, ["neostigmine", *sux], anesthetist, local(2026, 10, 20, 8)),
        "b4": assessment_at(burn, sux, anesthetist, local(2026, 9, 30, 23, 30)),
        "b5": assessment_at(burn, sux, anesthetist, local(2026, 11, 1, 0, 30)),
        "b6": assessment_at(elsewhere, sux, None, local(2026, 10, 9, 10)),
    }
    for name in ("b1", "b4", "b5", "b6"):
        decide(anesthetist, made[name], "succinylcholine", "no-alternative")
    decide(anesthetist, made["b2"], "succinylcholine", "benefit-outweighs-risk")
    decide(anesthetist, made["b3"], "succinylcholine")
    decide(anesthetist, made["m1"], "neostigmine", "no-alternative")
    for name in ("b1", "b2", "b3"):
        assessment_sign(actor=Actor.from_user(anesthetist), assessment=made[name])
    return made


def rules_of(department: Department, period: ReportPeriod = OCTOBER) -> dict[str, dict[str, Any]]:
    report = department_report(department=department, period=period, now=NOW)
    return {row["rule"]: row for row in report["rules"]["by_rule"]}


def test_it_counts_each_rule_fired_by_level_in_the_period(department, october):
    rules = rules_of(department)

    sux = rules[SUX_BURN]
    # b1, b2 and b3 (b3 at 23:30 on 31 October local time is in; b4, b5 and b6 are not).
    assert sux["fired"] == 3
    assert sux["assessments"] == 3
    assert sux["by_level"] == {
        "contraindicated": 3,
        "avoid": 0,
        "adjust": 0,
        "monitor": 0,
        "none": 0,
    }
    assert sux["summary"].startswith("Burn:")
    assert rules[BURN_AMINOSTEROID]["by_level"]["adjust"] == 1
    assert rules[MUSK_NEOSTIGMINE]["by_level"]["avoid"] == 1
    assert rules[MG_NEOSTIGMINE]["by_level"]["adjust"] == 1


def test_it_counts_the_overrides_of_the_cautions_a_rule_set_with_their_reasons(department, october):
    rules = rules_of(department)

    sux = rules[SUX_BURN]
    assert (sux["accepted"], sux["overridden"]) == (1, 2)
    assert sux["override_rate"] == round(2 / 3, 4)
    assert sux["override_reasons"] == [
        {"reason_code": "benefit-outweighs-risk", "label": "Benefit outweighs risk", "count": 1},
        {"reason_code": "no-alternative", "label": "No reasonable alternative", "count": 1},
    ]
    # Neostigmine's avoid caution was overridden: the avoid rule set it; the adjust rule that
    # fired for the same drug did not, and no decision is counted for it.
    assert rules[MUSK_NEOSTIGMINE]["overridden"] == 1
    assert rules[MUSK_NEOSTIGMINE]["override_reasons"][0]["reason_code"] == "no-alternative"
    assert (rules[MG_NEOSTIGMINE]["accepted"], rules[MG_NEOSTIGMINE]["overridden"]) == (0, 0)
    assert rules[MG_NEOSTIGMINE]["override_rate"] is None
    assert rules[MG_NEOSTIGMINE]["override_reasons"] == []


def test_the_rules_are_sorted_by_times_fired(department, october):
    report = department_report(department=department, period=OCTOBER, now=NOW)
    fired = [(-row["fired"], row["rule"]) for row in report["rules"]["by_rule"]]
    assert fired == sorted(fired)
    assert report["rules"]["by_rule"][0]["rule"] == SUX_BURN
    assert "not counted here" in report["rules"]["attribution"]


def test_another_departments_rules_are_not_counted(other_department, october):
    rules = rules_of(other_department)
    assert rules[SUX_BURN]["fired"] == 1
    assert rules[SUX_BURN]["override_reasons"] == [
        {"reason_code": "no-alternative", "label": "No reasonable alternative", "count": 1}
    ]


def test_the_period_bounds_are_the_departments_local_days(department, october):
    september_30 = ReportPeriod(
        first_day=dt.date(2026, 9, 30), last_day=dt.date(2026, 9, 30), time_zone="America/New_York"
    )
    rules = rules_of(department, september_30)
    assert set(rules) == {SUX_BURN}
    assert (rules[SUX_BURN]["fired"], rules[SUX_BURN]["overridden"]) == (1, 1)


def test_a_lineage_counts_once_by_its_latest_signed_version(department, october, anesthetist):
    before = rules_of(department)[SUX_BURN]
    amendment = assessment_amend(
        actor=Actor.from_user(anesthetist), assessment=october["b2"], reason="Weight corrected."
    )
    move(amendment, local(2026, 10, 12, 9))

    # While the amendment is a draft, b2 counts (with its override).
    assert rules_of(department)[SUX_BURN] == before

    decide(anesthetist, amendment, "succinylcholine")
    assessment_sign(actor=Actor.from_user(anesthetist), assessment=amendment)
    after = rules_of(department)[SUX_BURN]

    # Signed, the amendment replaces b2: one firing still, and its acceptance in place of the
    # override b2 had.
    assert (after["fired"], after["assessments"]) == (3, 3)
    assert (after["accepted"], after["overridden"]) == (2, 1)
    assert [row["reason_code"] for row in after["override_reasons"]] == ["no-alternative"]


@pytest.mark.parametrize("count", [1, 20])
def test_the_section_costs_the_same_queries_whatever_the_rows(
    department, anesthetist, django_assert_max_num_queries, count
):
    burn = patient_with(department, "burn")
    for _ in range(count):
        made = AssessmentFactory(patient=burn, drugs=["succinylcholine"], created_by=anesthetist)
        decide(anesthetist, made, "succinylcholine", "no-alternative")
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(
        first_day=today - dt.timedelta(days=1),
        last_day=today + dt.timedelta(days=1),
        time_zone="UTC",
    )
    # The whole report, the two queries of the rules section included.
    with django_assert_max_num_queries(9):
        report = department_report(department=department, period=period)
    sux = {row["rule"]: row for row in report["rules"]["by_rule"]}[SUX_BURN]
    assert (sux["fired"], sux["overridden"]) == (count, count)


def test_the_finding_rows_mirror_the_stored_snapshot(october):
    b1 = october["b1"]
    snapshot = json.loads(Assessment.objects.get(pk=b1.pk).cautions_snapshot)
    expected = sorted(
        (caution["drug"], finding["rule"], finding["level"])
        for caution in snapshot["cautions"]
        for finding in caution["findings"]
    )
    rows = AssessmentFinding.objects.filter(assessment=b1)
    assert sorted(rows.values_list("drug", "rule", "level")) == expected
    assert (SUX_BURN, "contraindicated") in {(row.rule, row.level) for row in rows}
    assert {row.department_id for row in rows} == {b1.department_id}


def test_the_finding_rows_of_a_signed_assessment_are_immutable(october):
    from django.db import DatabaseError, transaction

    row = AssessmentFinding.objects.filter(assessment=october["b1"]).first()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        AssessmentFinding.objects.filter(pk=row.pk).update(level="none")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        AssessmentFinding.objects.filter(pk=row.pk).delete()


def test_the_backfill_indexes_stored_snapshots_and_skips_abbreviated_ones(october):
    from periop.assessments.record_guards import FINDINGS

    migration = importlib.import_module(
        "periop.assessments.migrations.0013_backfill_assessment_findings"
    )
    columns = ("assessment_id", "drug", "rule", "level", "department_id", "created_at")
    expected = sorted(AssessmentFinding.objects.values_list(*columns))
    FINDINGS.remove(connection)  # For the deletion only; the test's transaction is rolled back.
    AssessmentFinding.objects.all().delete()
    FINDINGS.install(connection)
    # A snapshot as seed_demo wrote them before it kept findings: cautions without findings.
    abbreviated = october["m1"]
    Assessment.objects.filter(pk=abbreviated.pk).update(
        cautions_snapshot=json.dumps(
            {"seeded": True, "cautions": [{"drug": "neostigmine", "level": "avoid"}]}
        )
    )

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    migration.backfill(apps, editor)

    assert sorted(AssessmentFinding.objects.values_list(*columns)) == [
        row for row in expected if row[0] != abbreviated.pk
    ]
    assert not AssessmentFinding.objects.filter(assessment=abbreviated).exists()


def test_the_page_csv_pdf_and_api_show_the_rules(department, october, auditor):
    from tests.conftest import client_for
    from tests.integration.test_reports_pages import browser, page, pdf_text

    query = {"from": "2026-10-01", "to": "2026-10-31"}
    client = browser(auditor)

    html = client.get(page(department), query).content.decode()
    rules_section = html[html.index('id="h-rules"') : html.index('id="h-clinicians"')]
    assert f"<code>{SUX_BURN}</code>" in rules_section
    assert "Benefit outweighs risk: 1; No reasonable alternative: 1" in rules_section
    # The adjust rule of neostigmine is listed as fired, and not among the decisions.
    decisions = rules_section[rules_section.index("Decisions on the") :]
    assert MG_NEOSTIGMINE not in decisions
    assert MUSK_NEOSTIGMINE in decisions

    response = client.get(page(department), {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    figures = {tuple(row[:4]): row[4] for row in rows[1:]}
    assert figures[("rules", "rule", SUX_BURN, "fired")] == "3"
    assert figures[("rules", "rule", SUX_BURN, "fired_contraindicated")] == "3"
    assert figures[("rules", "rule", SUX_BURN, "overridden")] == "2"
    assert figures[("rules", "rule", SUX_BURN, "overridden_no-alternative")] == "1"
    assert figures[("rules", "rule", MG_NEOSTIGMINE, "override_rate")] == ""

    pdf = client.get(page(department), {**query, "format": "pdf"})
    squeezed = re.sub(r"\s+", "", pdf_text(pdf.content))
    assert "Rulesfired,bylevel" in squeezed
    assert SUX_BURN in squeezed

    body = client_for(auditor).get(f"/api/v1/reports/departments/{department.pk}", query).json()
    by_rule = {row["rule"]: row for row in body["rules"]["by_rule"]}
    assert (by_rule[SUX_BURN]["fired"], by_rule[SUX_BURN]["overridden"]) == (3, 2)
    # Additive: the sections clients already read are still there.
    assert {"assessments", "cautions", "overrides", "clinicians"} <= set(body)


def test_verification_names_a_signed_record_whose_finding_rows_were_altered(october):
    from periop.assessments.record_guards import FINDINGS
    from periop.assessments.services.signed_records import signed_records_verify

    assert signed_records_verify(limit=10) == (3, [])
    b2 = october["b2"]
    # A change made around the guard (as a database superuser could).
    FINDINGS.remove(connection)
    AssessmentFinding.objects.filter(assessment=b2, rule=SUX_BURN).update(level="monitor")
    FINDINGS.install(connection)

    checked, problems = signed_records_verify(limit=10)

    assert checked == 3
    assert len(problems) == 1
    assert problems[0].startswith(f"Assessment {b2.pk}'s finding rows differ from the snapshot")


def test_a_tuned_finding_counts_at_the_level_shown_and_as_locally_tuned(
    department, anesthetist, department_admin, consultant_reviewer, pharmacist_reviewer
):
    from periop.drugs.tunings import tuning_propose, tuning_sign_off
    from tests.integration.test_knowledge_base_tunings_in_force import (
        ADJUST_RULE,
        MONITOR_RULE,
        _myasthenic,
    )

    for proposal in (
        {"rule_id": MONITOR_RULE, "change": "monitor-to-none", "reason": "Alert fatigue."},
        {"rule_id": ADJUST_RULE, "change": "raise", "level": "avoid", "reason": "Local policy."},
    ):
        tuning = tuning_propose(user=department_admin, department=department, **proposal)
        tuning_sign_off(user=consultant_reviewer, tuning=tuning)
        tuning_sign_off(user=pharmacist_reviewer, tuning=tuning)
    patient = _myasthenic(department, anesthetist)
    made = AssessmentFactory(
        patient=patient, drugs=["rocuronium", "sugammadex"], created_by=anesthetist
    )
    # Raised to avoid, rocuronium's caution must be decided: overridden.
    decide(anesthetist, made, "rocuronium", "benefit-outweighs-risk")
    today = dt.datetime.now(dt.UTC).date()
    period = ReportPeriod(first_day=today, last_day=today + dt.timedelta(days=1), time_zone="UTC")

    rules = rules_of(department, period)

    lowered, raised = rules[MONITOR_RULE], rules[ADJUST_RULE]
    assert (lowered["by_level"]["none"], lowered["by_level"]["monitor"]) == (1, 0)
    assert lowered["locally_tuned"] == 1
    assert (raised["by_level"]["avoid"], raised["by_level"]["adjust"]) == (1, 0)
    assert raised["locally_tuned"] == 1
    assert raised["overridden"] == 1
