"""Makes the ledger append-only in the database and creates the chain head.

SQLite rebuilds a table on many ALTERs and its triggers vanish with the old table: any later
migration that alters audit_auditevent must call `guards.install` again (the system check
audit.E001 fails if it does not).
"""

from django.db import migrations


def install_guards(apps, schema_editor):
    from periop.audit import guards

    guards.install(schema_editor.connection)


def remove_guards(apps, schema_editor):
    from periop.audit import guards

    guards.remove(schema_editor.connection)


def create_head(apps, schema_editor):
    head_model = apps.get_model("audit", "AuditChainHead")
    head_model.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(install_guards, remove_guards),
        migrations.RunPython(create_head, migrations.RunPython.noop),
    ]
