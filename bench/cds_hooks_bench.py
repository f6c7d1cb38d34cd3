"""CDS Hooks benchmark: order-sign with prefetch against POST /api/v1/checks, same patient.

    python bench/cds_hooks_bench.py [--server postgres://postgres@127.0.0.1:5432] [--seconds 15]
        [--rounds 3]

Creates a scratch PostgreSQL database, a department with a pharmacist (API token) and a
registered CDS client (an EC P-384 key made for the run), starts gunicorn on 127.0.0.1 and
drives it with wrk at 32 connections: `POST /api/v1/checks` and
`POST /cds-services/periop-nmj` (order-sign, complete prefetch: 5 conditions, 1 medication,
5 draft orders) for the same patient, interleaved in `--rounds` slices of `--seconds` in all
per endpoint. Every CDS request carries its own ES384 JWT (a fresh
`jti`, as the service refuses replays): the tokens are signed before the timed run, so the load
generator does no cryptography while it measures. Prints requests/s, p50/p95/p99, the CPU the
server (its workers and PostgreSQL) used per request, and the ratios
order-sign/checks. All traffic stays on 127.0.0.1 and each run is bounded in time.

Targets (issue 13): ratio >= 0.8; standards-reference CDSH-11: p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch import (
    Scratch,
    bench_pharmacist,
    manage,
    scratch_database,
    server_cpu_seconds,
    server_environment,
    start_gunicorn,
)

ROOT = Path(__file__).resolve().parents[1]
PORT = 8766
ISSUER = "https://bench-ehr.example/"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
THREADS = 2

# The patient: (condition code, coding system, code, onset) for five conditions the knowledge
# base maps, one medication, and five planned drugs (code, ATC).
CONDITIONS = [
    ("myasthenia-gravis", SNOMED, "91637004", "2019-03-01"),
    ("lambert-eaton", SNOMED, "56989000", "2021-06-01"),
    ("burn", SNOMED, "125666000", None),  # onset: ten days before the run
    ("muscular-dystrophy", ICD10CM, "G71.01", "2010-01-01"),
    ("myotonic-dystrophy", ICD10CM, "G71.11", "2015-01-01"),
]
MEDICATION = ("pyridostigmine", "N07AA02", "2019-03-03")
DRUGS = [
    ("succinylcholine", "M03AB01"),
    ("rocuronium", "M03AC09"),
    ("sugammadex", "V03AB35"),
    ("neostigmine", "N07AA01"),
    ("gentamicin", "J01GB03"),
]


def _onsets() -> list[str]:
    burn = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).date().isoformat()
    return [onset or burn for *_, onset in CONDITIONS]


def check_body() -> dict[str, Any]:
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(),
        "patient": {"age_years": 40, "sex": "female"},
        "conditions": [
            {"code": code, "onset": onset}
            for (code, *_), onset in zip(CONDITIONS, _onsets(), strict=True)
        ],
        "medications": [{"code": MEDICATION[0], "started": MEDICATION[2], "stopped": None}],
        "drugs": [code for code, _ in DRUGS],
    }


def _bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def hook_body() -> dict[str, Any]:
    conditions = [
        {
            "resourceType": "Condition",
            "id": f"c-{position}",
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": "Patient/bench-1"},
            "onsetDateTime": onset,
        }
        for position, ((_, system, code, _), onset) in enumerate(
            zip(CONDITIONS, _onsets(), strict=True)
        )
    ]
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": MEDICATION[1]}]},
        "subject": {"reference": "Patient/bench-1"},
        "effectivePeriod": {"start": MEDICATION[2]},
    }
    orders = [
        {
            "resourceType": "MedicationRequest",
            "id": f"mr-{code}",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}], "text": code},
            "subject": {"reference": "Patient/bench-1"},
        }
        for code, atc in DRUGS
    ]
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "PractitionerRole/bench",
            "patientId": "bench-1",
            "draftOrders": _bundle(orders, "collection"),
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "bench-1",
                "birthDate": "1986-01-01",
                "gender": "female",
            },
            "conditions": _bundle(conditions),
            "medicationRequests": {"resourceType": "Bundle", "type": "searchset"},
            "medicationStatements": _bundle([statement]),
            # No observation recorded, as in the check body (no weight, no laboratory value).
            "bodyWeight": None,
            "serumPotassium": None,
            "serumMagnesium": None,
        },
    }


LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  tokens = {}
  local tokens_file = "{tokens}" .. id
  for line in io.lines(tokens_file) do tokens[#tokens + 1] = line end
  position = 0
  body = io.open("{body}"):read("*a")
end
function request()
  position = position + 1
  local authorization = "{scheme} {token}"
  if #tokens > 0 then authorization = "Bearer " .. tokens[position] end
  return wrk.format("POST", "{path}", {
    ["Authorization"] = authorization, ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    summary.errors.status))
end
"""


def run_wrk(
    path: str, body: str, seconds: int, *, token: str = "", tokens: str = "", server: int = 0
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "body.json"
        body_file.write_text(body)
        script = Path(folder) / "bench.lua"
        script.write_text(
            LUA.replace("{tokens}", tokens or str(Path(folder) / "none"))
            .replace("{body}", str(body_file))
            .replace("{scheme}", "Token")
            .replace("{token}", token)
            .replace("{path}", path)
        )
        if not tokens:
            for thread in range(THREADS):
                (Path(folder) / f"none{thread}").write_text("")
        cpu_before = server_cpu_seconds(server) if server else 0.0
        output = subprocess.run(
            [
                "wrk",
                f"-t{THREADS}",
                "-c32",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                str(script),
                f"http://127.0.0.1:{PORT}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = server_cpu_seconds(server) - cpu_before if server else 0.0
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)", output)
    assert match, output
    requests, duration, p50, p95, p99, errors, _status_errors = match.groups()
    return {
        # The server's CPU (workers and PostgreSQL) per request, in ms.
        "cpu_ms": cpu * 1000 / max(int(requests), 1),
        "rps": int(requests) / (int(duration) / 1e6),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "errors": int(errors),
        "requests": int(requests),
    }


def sign_tokens(key: Any, folder: Path, count: int, audience: str) -> str:
    """`count` distinct ES384 tokens per wrk thread, one per line, valid for 30 minutes."""
    now = int(time.time())
    for thread in range(THREADS):
        lines = [
            jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": audience,
                    "iat": now,
                    "exp": now + 1800,
                    "jti": str(uuid.uuid4()),
                },
                key,
                algorithm="ES384",
                headers={"kid": "bench-1", "typ": "JWT"},
            )
            for _ in range(count)
        ]
        (folder / f"tokens{thread}").write_text("\n".join(lines) + "\n")
    return str(folder / "tokens")


def bench_cds_client(environment: dict[str, str], folder: Path) -> ec.EllipticCurvePrivateKey:
    """Registers the CDS client `ISSUER` in `bench_pharmacist`'s department with a new EC
    P-384 key, its public key written in `folder`; the private key, which signs its tokens."""
    key = ec.generate_private_key(ec.SECP384R1())
    pem = folder / "client.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    manage(
        environment, "cds_client", "add", ISSUER, "--public-key", str(pem), "--department", "bench"
    )
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved slices per endpoint (default 3)"
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=0,
        help="tokens signed per wrk thread for each slice (default: enough for 800 req/s)",
    )
    options = parser.parse_args()

    with scratch_database(options.server, "cds") as scratch:
        _measure(options, scratch)


def _measure(options: argparse.Namespace, scratch: Scratch) -> None:
    environment = server_environment(
        scratch, PERIOP_USER_PASSWORD="benchmark-password-" + os.urandom(8).hex()
    )
    # The run's own folder (removed with the scratch database): the client's key, the tokens.
    folder = scratch.checkpoints.parent
    server = None
    try:
        api_token = bench_pharmacist(environment)
        key = bench_cds_client(environment, folder)
        server = start_gunicorn(environment, PORT, options.workers)
        service = "/cds-services/periop-nmj"
        audience = f"http://127.0.0.1:{PORT}{service}"
        checks_body, cds_body = json.dumps(check_body()), json.dumps(hook_body())
        # One request of each, checked before timing: both must answer 200 with cautions.
        sign_tokens(key, folder, 1, audience)
        first_token = (folder / "tokens0").read_text().strip()
        for path, body, header in (
            ("/api/v1/checks", checks_body, f"Token {api_token}"),
            (service, cds_body, f"Bearer {first_token}"),
        ):
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}{path}",
                data=body.encode(),
                headers={"Authorization": header, "Content-Type": "application/json"},
            )
            # Only ever http://127.0.0.1 (built above).
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    answer = json.loads(response.read())
            except urllib.error.HTTPError as error:
                raise SystemExit(f"{path} answered {error.code}: see the server log") from error
            print(f"{path}: {len(answer.get('cards', answer.get('cautions', [])))} items")
        # Warm-up, then the two endpoints interleaved: `--rounds` slices each, in turn, so load
        # from elsewhere on the machine (and the tables growing as the run writes) falls on
        # both alike. Requests/s is the mean over the slices, latency percentiles the medians.
        run_wrk("/api/v1/checks", checks_body, 3, token=api_token)
        slice_seconds = max(1, options.seconds // options.rounds)
        # A token per request: more than the service can answer in a slice (wrk fails loudly
        # on the request after the last token, so a shortfall shows as errors).
        per_thread = options.tokens or (max(slice_seconds, 3) * 800) // THREADS
        tokens = sign_tokens(key, folder, per_thread, audience)
        run_wrk(service, cds_body, 3, tokens=tokens)
        slices: dict[str, list[dict[str, float]]] = {"checks": [], "hooks": []}
        for _ in range(options.rounds):
            slices["checks"].append(
                run_wrk(
                    "/api/v1/checks", checks_body, slice_seconds, token=api_token, server=server.pid
                )
            )
            tokens = sign_tokens(key, folder, per_thread, audience)
            slices["hooks"].append(
                run_wrk(service, cds_body, slice_seconds, tokens=tokens, server=server.pid)
            )
        results = {
            name: {
                "rps": statistics.mean(run["rps"] for run in runs),
                "p50": statistics.median(run["p50"] for run in runs),
                "p95": statistics.median(run["p95"] for run in runs),
                "p99": statistics.median(run["p99"] for run in runs),
                "errors": sum(run["errors"] for run in runs),
                "requests": sum(run["requests"] for run in runs),
                "cpu_ms": statistics.median(run["cpu_ms"] for run in runs),
            }
            for name, runs in slices.items()
        }
        checks, hooks = results["checks"], results["hooks"]
        for label, result in (
            ("POST /api/v1/checks", checks),
            ("POST /cds-services/periop-nmj", hooks),
        ):
            print(
                f"{label:<31} {result['rps']:8.1f} req/s  p50 {result['p50']:6.1f} ms  "
                f"p95 {result['p95']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                f"errors {result['errors']} of {result['requests']}  "
                f"server CPU {result['cpu_ms']:.2f} ms/request"
            )
        ratios = [
            hook["rps"] / check["rps"]
            for check, hook in zip(slices["checks"], slices["hooks"], strict=True)
        ]
        print(f"ratio per round: {', '.join(f'{ratio:.2f}' for ratio in ratios)}")
        print(
            f"throughput ratio order-sign/checks: {hooks['rps'] / checks['rps']:.2f}  "
            "(target >= 0.8)"
        )
        # Other load on the machine moves requests/s far more than the CPU each request uses.
        costs = [
            check["cpu_ms"] / hook["cpu_ms"]
            for check, hook in zip(slices["checks"], slices["hooks"], strict=True)
        ]
        rounds = ", ".join(f"{cost:.2f}" for cost in costs)
        print(f"server CPU per request, checks/order-sign, per round: {rounds}")
        print(
            f"server CPU per request, checks/order-sign: {checks['cpu_ms'] / hooks['cpu_ms']:.2f}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
