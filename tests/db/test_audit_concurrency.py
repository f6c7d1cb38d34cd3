"""Concurrent writers on PostgreSQL: 8 processes x 500 events give one gapless chain."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from periop.audit.models import AuditEvent
from periop.audit.verification import audit_chain_verify

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "periop.settings"
django.setup()
from django.db import transaction
from periop.audit.services import Actor, audit_event_append
writer = sys.argv[1]
for number in range(int(sys.argv[2])):
    with transaction.atomic():
        audit_event_append(actor=Actor.system(f"writer-{writer}"), action="read",
                           resource_type="patient", resource_id=f"{writer}-{number}")
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_eight_concurrent_writers_produce_one_gapless_chain(audit_guard_lifted, transactional_db):
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    environment = {**os.environ, "DATABASE_URL": url}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(number), "500"], cwd=ROOT, env=environment
        )
        for number in range(8)
    ]
    assert [writer.wait(timeout=600) for writer in writers] == [0] * 8

    sequences = list(AuditEvent.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 4001))
    assert audit_chain_verify().ok
