"""The report's indexes: on PostgreSQL each (department, created_at) index carries the columns
the report reads (index-only scans) and time-ordered tables have BRIN indexes; on SQLite the
same indexes exist as plain B-trees."""

import datetime as dt

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

REPORT_INDEXES = {
    "assessment_dept_created": "assessments_assessment",
    "caution_dept_created": "assessments_assessmentcaution",
    "condition_code_dept_created": "assessments_assessmentconditioncode",
    "finding_dept_created": "assessments_assessmentfinding",
}


def _index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def test_every_report_index_exists_under_its_model_name():
    for name, table in REPORT_INDEXES.items():
        assert name in _index_names(table), (name, table)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="INCLUDE and BRIN are PostgreSQL's")
def test_on_postgresql_the_report_indexes_cover_the_columns_read():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)",
            [[*REPORT_INDEXES, "report_acknowledgement_at_brin", "report_audit_occurred_brin"]],
        )
        definitions = dict(cursor.fetchall())
    assert (
        "INCLUDE (assessment_id, drug, drug_class, level, conflict)"
        in (definitions["caution_dept_created"])
    )
    assert "INCLUDE (assessment_id, code)" in definitions["condition_code_dept_created"]
    assert (
        "INCLUDE (id, assessment_id, rule, level, locally_tuned)"
        in definitions["finding_dept_created"]
    )
    for column in ("status", "highest_level", "created_by_id", "signed_by_id", "revision"):
        assert column in definitions["assessment_dept_created"].split("INCLUDE")[1]
    assert "USING brin (acknowledged_at)" in definitions["report_acknowledgement_at_brin"]
    assert "USING brin (occurred_at)" in definitions["report_audit_occurred_brin"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner checked is PostgreSQL's")
def test_on_postgresql_the_caution_section_reads_the_index_only():
    """A plan check, not a timing: every column the caution sections read is in the index,
    so the planner can answer from it without the table (an Index Scan would mean one is
    missing)."""
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN SELECT drug, drug_class, level, conflict, assessment_id "
            "FROM assessments_assessmentcaution "
            "WHERE department_id = 1 AND created_at >= %s AND created_at < %s",
            [start, start + dt.timedelta(days=31)],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using caution_dept_created" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner checked is PostgreSQL's")
def test_on_postgresql_the_rules_section_reads_the_findings_index_only():
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(
            "EXPLAIN SELECT id, rule, level, locally_tuned, assessment_id "
            "FROM assessments_assessmentfinding "
            "WHERE department_id = 1 AND created_at >= %s AND created_at < %s",
            [start, start + dt.timedelta(days=31)],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using finding_dept_created" in plan
