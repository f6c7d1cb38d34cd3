"""Moves the plain-text keys of DRF's token table into hashed API tokens, then deletes them.

The old `authtoken_token` table exists only in databases created while DRF's token app was
installed; elsewhere this does nothing. The keys keep working: a client presents the same key,
and its digest now matches.
"""

import datetime as dt
import hashlib
from typing import Any

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

DRF_TOKEN_TABLE = "authtoken_token"


def hash_drf_tokens(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if DRF_TOKEN_TABLE not in connection.introspection.table_names():
        return
    api_token = apps.get_model("accounts", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TOKEN_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            token = api_token.objects.create(
                user_id=user_id, prefix=key[:8], digest=hashlib.sha256(key.encode()).hexdigest()
            )
            # Keep the issue date (auto_now_add set it to now). SQLite returns it as naive text.
            if isinstance(created, str):
                created = parse_datetime(created)
            if created is not None and timezone.is_naive(created):
                created = timezone.make_aware(created, dt.UTC)
            api_token.objects.filter(pk=token.pk).update(created_at=created)
        # No plain-text credential stays behind.
        cursor.execute(f"DELETE FROM {DRF_TOKEN_TABLE}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_apitoken")]

    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop, elidable=False)]
