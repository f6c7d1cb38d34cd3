"""PostgreSQL-only indexes for reports over append-only time columns.

BRIN indexes summarise block ranges: tiny (kilobytes for millions of rows) and effective where
rows arrive in time order, as audit events and assessments do. SQLite has no BRIN, so the
operation is skipped there; the B-tree indexes in the models' Meta serve both databases.
"""

from django.db import migrations

INDEXES = {
    "report_audit_occurred_brin": "audit_auditevent USING brin (occurred_at)",
    "report_assessment_created_brin": "assessments_assessment USING brin (created_at)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
        ("assessments", "0004_backfill_assessment_cautions"),
    ]

    operations = [migrations.RunPython(create, drop)]
