"""Instructions per request of the check and of the audited baseline, in process: a figure that
other work on the machine does not move.

    python bench/request_bench.py [--server postgres://postgres@127.0.0.1:5432] [--requests 400]

`http_bench.py`'s ratios move by 0.1 and more between runs on a shared machine, more than most
changes to the check can move them. This script counts instead: on a scratch PostgreSQL
database with the benchmark-only endpoints on (`PERIOP_BENCH_ENDPOINTS`), production settings
and a pharmacist with an API token, it runs `POST /api/v1/bench/audited` (the audited
baseline) and `POST /api/v1/checks` with `http_bench.py`'s body through Django's test client, in
a process of its own under `valgrind --tool=callgrind`, once with a few requests and once with
`--requests` more. The difference of the two totals, divided by the difference of the counts,
is the instructions of one request: the whole Django stack, the authentication, the three
statements' client work, the check's own work and its answer. Printed per endpoint, with the
ratio of the baseline's to the check's (the check's share of the baseline's cost, as the HTTP
ratio is of its throughput). Nothing is timed. Instructions are not time: cache misses, the
database server and the HTTP server's own work are not in them (bench/README.md).

    python bench/request_bench.py --child ENDPOINT --requests N

is one such process (what the script runs under callgrind).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_bench import BODY
from scratch import bench_pharmacist, scratch_database, server_environment

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = {"audited": "/api/v1/bench/audited", "checks": "/api/v1/checks"}
WARM_UP = 30
FEW = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--child", choices=sorted(ENDPOINTS), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child(options.child, options.requests)
        return
    with scratch_database(options.server, "requests") as scratch:
        environment = server_environment(
            scratch,
            PERIOP_USER_PASSWORD="benchmark-password-" + os.urandom(8).hex(),
            PERIOP_BENCH_ENDPOINTS="true",
            DJANGO_SETTINGS_MODULE="periop.settings",
            # One string hashing for every process: with a random one, dicts probe differently
            # in each and the counts of the same code differ by a few per cent.
            PYTHONHASHSEED="0",
        )
        environment["BENCH_TOKEN"] = bench_pharmacist(environment)
        counts = {
            endpoint: _instructions(endpoint, options.requests, environment)
            for endpoint in ENDPOINTS
        }
    for endpoint, count in counts.items():
        print(f"{endpoint:>8}: {count:12,.0f} instructions per request")
    print(f"audited baseline / checks: {counts['audited'] / counts['checks']:.3f}")


def _instructions(endpoint: str, requests: int, environment: dict[str, str]) -> float:
    """Instructions of one request: the difference of two processes' totals per request."""
    totals = [_collected(endpoint, count, environment) for count in (FEW, FEW + requests)]
    return (totals[1] - totals[0]) / requests


def _collected(endpoint: str, requests: int, environment: dict[str, str]) -> int:
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            endpoint,
            "--requests",
            str(requests),
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", completed.stderr)
    assert match, completed.stderr[-2000:]
    return int(match.group(1))


def _child(endpoint: str, requests: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    client = Client(
        HTTP_AUTHORIZATION=f"Token {os.environ['BENCH_TOKEN']}", SERVER_NAME="127.0.0.1"
    )
    body = json.dumps(BODY)
    path = ENDPOINTS[endpoint]
    for _ in range(WARM_UP + requests):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 200, response.content[:500]


if __name__ == "__main__":
    main()
