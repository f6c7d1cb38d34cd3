"""PostgreSQL-only: the reports' (department, created_at) indexes carry the columns the report
reads, so each section is an index-only scan.

An assessment row is wide (its snapshot text), so reading a department's month through the
plain index fetches one heap page for every few assessments; with the grouped columns
included in the index, PostgreSQL answers from the index alone. Each index keeps its name and
key columns, so Django's migration state stays true on both databases; SQLite has no INCLUDE
and keeps the plain indexes. Included columns must be listed here when a report section
starts to read a new column, or that section falls back to reading the table.
"""

from django.db import migrations

COVERING = {
    "assessment_dept_created": (
        "assessments_assessment",
        "id, revision, status, highest_level, created_by_id, signed_by_id, supersedes_id, "
        "knowledge_base_version, knowledge_base_digest",
    ),
    "caution_dept_created": (
        "assessments_assessmentcaution",
        "assessment_id, drug, drug_class, level, conflict",
    ),
    "condition_code_dept_created": (
        "assessments_assessmentconditioncode",
        "assessment_id, code",
    ),
}


def _replace(schema_editor, name, table, include):
    schema_editor.execute(f"DROP INDEX IF EXISTS {name}_next")
    schema_editor.execute(
        f"CREATE INDEX {name}_next ON {table} (department_id, created_at){include}"
    )
    schema_editor.execute(f"DROP INDEX {name}")
    schema_editor.execute(f"ALTER INDEX {name}_next RENAME TO {name}")


def cover(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, columns) in COVERING.items():
        _replace(schema_editor, name, table, f" INCLUDE ({columns})")


def uncover(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, _columns) in COVERING.items():
        _replace(schema_editor, name, table, "")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_acknowledgement_brin"),
        ("assessments", "0004_backfill_assessment_cautions"),
    ]

    operations = [migrations.RunPython(cover, uncover)]
