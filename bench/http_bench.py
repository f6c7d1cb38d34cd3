"""HTTP benchmark: POST /api/v1/checks under gunicorn, against a trivial authenticated endpoint.

    python bench/http_bench.py [--server postgres://postgres@127.0.0.1:5432] [--seconds 20]

Creates a scratch PostgreSQL database, a pharmacist with an API token, starts gunicorn on
127.0.0.1 with the benchmark-only endpoints on (`PERIOP_BENCH_ENDPOINTS`), and drives it with
wrk (Debian package `wrk`) at 32 connections, then at 4: `GET /api/v1/me` (token
authentication and one membership query), `POST /api/v1/bench/audited` (the same
authentication and role query, the same JSON body parsed, and one audit append with the same
commit: the audited baseline), and the check endpoint with the contract's example patient,
in full and with `?view=summary` (`--no-summary` for a server without it). Prints
requests/s, the ratios, and p50/p95/p99 latency; and, for the ratio to the audited baseline,
the median, lowest and highest of each round's (the check's slice and the baseline's ran back
to back, so a change in the machine's speed during the run moves them least). All traffic
stays on 127.0.0.1 and each run is bounded in time.

Targets (issue 15), in one run: checks >= 0.9 x the audited baseline and >= 0.7 x
`GET /api/v1/me` in requests/s; p50 at 4 connections <= 1.2 x the audited baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import (
    Scratch,
    bench_pharmacist,
    scratch_database,
    server_environment,
    start_gunicorn,
)

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


def run_wrk(
    path: str, method: str, token: str, seconds: int, body: str | None, connections: int = 32
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        body_line = f"wrk.body = {json.dumps(body)}" if body else ""
        script.write(LUA.format(method=method, token=token, body_line=body_line))
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
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
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved slices per endpoint (default 5)"
    )
    parser.add_argument("--no-summary", action="store_true", help="skip ?view=summary")
    options = parser.parse_args()

    with scratch_database(options.server, "http") as scratch:
        _measure(options, scratch)


def _measure(options: argparse.Namespace, scratch: Scratch) -> None:
    environment = server_environment(
        scratch,
        PERIOP_USER_PASSWORD="benchmark-password-" + os.urandom(8).hex(),
        PERIOP_BENCH_ENDPOINTS="true",
    )
    server = None
    try:
        token = bench_pharmacist(environment)
        server = start_gunicorn(environment, PORT, options.workers)
        body = json.dumps(BODY)
        endpoints = [
            ("GET /api/v1/me", "/api/v1/me", "GET", None),
            ("POST /api/v1/bench/audited", "/api/v1/bench/audited", "POST", body),
            ("POST /api/v1/checks", "/api/v1/checks", "POST", body),
        ]
        if not options.no_summary:
            endpoints.append(
                ("POST /api/v1/checks?view=summary", "/api/v1/checks?view=summary", "POST", body)
            )
        # Warm every endpoint up, then measure them one after the other in the same run.
        for _, path, method, payload in endpoints:
            run_wrk(path, method, token, 3, payload)
        # Interleaved: every endpoint runs `--rounds` short slices in turn, so load from
        # elsewhere on the machine falls on all of them alike. Requests/s is the total over
        # the slices; the latency percentiles are the medians of the slices'.
        results: dict[tuple[str, int], dict[str, float]] = {}
        by_connections: dict[int, dict[str, list[dict[str, float]]]] = {}
        slice_seconds = max(1, options.seconds // options.rounds)
        for connections in (32, 4):
            slices: dict[str, list[dict[str, float]]] = {label: [] for label, *_ in endpoints}
            for _ in range(options.rounds):
                for label, path, method, payload in endpoints:
                    slices[label].append(
                        run_wrk(path, method, token, slice_seconds, payload, connections)
                    )
            for label, runs in slices.items():
                result = {
                    "rps": sum(run["rps"] for run in runs) / len(runs),
                    "p50": statistics.median(run["p50"] for run in runs),
                    "p95": statistics.median(run["p95"] for run in runs),
                    "p99": statistics.median(run["p99"] for run in runs),
                    "errors": sum(run["errors"] for run in runs),
                }
                results[label, connections] = result
                print(
                    f"c={connections:<3} {label:<34} {result['rps']:8.1f} req/s  "
                    f"p50 {result['p50']:6.1f} ms  p95 {result['p95']:6.1f} ms  "
                    f"p99 {result['p99']:6.1f} ms  errors {result['errors']}",
                    flush=True,
                )
            by_connections[connections] = slices
        failed = {label: result["errors"] for label, result in results.items() if result["errors"]}
        if failed:
            # A failed request is answered faster than a served one: no ratio of such a run
            # says anything about the check.
            raise SystemExit(f"Requests failed, so no ratio is given: {failed}")
        me, audited = "GET /api/v1/me", "POST /api/v1/bench/audited"
        for label, *_ in endpoints[2:]:
            checks = results[label, 32]
            print(f"{label}:")
            print(
                f"  req/s ratio to the audited baseline (c=32): "
                f"{checks['rps'] / results[audited, 32]['rps']:.2f}  (target >= 0.9)"
            )
            # Each round's slices ran back to back: their ratio moves less with the machine's
            # speed, which can change within a run.
            paired = sorted(
                check["rps"] / baseline["rps"]
                for check, baseline in zip(
                    by_connections[32][label], by_connections[32][audited], strict=True
                )
            )
            print(
                f"    per round: median {statistics.median(paired):.2f}, "
                f"lowest {paired[0]:.2f}, highest {paired[-1]:.2f}"
            )
            print(
                f"  req/s ratio to GET /api/v1/me (c=32): "
                f"{checks['rps'] / results[me, 32]['rps']:.2f}  (target >= 0.7)"
            )
            print(
                f"  p50 ratio to the audited baseline (c=4): "
                f"{results[label, 4]['p50'] / results[audited, 4]['p50']:.2f}  (target <= 1.2)"
            )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
