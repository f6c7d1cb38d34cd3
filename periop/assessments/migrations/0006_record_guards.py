"""Makes the rows a signed record rests on immutable in the database (SQLite and PostgreSQL):
the decisions and report rows of a signed assessment, and replaced or removed condition
versions. `guards.install` installs every guard of the app, idempotently."""

from django.db import migrations


def install_guards(apps, schema_editor):
    from periop.assessments import guards

    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        guards.install(schema_editor.connection)


def remove_record_guards(apps, schema_editor):
    from periop.assessments.record_guards import GUARDS

    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        for guard in GUARDS:
            guard.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0005_plan_decisions")]

    operations = [migrations.RunPython(install_guards, remove_record_guards)]
