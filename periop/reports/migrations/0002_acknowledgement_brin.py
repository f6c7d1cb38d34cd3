"""A PostgreSQL-only BRIN index on when acknowledgements were made.

Acknowledgements arrive in time order, like audit events and assessments (0001). The override
section bounds its join by `acknowledged_at`, and this index lets PostgreSQL skip the block
ranges before the period. SQLite has no BRIN, so the operation is skipped there.
"""

from django.db import migrations

NAME = "report_acknowledgement_at_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME} ON assessments_acknowledgement USING brin (acknowledged_at)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_postgresql_indexes")]

    operations = [migrations.RunPython(create, drop)]
