"""Load test driver: a scratch PostgreSQL database served by gunicorn on 127.0.0.1.

It seeds the database, serves it, runs `bench/locustfile.py` headless for a bounded time,
then prints p50, p95, p99 and errors per request type and overall, and drops the database.

    python bench/load_test.py [--server postgres://postgres@127.0.0.1:5432] [--seconds 60]
                              [--users 16] [--workers 3]

The database holds one department seeded by `seed_demo` (--patients, --assessments over three
months), so the report pages aggregate real volumes, and the assessment pages are those of a
random sample of its assessments (signed and drafts, over the whole period).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import Scratch, manage, scratch_database, server_environment, start_gunicorn

ROOT = Path(__file__).resolve().parents[1]
PORT = 8768

SETUP = """
import json, secrets
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from periop.accounts.models import ApiToken, Department, Membership, Role, api_token_digest

department = Department.objects.get(code="demo-1")
clinician = Membership.objects.filter(department=department, role=Role.ANESTHETIST).first().user
auditor = Membership.objects.filter(department=department, role=Role.AUDITOR).first().user
key = secrets.token_hex(20)
ApiToken.objects.create(user=clinician, prefix=key[:8], digest=api_token_digest(key))

def session(user):
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key

# Assessment pages: a random sample of the seeded assessments, signed and drafts, from the
# whole seeded period (seed_demo stores the snapshots a real assessment does, so their pages
# render as a clinician's own do).
import random
from django.db.models import Count, Max, Min, Q
from periop.assessments.models import Assessment

PAGES = 1_000
seeded = list(Assessment.objects.filter(department=department).values_list("id", flat=True))
ids = sorted(random.Random(2026).sample(seeded, min(PAGES, len(seeded))))
assert ids, "no seeded assessment for the load test's pages"
spread = Assessment.objects.filter(pk__in=ids).aggregate(
    first=Min("created_at"), last=Max("created_at"), signed=Count("id", filter=Q(status="signed"))
)
print("CREDENTIALS " + json.dumps({
    "token": key, "clinician_session": session(clinician), "auditor_session": session(auditor),
    "department": department.pk, "assessments": ids,
    "pages": (
        f"{len(ids):,} of the {len(seeded):,} seeded assessments ({spread['signed']:,} signed, "
        f"{len(ids) - spread['signed']:,} drafts), created {spread['first']:%Y-%m-%d} to "
        f"{spread['last']:%Y-%m-%d}"
    ),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--patients", type=int, default=2_000)
    parser.add_argument("--assessments", type=int, default=30_000)
    options = parser.parse_args()

    with scratch_database(options.server, "load") as scratch:
        _measure(options, scratch)


def _measure(options: argparse.Namespace, scratch: Scratch) -> None:
    environment = server_environment(scratch)
    server = None
    try:
        manage(environment, "migrate", "-v0")
        # Production settings serve hashed static files from a manifest: build it.
        manage(environment, "collectstatic", "--no-input", "-v0")
        manage(
            environment,
            "seed_demo",
            "--departments",
            "1",
            "--patients",
            str(options.patients),
            "--assessments",
            str(options.assessments),
            "--months",
            "3",
        )
        output = manage(environment, "shell", "-c", SETUP)
        credentials = output.split("CREDENTIALS ", 1)[1].strip()
        with tempfile.TemporaryDirectory() as folder:
            credentials_file = Path(folder) / "credentials.json"
            credentials_file.write_text(credentials, encoding="utf-8")
            server = start_gunicorn(environment, PORT, options.workers)
            prefix = Path(folder) / "locust"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "locust",
                    "-f",
                    str(ROOT / "bench" / "locustfile.py"),
                    "--headless",
                    "--host",
                    f"http://127.0.0.1:{PORT}",
                    "--users",
                    str(options.users),
                    "--spawn-rate",
                    str(options.users),
                    "--run-time",
                    f"{options.seconds}s",
                    "--stop-timeout",
                    "10",
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--loglevel",
                    "WARNING",
                ],
                cwd=ROOT,
                env={**environment, "PERIOP_LOAD_CREDENTIALS": str(credentials_file)},
                check=False,
                timeout=options.seconds + 120,
                stdout=subprocess.DEVNULL,
            )
            with open(f"{prefix}_stats.csv", encoding="utf-8") as file:
                rows = list(csv.DictReader(file))
            with open(f"{prefix}_failures.csv", encoding="utf-8") as file:
                failures = list(csv.DictReader(file))
        print(f"{options.users} users, {options.seconds} s, gunicorn {options.workers} workers")
        print(f"assessment pages: {json.loads(credentials)['pages']}")
        print(
            f"{'request':<34} {'count':>7} {'fail':>5} {'req/s':>7} "
            f"{'p50':>6} {'p95':>6} {'p99':>6}"
        )
        for row in rows:
            print(
                f"{row['Type'] + ' ' + row['Name']:<34.34} {row['Request Count']:>7} "
                f"{row['Failure Count']:>5} {float(row['Requests/s']):7.1f} "
                f"{row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
            )
        for failure in failures:
            print(f"failed {failure['Occurrences']} x {failure['Name']}: {failure['Error']}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
