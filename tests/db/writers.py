"""Writer processes against this test's PostgreSQL database, as a server's workers would be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def start_writers(
    script: str, per_writer: int, writers: int = 8, **environment: str
) -> list[subprocess.Popen[bytes]]:
    """Starts `writers` processes of `script` (given the writer's number and `per_writer`) all
    at once against this test's database, with `environment` added. Their automatic
    checkpoints go to this test's checkpoint file, never to the working tree's."""
    environment = {
        "AUDIT_CHECKPOINT_FILE": str(django_settings.AUDIT_CHECKPOINT_FILE),
        **environment,
    }
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, str(number), str(per_writer)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url, **environment},
        )
        for number in range(writers)
    ]


def run_writers(script: str, per_writer: int, writers: int = 8, **environment: str) -> None:
    """`start_writers`, then waits for all of them to succeed."""
    processes = start_writers(script, per_writer, writers, **environment)
    assert [process.wait(timeout=600) for process in processes] == [0] * writers
