"""HTTP benchmark: POST /api/v1/checks under gunicorn, against a trivial authenticated endpoint.

    python bench/http_bench.py [--server postgres://postgres@127.0.0.1:5432] [--seconds 20]

Creates a scratch PostgreSQL database, a pharmacist with an API token, starts gunicorn on
127.0.0.1, and drives it with wrk (Debian package `wrk`) at 32 connections: first
`GET /api/v1/me` (token authentication and one membership query: the baseline), then the
check endpoint with the contract's example patient. Prints requests/s, the ratio, and p50/p95/p99
latency. All traffic stays on 127.0.0.1 and each run is bounded in time.

Targets (issue "Knowledge base and caution engine"): ratio >= 0.8, p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 8765

BODY = {
    "at": "2026-11-22T08:00:00+00:00",
    "patient": {"age_years": 34, "weight_kg": 62},
    "conditions": [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        },
        {
            "code": "stroke",
            "onset": "2026-11-12T14:00:00+00:00",
            "attributes": {"motor_deficit": True},
        },
    ],
    "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
    "drugs": ["succinylcholine", "rocuronium", "sugammadex", "neostigmine", "gentamicin"],
}

LUA = """
wrk.method = "{method}"
wrk.headers["Authorization"] = "Token {token}"
wrk.headers["Content-Type"] = "application/json"
{body_line}
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def run_wrk(path: str, method: str, token: str, seconds: int, body: str | None) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body_line = f"wrk.body = {json.dumps(body)}" if body else ""
        script.write(LUA.format(method=method, token=token, body_line=body_line))
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c32",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            script.name,
            f"http://127.0.0.1:{PORT}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", output)
    assert match, output
    requests, duration, p50, p95, p99, errors = match.groups()
    return {
        "rps": int(requests) / (int(duration) / 1e6),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "errors": int(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    options = parser.parse_args()

    name = f"periop_bench_http_{os.getpid()}"
    subprocess.run(
        ["psql", f"{options.server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True
    )
    environment = {
        **os.environ,
        "DATABASE_URL": f"{options.server}/{name}",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-" + os.urandom(16).hex(),
        "AUDIT_HMAC_KEY": "benchmark-only-audit-key-" + os.urandom(16).hex(),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PERIOP_USER_PASSWORD": "benchmark-password-" + os.urandom(8).hex(),
    }
    server = None
    try:
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=environment, check=True)
        subprocess.run(
            [*manage, "create_department", "bench", "--name", "Bench"],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
        created = subprocess.run(
            [
                *manage,
                "create_user",
                "bench-pharmacy",
                "--role",
                "pharmacist",
                "--department",
                "bench",
                "--api-token",
                "--no-input",
            ],
            cwd=ROOT,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        token = created.split("API token (shown once): ")[1].strip()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "periop.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                str(options.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
        )
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        # Warm up both endpoints, then measure them one after the other in the same run.
        run_wrk("/api/v1/me", "GET", token, 3, None)
        run_wrk("/api/v1/checks", "POST", token, 3, json.dumps(BODY))
        baseline = run_wrk("/api/v1/me", "GET", token, options.seconds, None)
        checks = run_wrk("/api/v1/checks", "POST", token, options.seconds, json.dumps(BODY))
        for label, result in (
            ("GET /api/v1/me (baseline)", baseline),
            ("POST /api/v1/checks", checks),
        ):
            print(
                f"{label:<28} {result['rps']:8.1f} req/s  p50 {result['p50']:6.1f} ms  "
                f"p95 {result['p95']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                f"errors {result['errors']}"
            )
        print(f"throughput ratio checks/baseline: {checks['rps'] / baseline['rps']:.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        subprocess.run(
            ["psql", f"{options.server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
            check=False,
        )


if __name__ == "__main__":
    main()
