"""Instructions per request of the check, the audited baseline and the CDS Hooks order-sign call,
in process: a figure that other work on the machine does not move.

    python bench/request_bench.py [--server postgres://postgres@127.0.0.1:5432] [--requests 400]
        [--endpoints audited checks hook]

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
ratio is of its throughput). The third endpoint is `POST /cds-services/periop-nmj` with
`cds_hooks_bench.py`'s order-sign body for the same patient, from a CDS client registered with
an EC P-384 key made for the run, each request with its own ES384 token signed beforehand (the
service refuses a replayed `jti`); the ratio check/hook is `cds_hooks_bench.py`'s order-sign/checks
ratio counted. Nothing is timed. Instructions are not time: cache misses, the
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cds_hooks_bench import bench_cds_client, hook_body, sign_tokens
from http_bench import BODY
from scratch import bench_pharmacist, scratch_database, server_environment

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = {
    "audited": "/api/v1/bench/audited",
    "checks": "/api/v1/checks",
    "hook": "/cds-services/periop-nmj",
}
WARM_UP = 30
FEW = 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=sorted(ENDPOINTS),
        default=list(ENDPOINTS),
        help="the endpoints to count (default: all three)",
    )
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
        folder = scratch.checkpoints.parent
        key = bench_cds_client(environment, folder)
        counts = {
            endpoint: _instructions(endpoint, options.requests, environment, key, folder)
            for endpoint in options.endpoints
        }
    for endpoint, count in counts.items():
        print(f"{endpoint:>8}: {count:12,.0f} instructions per request")
    if {"audited", "checks"} <= counts.keys():
        print(f"audited baseline / checks: {counts['audited'] / counts['checks']:.3f}")
    if {"checks", "hook"} <= counts.keys():
        print(f"checks / order-sign hook: {counts['checks'] / counts['hook']:.3f}")


def _instructions(
    endpoint: str, requests: int, environment: dict[str, str], key: Any, folder: Path
) -> float:
    """Instructions of one request: the difference of two processes' totals per request."""
    totals = [
        _collected(endpoint, count, environment, key, folder) for count in (FEW, FEW + requests)
    ]
    return (totals[1] - totals[0]) / requests


def _collected(
    endpoint: str, requests: int, environment: dict[str, str], key: Any, folder: Path
) -> int:
    if endpoint == "hook":
        # Tokens of their own for each process, signed here, outside the count.
        environment = {
            **environment,
            "BENCH_CDS_TOKENS": sign_tokens(
                key, folder, WARM_UP + requests, f"http://127.0.0.1{ENDPOINTS['hook']}"
            )
            + "0",
        }
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

    path = ENDPOINTS[endpoint]
    if endpoint == "hook":
        tokens = Path(os.environ["BENCH_CDS_TOKENS"]).read_text().split()
        headers = [f"Bearer {token}" for token in tokens[: WARM_UP + requests]]
        body = json.dumps(hook_body())
    else:
        headers = [f"Token {os.environ['BENCH_TOKEN']}"] * (WARM_UP + requests)
        body = json.dumps(BODY)
    client = Client(SERVER_NAME="127.0.0.1")
    for header in headers:
        response = client.post(
            path, body, content_type="application/json", HTTP_AUTHORIZATION=header
        )
        assert response.status_code == 200, response.content[:500]


if __name__ == "__main__":
    main()
