"""PostgreSQL-only: the finding rows' (department, created_at) index carries the columns the
rules section reads, so counting a department's month of findings is an index-only scan (as
`0003` does for the caution and condition-code rows; `id` too, which the section counts).
SQLite keeps the plain index."""

from django.db import migrations

NAME = "finding_dept_created"
TABLE = "assessments_assessmentfinding"
COLUMNS = "id, assessment_id, rule, level, locally_tuned"


def _replace(schema_editor, include):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}_next")
    schema_editor.execute(
        f"CREATE INDEX {NAME}_next ON {TABLE} (department_id, created_at){include}"
    )
    schema_editor.execute(f"DROP INDEX {NAME}")
    schema_editor.execute(f"ALTER INDEX {NAME}_next RENAME TO {NAME}")


def cover(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, f" INCLUDE ({COLUMNS})")


def uncover(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _replace(schema_editor, "")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_postgresql_covering_indexes"),
        ("assessments", "0012_assessment_findings"),
    ]

    operations = [migrations.RunPython(cover, uncover)]
