from django.db import migrations, models


def install_guards(apps, schema_editor):
    from periop.drugs import review_guards

    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        for guard in review_guards.TUNING_GUARDS:
            guard.install(schema_editor.connection)


def remove_guards(apps, schema_editor):
    from periop.drugs import review_guards

    if schema_editor.connection.vendor in {"sqlite", "postgresql"}:
        for guard in review_guards.TUNING_GUARDS:
            guard.remove(schema_editor.connection)


class Migration(migrations.Migration):
    """A reviewer's comment with each tuning sign-off. SQLite rebuilds the table to add the
    column, which would drop its guards and trip them on the copy: they are lifted for the
    change and put back after it."""

    dependencies = [
        ("drugs", "0003_local_tunings"),
    ]

    operations = [
        migrations.RunPython(remove_guards, install_guards),
        migrations.AddField(
            model_name="tuningsignoff",
            name="comment",
            field=models.TextField(blank=True, default="", help_text="The reviewer's comment."),
        ),
        migrations.RunPython(install_guards, remove_guards),
    ]
