"""Makes signed assessments immutable in the database (SQLite and PostgreSQL triggers).

SQLite rebuilds a table on many ALTERs and its triggers vanish with the old table: any later
migration that alters assessments_assessment must call `guards.install` again (the system
check assessments.E001 fails if it does not).
"""

from django.db import migrations


def install_guards(apps, schema_editor):
    from periop.assessments import guards

    # Only the signed-assessment guard: the guards of later tables come with their migrations.
    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        guards.GUARD.install(schema_editor.connection)


def remove_guards(apps, schema_editor):
    from periop.assessments import guards

    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        guards.GUARD.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(install_guards, remove_guards)]
