"""System checks: the ledger's append-only triggers must exist on the database in use, and
its checkpoints must be writable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

from periop.audit import guards


@register("database")
def audit_triggers_installed(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        try:
            executor = MigrationExecutor(connection)
            applied = ("audit", "0002_append_only_triggers") in executor.loader.applied_migrations
            if not applied:
                continue  # Not migrated yet: `migrate` installs them.
            missing = guards.expected_triggers(connection) - guards.installed_triggers(connection)
        except DatabaseError:
            continue
        if missing:
            errors.append(
                Error(
                    "The audit ledger's append-only triggers are missing: "
                    f"{', '.join(sorted(missing))}.",
                    hint="Re-create them (periop.audit.guards.install); the ledger is unprotected.",
                    id="audit.E001",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def audit_checkpoint_file_writable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ledger's checkpoints can be written: without them deleting the newest events goes
    unnoticed, and the regular checkpoint job would fail only when it first runs."""
    directory = Path(settings.AUDIT_CHECKPOINT_FILE).parent
    if directory.is_dir() and os.access(directory, os.W_OK | os.X_OK):
        return []
    return [
        Warning(
            f"The audit checkpoint file's directory {directory} does not exist or cannot be "
            "written.",
            hint="Set AUDIT_CHECKPOINT_FILE to a file in a writable directory; see the README, "
            '"Anchoring the ledger outside the database".',
            id="audit.W002",
        )
    ]


# Placeholders people paste into configuration; none of them is a secret.
_PLACEHOLDER_KEYS = {"changeme", "change-me", "secret", "audit-key", "development", "test"}


@register(Tags.security, deploy=True)
def audit_hmac_key_strong(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ledger's HMAC key is long and not a published or placeholder value: whoever knows
    the key can rewrite the ledger and recompute its chain undetected."""
    key = str(settings.AUDIT_HMAC_KEY)
    minimum = int(settings.AUDIT_HMAC_KEY_MIN_LENGTH)
    if key == settings.DEVELOPMENT_AUDIT_HMAC_KEY or key.strip().lower() in _PLACEHOLDER_KEYS:
        problem = "is the published development key or a placeholder"
    elif len(key) < minimum:
        problem = f"is shorter than {minimum} characters"
    else:
        return []
    return [
        Error(
            f"AUDIT_HMAC_KEY {problem}: anyone who knows or guesses it can rewrite the audit "
            "ledger and recompute its chain.",
            hint=f"Set AUDIT_HMAC_KEY (or AUDIT_HMAC_KEY_FILE) to at least {minimum} random "
            "characters, for example from `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`, kept outside the database.",
            id="audit.E002",
        )
    ]
