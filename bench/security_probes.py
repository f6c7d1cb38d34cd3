# ruff: noqa: S608  (the SQL below is the probe itself; its only values are integer ids)
"""The security review's probes, run again against a production-like server.

    python bench/security_probes.py [--server postgres://postgres@127.0.0.1:5432]
                                    [--schemathesis-seconds 300]

Creates a scratch PostgreSQL database with two departments (A in London, B in New York), their
users and API tokens, starts gunicorn on 127.0.0.1 with production settings (DEBUG off, real
keys; plain HTTP on the loopback), and repeats the probes of the review whose findings were
fixed: crafted input (F8, F10, F11; on the CDS Hooks service too), department isolation (F5,
F6, F14, F16), concurrency (8 writers x 200 checks; 8 simultaneous receptor-state records,
F12), and tampering with the ledger and with signed records as the database superuser (F2,
F3, F4, F19), each case on a fresh copy of the database. With `--schemathesis-seconds` above
0 it also runs the review's schemathesis command for that long. Prints one line per case
(expected, observed, verdict) and the totals; exits 1 if any case failed. All traffic stays on
127.0.0.1.

The database-fault cases (server killed, backend killed, read-only, disk full) are in the test
suite: tests/db/test_database_fault_injection.py and tests/api/test_database_faults.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cds_hooks_bench import hook_body
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from scratch import start_gunicorn

ROOT = Path(__file__).resolve().parents[1]
PORT = 8767
BASE = f"http://127.0.0.1:{PORT}"
CDS_ISSUER = "https://probe-ehr.example/"
CDS_SERVICE = "/cds-services/periop-nmj"
PASSWORD = "probe-password-" + os.urandom(6).hex()

CHECK = {
    "at": "2026-11-22T08:00:00+00:00",
    "patient": {"age_years": 34, "weight_kg": 62},
    "conditions": [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        }
    ],
    "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
    "drugs": ["succinylcholine", "rocuronium", "sugammadex"],
}


@dataclass
class Results:
    rows: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def case(self, name: str, expected: str, observed: Any, ok: bool) -> None:
        self.rows.append((name, expected, str(observed), ok))
        verdict = "pass" if ok else "FAIL"
        print(f"  {verdict:<4}  {name}: expected {expected}; observed {observed}", flush=True)


class Server:
    """The scratch database, its users and the gunicorn serving it."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"periop_probe_{os.getpid()}"
        # The run's own files (checkpoints, the CDS client's public key, the API schema), in a
        # directory only this user can read, removed with the databases.
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.environment = {
            **os.environ,
            "DATABASE_URL": f"{server_url}/{self.name}",
            "DB_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": "probe-only-secret-key-" + os.urandom(16).hex(),
            "AUDIT_HMAC_KEY": "probe-only-audit-key-" + os.urandom(16).hex(),
            "AUDIT_CHECKPOINT_FILE": str(self.scratch / "checkpoints.jsonl"),
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PERIOP_USER_PASSWORD": PASSWORD,
        }
        self.tokens: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        # The CDS Hooks client registered in A; its key signs each call's token.
        self.cds_key = ec.generate_private_key(ec.SECP384R1())

    def psql(self, sql: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["psql", f"{self.server_url}/{database or 'postgres'}", "-qAtc", sql],
            capture_output=True,
            text=True,
            check=False,
        )

    def manage(self, *arguments: str, database: str | None = None) -> str:
        return self.manage_status(*arguments, database=database)[1]

    def manage_status(self, *arguments: str, database: str | None = None) -> tuple[int, str]:
        environment = dict(self.environment)
        if database:
            environment["DATABASE_URL"] = f"{self.server_url}/{database}"
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode, result.stdout + result.stderr

    def create(self) -> None:
        self.psql(f"CREATE DATABASE {self.name}")
        self.manage("migrate", "-v0")
        # As a deployment does (the README): the pages need the collected, hashed static files.
        self.manage("collectstatic", "--noinput", "-v0")
        self.manage("create_department", "dept-a", "--name", "A", "--time-zone", "Europe/London")
        self.manage("create_department", "dept-b", "--name", "B", "--time-zone", "America/New_York")
        for department in ("a", "b"):
            for role, short in (
                ("anesthetist", "anest"),
                ("pharmacist", "pharm"),
                ("auditor", "audit"),
            ):
                username = f"{department}-{short}"
                output = self.manage(
                    "create_user",
                    username,
                    "--role",
                    role,
                    "--department",
                    f"dept-{department}",
                    "--api-token",
                    "--no-input",
                )
                self.tokens[username] = output.split("API token (shown once): ")[1].split()[0]
        pem = self.scratch / "cds-client.pem"
        pem.write_bytes(
            self.cds_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.manage(
            "cds_client", "add", CDS_ISSUER, "--public-key", str(pem), "--department", "dept-a"
        )
        pem.unlink()
        # `multi`: an anaesthetist in A and a pharmacist in B (the review's F5 user).
        output = self.manage(
            "create_user",
            "multi",
            "--role",
            "anesthetist",
            "--department",
            "dept-a",
            "--api-token",
            "--no-input",
        )
        self.tokens["multi"] = output.split("API token (shown once): ")[1].split()[0]
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model\n"
            "from periop.accounts.models import Department\n"
            "from periop.accounts.services import membership_grant\n"
            "membership_grant(actor='command:probe', "
            "user=get_user_model().objects.get(username='multi'), "
            "department=Department.objects.get(code='dept-b'), role='pharmacist')",
        )

    def start(self, database: str | None = None) -> None:
        environment = dict(self.environment)
        if database:
            environment["DATABASE_URL"] = f"{self.server_url}/{database}"
        self.process = start_gunicorn(environment, PORT, 3)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def drop(self) -> None:
        self.stop()
        for database in self.psql(
            f"SELECT datname FROM pg_database WHERE datname LIKE '{self.name}%'"
        ).stdout.split():
            self.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        shutil.rmtree(self.scratch, ignore_errors=True)


def api(token: str) -> httpx.Client:
    return httpx.Client(base_url=BASE, headers={"Authorization": f"Token {token}"}, timeout=30.0)


class Browser:
    """A session over plain HTTP on the loopback. Django marks its cookies Secure when DEBUG
    is off; like the review's client, this one sends them back anyway."""

    def __init__(self) -> None:
        self.client = httpx.Client(base_url=BASE, timeout=30.0, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            data = {**(data or {}), "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = BASE + path
        response = self.client.request(method, path, data=data, headers=headers)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response

    def login(self, username: str) -> None:
        self.request("GET", "/login")
        response = self.request("POST", "/login", {"username": username, "password": PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"login of {username} failed: {response.status_code}")


def new_patient(client: httpx.Client, mrn: str) -> int:
    response = client.post(
        "/api/v1/patients", json={"mrn": mrn, "name": "Probe Patient", "birth_date": "1970-01-01"}
    )
    response.raise_for_status()
    return int(response.json()["id"])


# --- probe 3: crafted input ---------------------------------------------------------------------


def cds_token(server: Server) -> str:
    """A fresh ES384 token of the probe's CDS client for the service (a `jti` is used once)."""
    now = int(time.time())
    return jwt.encode(
        {
            "iss": CDS_ISSUER,
            "aud": f"{BASE}{CDS_SERVICE}",
            "iat": now,
            "exp": now + 300,
            "jti": os.urandom(16).hex(),
        },
        server.cds_key,
        algorithm="ES384",
        headers={"kid": "probe-1", "typ": "JWT"},
    )


def probe_crafted_input(server: Server, results: Results) -> None:
    print("Crafted input (F8, F10, F11)")
    client = api(server.tokens["a-anest"])
    pharmacy = api(server.tokens["a-pharm"])
    audit = api(server.tokens["a-audit"])
    patient = new_patient(client, "A-CRAFT-1")

    def post_raw(path: str, body: bytes, who: httpx.Client = pharmacy) -> httpx.Response:
        return who.post(path, content=body, headers={"Content-Type": "application/json"})

    for megabytes in (10, 50):
        body = json.dumps({**CHECK, "padding": "x" * (megabytes << 20)}).encode()
        started = time.perf_counter()
        response = post_raw("/api/v1/checks", body)
        seconds = time.perf_counter() - started
        results.case(
            f"{megabytes} MB body, POST /checks",
            "413 without parsing",
            f"{response.status_code} in {seconds:.2f} s",
            response.status_code == 413,
        )
    value = "v" * 200_000
    body = json.dumps(
        {**CHECK, "conditions": [{**CHECK["conditions"][0], "attributes": {"antibody": value}}]}
    ).encode()
    response = post_raw("/api/v1/checks", body)
    results.case(
        "200 kB attribute value",
        "400 quoting at most 100 characters",
        f"{response.status_code}, {len(response.content)} bytes",
        response.status_code == 400 and len(response.content) < 2_000,
    )
    deep = b"[" * 1000 + b"]" * 1000
    for label, body in (
        ("JSON nested 1,000 deep", deep),
        ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000),
        (
            "JSON nested 1,000 deep in attributes",
            json.dumps(CHECK).replace('"achr"', deep.decode()).encode(),
        ),
    ):
        response = post_raw("/api/v1/checks", body)
        results.case(label, "400", response.status_code, response.status_code == 400)
    surrogate = json.dumps(CHECK).replace('"achr"', '"\\ud800"').encode()
    response = post_raw("/api/v1/checks", surrogate)
    results.case(
        "lone surrogate in an attribute value",
        "400",
        response.status_code,
        response.status_code == 400,
    )
    response = pharmacy.post(
        "/api/v1/checks",
        content=json.dumps(CHECK).encode(),
        headers={"Content-Type": "application/json; charset=zlib"},
    )
    results.case(
        "charset=zlib (a codec, no text encoding)",
        "400",
        response.status_code,
        response.status_code == 400,
    )
    # The CDS Hooks endpoints read their bodies themselves: the same rules must hold.
    hook = json.dumps(hook_body())
    for label, text in (
        (
            "CDS Hooks: lone surrogate in a draft order's text",
            hook.replace('"text": "rocuronium"', '"text": "\\ud800"'),
        ),
        (
            "CDS Hooks: JSON nested 5,000 deep in prefetch",
            hook.replace('"bodyWeight": null', '"bodyWeight": ' + "[" * 5000 + "]" * 5000),
        ),
    ):
        assert text != hook, label
        response = httpx.post(
            f"{BASE}{CDS_SERVICE}",
            content=text.encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {cds_token(server)}",
            },
            timeout=30,
        )
        results.case(label, "400", response.status_code, response.status_code == 400)
    stored = json.dumps(
        {"code": "myasthenia-gravis", "onset": "2024-05-01", "attributes": {"x\ud800": 1}},
        ensure_ascii=True,
    ).encode()
    response = post_raw(f"/api/v1/patients/{patient}/conditions", stored, who=client)
    results.case(
        "lone surrogate in a stored condition's attribute key",
        "400",
        response.status_code,
        response.status_code == 400,
    )
    for label, path in (
        ("/audit/events?patient=10^23", "/api/v1/audit/events?patient=" + "1" * 24),
        ("/audit/events?department=10^23", "/api/v1/audit/events?department=" + "1" * 24),
    ):
        response = audit.get(path)
        results.case(label, "400", response.status_code, response.status_code == 400)
    # `user` is a username: a non-ASCII digit is a name that matches nobody.
    response = audit.get("/api/v1/audit/events?user=%C2%B2")
    results.case(
        "/audit/events?user=² (non-ASCII digit)",
        "400, or 200 with no match",
        f"{response.status_code}, {response.json().get('count', '-')} events",
        response.status_code == 400
        or (response.status_code == 200 and response.json().get("count") == 0),
    )
    response = pharmacy.post(
        "/api/v1/checks", json={**CHECK, "patient": {"age_years": 34, "weight_kg": 2**64}}
    )
    results.case("weight 2^64", "400", response.status_code, response.status_code == 400)
    response = client.get("/api/v1/patients/%C2%B2")
    results.case("patient id ²", "404", response.status_code, response.status_code == 404)

    browser = Browser()
    browser.login("b-anest")  # New York: 9999-12-31 once overflowed there
    for year in ("0001", "9999"):
        response = browser.request(
            "POST",
            "/patients/new",
            {
                "mrn": f"B-YEAR-{year}",
                "name": "Year Probe",
                "birth_date": f"{year}-12-31",
                "sex": "unknown",
            },
        )
        results.case(
            f"web form, birth date in year {year} (New York)",
            "400 with the form error",
            response.status_code,
            response.status_code == 400
            and "Enter a date between the years 1900 and 2200." in response.text,
        )


# --- probe 1c: department isolation -------------------------------------------------------------


def probe_isolation(server: Server, results: Results) -> None:
    print("Department isolation (F5, F6, F14, F16)")
    a_anest, b_anest = api(server.tokens["a-anest"]), api(server.tokens["b-anest"])
    multi = api(server.tokens["multi"])
    b_patient = new_patient(b_anest, "B-ISO-1")
    department_ids = {
        code: int(row)
        for code, row in (
            line.split("|")
            for line in server.psql(
                "SELECT code, id FROM accounts_department", server.name
            ).stdout.split()
        )
    }
    response = multi.post(
        "/api/v1/assessments",
        json={
            "patient": b_patient,
            "department": department_ids["dept-a"],
            "planned_at": "2027-01-05T08:00:00+00:00",
            "procedure": "Probe",
            "weight_kg": "70",
            "drugs": ["rocuronium"],
        },
    )
    results.case(
        "F5: an A anaesthetist who is a B pharmacist files a B patient's assessment in A",
        "400 or 403 or 404, nothing filed",
        response.status_code,
        response.status_code in (400, 403, 404),
    )
    taken = a_anest.post(
        "/api/v1/patients",
        json={"mrn": "B-ISO-1", "name": "Someone Else", "birth_date": "1980-02-02"},
    )
    fresh = a_anest.post(
        "/api/v1/patients",
        json={"mrn": "A-ISO-NEW", "name": "Someone Else", "birth_date": "1980-02-02"},
    )
    results.case(
        "F14: registering in A an MRN that exists in B",
        "the same answer as a new MRN",
        f"{taken.status_code} vs {fresh.status_code}",
        taken.status_code == fresh.status_code == 201,
    )
    b_anest.get("/api/v1/patients?q=Probe")
    events = api(server.tokens["a-audit"]).get("/api/v1/audit/events?page_size=100").json()
    leaked = [
        event
        for event in events.get("results", [])
        if event.get("actor_username", event.get("actor")) == "b-anest"
    ]
    results.case(
        "F6: B's patient search in A's audit events",
        "absent",
        f"{len(leaked)} of B's events",
        not leaked,
    )
    browser = Browser()
    browser.login("a-audit")
    response = browser.request("GET", "/patients/")
    a_patient = new_patient(a_anest, "A-ISO-2")
    response = browser.request(
        "POST",
        f"/patients/{a_patient}/assessments/preview",
        {"planned_at_date": "2027-01-05", "weight_kg": "70", "drugs": "rocuronium"},
    )
    results.case(
        "F16: an auditor runs a check through the web preview",
        "403",
        response.status_code,
        response.status_code == 403,
    )


# --- probe 4: concurrency -----------------------------------------------------------------------


def in_threads(count: int, work: Callable[[int], None]) -> None:
    start = threading.Barrier(count)

    def run(number: int) -> None:
        start.wait(timeout=60)
        work(number)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)


def probe_concurrency(server: Server, results: Results) -> None:
    print("Concurrency (PostgreSQL)")
    events_before = int(server.psql("SELECT count(*) FROM audit_auditevent", server.name).stdout)
    statuses: Counter[int] = Counter()
    request_ids: set[str] = set()
    lock = threading.Lock()

    def checks(_: int) -> None:
        with api(server.tokens["a-pharm"]) as client:
            for _ in range(200):
                response = client.post("/api/v1/checks", json=CHECK)
                with lock:
                    statuses[response.status_code] += 1
                    request_ids.add(response.headers.get("X-Request-ID", ""))

    started = time.perf_counter()
    in_threads(8, checks)
    seconds = time.perf_counter() - started
    added = (
        int(server.psql("SELECT count(*) FROM audit_auditevent", server.name).stdout)
        - events_before
    )
    results.case(
        "8 writers x 200 checks",
        "1,600 x 200, 1,600 events added",
        f"{dict(statuses)} in {seconds:.1f} s, {added} events added",
        statuses == Counter({200: 1600}) and added == 1600,
    )
    verify = api(server.tokens["a-audit"]).get("/api/v1/audit/verify").json()
    results.case("chain after the writers", "intact", verify.get("ok"), verify.get("ok") is True)

    patient = new_patient(api(server.tokens["a-anest"]), "A-CONC-1")
    receptor: Counter[int] = Counter()

    def record(number: int) -> None:
        with api(server.tokens["a-anest"]) as client:
            response = client.post(
                f"/api/v1/patients/{patient}/receptor-state",
                json={"value": "up", "reason": f"Probe {number}."},
            )
            with lock:
                receptor[response.status_code] += 1

    in_threads(8, record)
    results.case(
        "F12: 8 simultaneous receptor-state records",
        "no 5xx",
        dict(receptor),
        not any(status >= 500 for status in receptor),
    )


# --- probe 6: tampering as the database superuser -------------------------------------------------


def signed_assessment_with_override(server: Server) -> int:
    client = api(server.tokens["a-anest"])
    patient = new_patient(client, "A-TAMPER-1")
    client.post(
        f"/api/v1/patients/{patient}/conditions",
        json={"code": "myasthenia-gravis", "onset": "2020-01-01"},
    ).raise_for_status()
    created = client.post(
        "/api/v1/assessments",
        json={
            "patient": patient,
            "planned_at": "2027-01-05T08:00:00+00:00",
            "procedure": "Thymectomy",
            "weight_kg": "70",
            "drugs": ["gentamicin", "rocuronium"],
        },
    )
    created.raise_for_status()
    assessment = created.json()
    for drug in assessment["pending_acknowledgements"]:
        client.post(
            f"/api/v1/assessments/{assessment['id']}/acknowledgements",
            json={
                "drug": drug,
                "decision": "overridden",
                "reason_code": "no-alternative",
                "comment": "Probe override.",
            },
        ).raise_for_status()
    client.post(f"/api/v1/assessments/{assessment['id']}/sign", json={}).raise_for_status()
    return int(assessment["id"])


@contextmanager
def copy_of(server: Server, template: str, case: str) -> Iterator[str]:
    name = f"{server.name}_{case}"
    server.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield name
    finally:
        server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def probe_tampering(server: Server, results: Results) -> None:
    print("Tampering as the database superuser (F2, F3, F4, F19)")
    assessment = signed_assessment_with_override(server)
    server.manage("audit_checkpoint")
    server.stop()
    template = f"{server.name}_base"
    server.psql(f"CREATE DATABASE {template} TEMPLATE {server.name}")
    last = int(server.psql("SELECT max(sequence) FROM audit_auditevent", template).stdout)

    exit_codes: dict[str, int] = {}

    def verify(database: str, *extra: str) -> str:
        status, output = server.manage_status("verify_audit_chain", *extra, database=database)
        exit_codes[output] = status
        return output

    def intact(output: str) -> bool:
        return exit_codes[output] == 0

    with copy_of(server, template, "t0") as database:
        output = verify(database, "--records")
        results.case("T0 untouched", "intact", output.strip().splitlines()[0], intact(output))
    with copy_of(server, template, "t6") as database:
        server.psql(
            "SET session_replication_role = replica;"
            f"DELETE FROM audit_auditevent WHERE sequence > {last - 3};"
            "UPDATE audit_auditchainhead SET sequence = s.sequence, hash = s.hash FROM "
            f"(SELECT sequence, hash FROM audit_auditevent WHERE sequence = {last - 3}) s",
            database,
        )
        output = verify(database)
        results.case(
            "T6 delete the newest 3 events and rewind the head",
            "detected",
            output.strip().splitlines()[-1][:120],
            not intact(output),
        )
    with copy_of(server, template, "t7") as database:
        server.psql(
            "SET session_replication_role = replica; DELETE FROM audit_auditevent;"
            "UPDATE audit_auditchainhead SET sequence = 0, hash = repeat('0', 64)",
            database,
        )
        output = verify(database)
        results.case(
            "T7 wipe the ledger and reset the head",
            "detected",
            output.strip().splitlines()[-1][:120],
            not intact(output),
        )
    with copy_of(server, template, "t12") as database:
        server.psql(
            "SET session_replication_role = replica; UPDATE audit_auditevent "
            "SET resource_id = 'x' WHERE sequence IN (5, 15)",
            database,
        )
        output = verify(database)
        named = sorted(set(re.findall(r"Event (\d+) was altered", output)))
        results.case(
            "T12 alter two events",
            "both named",
            f"events {', '.join(named) or 'none'} named",
            named == ["15", "5"],
        )
    for case, label, sql in (
        (
            "s8",
            "S8 rewrite the signed record's override (app's own rights)",
            "UPDATE assessments_acknowledgement SET decision = 'accepted', reason_code = '', "
            f"comment = 'rewritten' WHERE assessment_id = {assessment}",
        ),
        (
            "s9",
            "S9 delete the signed record's override (app's own rights)",
            f"DELETE FROM assessments_acknowledgement WHERE assessment_id = {assessment}",
        ),
        (
            "s11",
            "S11 rewrite the report rows of a signed record (app's own rights)",
            f"UPDATE assessments_assessmentcaution SET level = 'none' "
            f"WHERE assessment_id = {assessment}",
        ),
    ):
        with copy_of(server, template, case) as database:
            outcome = server.psql(sql, database)
            blocked = outcome.returncode != 0 or "ERROR" in outcome.stderr
            results.case(
                label,
                "refused by a trigger",
                (outcome.stderr.strip().splitlines() or ["accepted"])[0][:100],
                blocked,
            )
    for case, label, sql in (
        (
            "s5",
            "S5 superuser, triggers off: highest level and cautions lowered",
            "SET session_replication_role = replica; UPDATE assessments_assessment "
            f"SET highest_level = 'none' WHERE id = {assessment}; "
            f"UPDATE assessments_assessmentcaution SET level = 'none' "
            f"WHERE assessment_id = {assessment}",
        ),
        (
            "s6",
            "S6 superuser, triggers off: procedure changed",
            "SET session_replication_role = replica; UPDATE assessments_assessment "
            f"SET procedure = 'owner changed' WHERE id = {assessment}",
        ),
        (
            "s8r",
            "S8 superuser, triggers off: override rewritten",
            "SET session_replication_role = replica; UPDATE assessments_acknowledgement "
            "SET decision = 'accepted', reason_code = '', comment = 'rewritten' "
            f"WHERE assessment_id = {assessment}",
        ),
        (
            "s9r",
            "S9 superuser, triggers off: override deleted",
            "SET session_replication_role = replica; DELETE FROM assessments_acknowledgement "
            f"WHERE assessment_id = {assessment}",
        ),
        (
            "s7",
            "S7 superuser, triggers off: signed record set back to draft",
            "SET session_replication_role = replica; UPDATE assessments_assessment "
            f"SET status = 'draft' WHERE id = {assessment}",
        ),
    ):
        with copy_of(server, template, case) as database:
            server.psql(sql, database)
            output = verify(database, "--records")
            results.case(
                label,
                f"verify --records names assessment {assessment}",
                "named" if f"ssessment {assessment}" in output else output.strip()[-100:],
                not intact(output) and f"ssessment {assessment}" in output,
            )
    server.psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")


# --- probe 3a: schemathesis ---------------------------------------------------------------------


def probe_schemathesis(server: Server, results: Results, seconds: int) -> None:
    print(f"Schemathesis ({seconds} s)")
    schema = subprocess.run(
        [
            "curl",
            "-s",
            "-H",
            f"Authorization: Token {server.tokens['a-anest']}",
            f"{BASE}/api/v1/schema/?format=json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = server.scratch / "schema.json"
    path.write_text(schema)
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(path),
            "--url",
            BASE,
            "-H",
            f"Authorization: Token {server.tokens['a-anest']}",
            "--max-examples",
            "50",
            "--workers",
            "2",
            "--checks",
            "not_a_server_error",
            "--seed",
            "1234",
            "--max-time",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
    )
    path.unlink(missing_ok=True)
    tail = "\n".join(output.stdout.strip().splitlines()[-6:])
    print(tail)
    results.case(
        "schemathesis, no server error",
        "0 x 5xx",
        f"exit {output.returncode}",
        output.returncode == 0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--schemathesis-seconds", type=int, default=0)
    options = parser.parse_args()

    server = Server(options.server)
    results = Results()
    try:
        server.create()
        server.start()
        probe_crafted_input(server, results)
        probe_isolation(server, results)
        probe_concurrency(server, results)
        if options.schemathesis_seconds > 0:
            probe_schemathesis(server, results, options.schemathesis_seconds)
        probe_tampering(server, results)
    finally:
        server.drop()
    passed = sum(ok for *_, ok in results.rows)
    print(f"\n{passed} of {len(results.rows)} probe cases passed.")
    sys.exit(0 if passed == len(results.rows) else 1)


if __name__ == "__main__":
    main()
