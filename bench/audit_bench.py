"""Audit ledger benchmark: appends per second (1 and 8 writers) and verification speed.

Runs against a scratch PostgreSQL database that it creates and drops:

    python bench/audit_bench.py --server postgres://postgres@127.0.0.1:5432 \
        --appends 500 --verify-events 1000000

Targets (issue "Patients, assessments and the audit ledger"): at least 500 appends/s with
8 concurrent writers; verification at least 100,000 events/s.

In the same run it measures the floor a chained append is compared with (issue 15): 8 writers
each inserting single rows, one transaction per row, into `bench_unchained_event`, a table
created for the run (and dropped after) with the audit table's columns, defaults and indexes
(`LIKE ... INCLUDING ALL`) but no chain, no head row and no triggers; each row carries values
of the same width as an audit event (the same canonical payload, a 64-character hash). Target:
chained appends with 8 writers >= 0.8 x that. The 8-writer chain runs twice: with the default
commit (the chain head held through the disk flush) and with `AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK`
(the flush waited for after the head is released), and a third time in 8 lanes
(`AUDIT_LANES=8`: each writer appends to its own chain, in one statement when its lane's head
is where it left it), each against the plain inserts measured right after them, in
`--rounds` rounds (the median ratio is the figure).

Automatic checkpoints go to a file of the run's own (`AUDIT_CHECKPOINT_FILE`), removed after.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_in_process, server_environment  # noqa: E402


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _writer(
    database_url: str, count: int, start: multiprocessing.synchronize.Event, writer: int = 0
) -> None:
    _setup(database_url)
    from periop.audit.services import Actor, audit_event_append

    actor = Actor.system("bench")
    start.wait()
    for number in range(count):
        # Each append is its own transaction, as in a request.
        audit_event_append(actor=actor, action="read", resource_type="patient", resource_id=number)


UNCHAINED = "bench_unchained_event"


def event_fields(number: int) -> dict[str, Any]:
    """The hashed fields of a benchmark event but its sequence and key id: a system read of
    patient `number`, with an empty payload (the width of a plain audit event)."""
    from django.utils import timezone

    from periop.audit.chain import canonical_json

    return {
        "occurred_at": timezone.now(),
        "data_time": None,
        "patient_id": None,
        "actor_user_id": None,
        "actor_username": "bench",
        "actor_kind": "system",
        "action": "read",
        "resource_type": "patient",
        "resource_id": str(number),
        "data_category": "",
        "outcome": "success",
        "request_id": "",
        "department_id": None,
        "payload": canonical_json({}),
    }


def _unchained_writer(
    database_url: str, count: int, start: multiprocessing.synchronize.Event, writer: int = 0
) -> None:
    """Plain single-row INSERT and COMMIT (autocommit), values as wide as an audit event's."""
    _setup(database_url)
    import secrets

    from django.db import connection

    from periop.audit.chain import STORED_FIELDS

    columns = list(STORED_FIELDS)
    sql = (
        f"INSERT INTO {UNCHAINED} ({', '.join(columns)}) "  # noqa: S608 (constant SQL)
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    start.wait()
    with connection.cursor() as cursor:
        for number in range(count):
            row = {
                **event_fields(number),
                "sequence": writer * 10_000_000 + number + 1,
                "key_id": "dev",
                "previous_hash": secrets.token_hex(32),
                "hash": secrets.token_hex(32),
            }
            cursor.execute(sql, [row[column] for column in columns])


def appends_per_second(
    database_url: str, writers: int, per_writer: int, target: Any = _writer, *extra: Any
) -> float:
    """Events per second of `writers` processes each running `target(database_url, per_writer,
    start, writer_index, *extra)`, all started at once."""
    start = multiprocessing.Event()
    processes = [
        multiprocessing.Process(
            target=target, args=(database_url, per_writer, start, index, *extra)
        )
        for index in range(writers)
    ]
    for process in processes:
        process.start()
    time.sleep(3)  # let every writer finish django.setup()
    began = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
        assert process.exitcode == 0
    return writers * per_writer / (time.perf_counter() - began)


def fill_chain(total: int) -> None:
    """Appends `total` valid, chained events quickly (bulk INSERT, hashes computed here)."""
    from django.utils import timezone

    from periop.audit.chain import canonical_json, row_hash, signing_key
    from periop.audit.checkpoints import audit_checkpoint_write
    from periop.audit.models import AuditChainHead, AuditEvent

    head = AuditChainHead.objects.get(id=1)
    key_id, key = signing_key()
    previous, sequence = head.hash, head.sequence
    batch: list[AuditEvent] = []
    now = timezone.now()
    for _ in range(total):
        sequence += 1
        fields = {
            "sequence": sequence,
            "occurred_at": now,
            "data_time": None,
            "patient_id": sequence % 20000,
            "actor_user_id": 1,
            "actor_username": "bench",
            "actor_kind": "user",
            "action": "read",
            "resource_type": "patient",
            "resource_id": str(sequence % 20000),
            "data_category": "nmj-condition",
            "outcome": "success",
            "request_id": "",
            "department_id": 1,
            "payload": canonical_json({"n": sequence}),
            "key_id": key_id,
        }
        digest = row_hash(key=key, previous_hash=previous, fields=fields)
        batch.append(AuditEvent(**fields, previous_hash=previous, hash=digest))
        previous = digest
        if len(batch) == 10_000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.filter(id=1).update(sequence=sequence, hash=previous)
    # Bulk inserts skip the automatic checkpoints: checkpoint the new head, as an operator
    # would after loading events, so verification does not report the missing ones.
    audit_checkpoint_write(sequence=sequence, hash=previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--appends", type=int, default=500, help="events per writer")
    parser.add_argument("--verify-events", type=int, default=1_000_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the 8-writer runs and plain inserts"
    )
    parser.add_argument(
        "--database-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the scratch database only (ALTER DATABASE ... SET), "
        "for example synchronous_commit=off or commit_delay=200; repeatable",
    )
    options = parser.parse_args()

    # The writers are spawned: they read the run's checkpoint file, and production settings
    # (no debug, so no query log; one audit key for every writer), from the environment.
    with scratch_in_process(options.server, "audit") as scratch:
        os.environ.update(server_environment(scratch))
        for setting in options.database_setting:
            key, _, value = setting.partition("=")
            scratch.psql(f"ALTER DATABASE {scratch.name} SET {key} = '{value}'")
            print(f"database setting: {key} = {value}")
        _measure(options, scratch.url)


def _with_setting(name: str, value: str, url: str, appends: int) -> float:
    """Appends/s of 8 writers with one setting changed. The writers are spawned: they read
    the setting from the environment they inherit."""
    os.environ[name] = value
    try:
        return appends_per_second(url, 8, appends)
    finally:
        del os.environ[name]


def _measure(options: argparse.Namespace, url: str) -> None:
    environment = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True
    )
    multiprocessing.set_start_method("spawn")
    one = appends_per_second(url, 1, options.appends)
    print(f"appends/s with 1 writer: {one:,.0f}", flush=True)
    psql = ["psql", url, "-qc"]
    subprocess.run(
        [*psql, f"CREATE TABLE {UNCHAINED} (LIKE audit_auditevent INCLUDING ALL)"], check=True
    )
    ratios: dict[str, list[float]] = {"chain": [], "flush": [], "lanes": []}
    try:
        # Each round measures the plain inserts again, right after the chained runs it is
        # compared with, so the ratios of a round share the machine's state.
        for round_number in range(1, options.rounds + 1):
            chain = appends_per_second(url, 8, options.appends)
            outside = _with_setting("AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK", "true", url, options.appends)
            in_lanes = _with_setting("AUDIT_LANES", "8", url, options.appends)
            subprocess.run([*psql, f"TRUNCATE {UNCHAINED}"], check=True)
            plain = appends_per_second(url, 8, options.appends, _unchained_writer)
            for name, rate in (("chain", chain), ("flush", outside), ("lanes", in_lanes)):
                ratios[name].append(rate / plain)
            print(
                f"round {round_number}, 8 writers, appends/s: one chain {chain:,.0f}, "
                f"AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK {outside:,.0f}, AUDIT_LANES=8 {in_lanes:,.0f}; "
                f"plain single-row INSERT+COMMIT, unchained {plain:,.0f}",
                flush=True,
            )
    finally:
        subprocess.run([*psql, f"DROP TABLE IF EXISTS {UNCHAINED}"], check=True)
    for name, label in (
        ("chain", "one chain"),
        ("flush", "one chain, AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK"),
        ("lanes", "AUDIT_LANES=8"),
    ):
        each = ", ".join(f"{ratio:.2f}" for ratio in ratios[name])
        print(
            f"ratio chained/plain with 8 writers, {label}: median "
            f"{statistics.median(ratios[name]):.2f} (rounds: {each}; target >= 0.8)"
        )

    _setup(url)
    from periop.audit.verification import audit_chain_verify

    began = time.perf_counter()
    fill_chain(options.verify_events)
    print(f"filled {options.verify_events:,} events in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    result = audit_chain_verify()
    elapsed = time.perf_counter() - began
    assert result.ok, result
    rate = result.events / elapsed
    print(f"verified {result.events:,} events in {elapsed:.1f} s: {rate:,.0f} events/s")


if __name__ == "__main__":
    main()
