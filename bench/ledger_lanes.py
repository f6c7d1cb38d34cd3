"""Design experiment for the audit ledger: would several chains ("lanes") reach plain inserts?

    python bench/ledger_lanes.py [--server postgres://postgres@127.0.0.1:5432] [--appends 300]
        [--lanes 8] [--rounds 2]

The ledger today is one chain: an append claims the chain head (a row lock held until its
commit), so 8 writers append one after the other. Issue 15 holds chained appends to at least
0.8 x plain single-row INSERT+COMMIT with 8 writers. Before anyone changes the ledger's format
for lanes (K chains appended in parallel, each verified on its own, checkpoints naming every
lane's head), this measures what lanes could give, on a scratch PostgreSQL database that it
creates and drops, with the ledger's own canonical form and HMAC, in interleaved rounds:

- the ledger as it is (`audit_event_append`, 8 writers);
- K lanes, each append claiming any free lane (`FOR UPDATE SKIP LOCKED`), then inserting and
  moving that lane's head: the ledger's own statements, per lane;
- K lanes in one round trip: each writer keeps its own lane's head in memory and writes the
  event and the new head in one statement that only succeeds if the head has not moved
  (re-reading it when it has);
- plain single-row INSERT+COMMIT into a table of the same width (`audit_bench.py`'s floor).

The lane tables (`bench_lane_head`, `bench_lane_event`) exist only in the scratch database;
nothing here is used by the application.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audit_bench
from scratch import scratch_in_process

LANE_HEAD, LANE_EVENT = "bench_lane_head", "bench_lane_event"
# Each lane numbers its own events; lane L's n-th event is L * STRIDE + n.
STRIDE = 1_000_000_000


def _values(connection: Any, fields: dict[str, Any], previous: str, digest: str) -> list[Any]:
    from periop.audit.chain import STORED_FIELDS

    stored = {**fields, "previous_hash": previous, "hash": digest}
    return [
        connection.ops.adapt_datetimefield_value(stored[column])
        if column in {"occurred_at", "data_time"}
        else stored[column]
        for column in STORED_FIELDS
    ]


def _columns() -> str:
    from periop.audit.chain import STORED_FIELDS

    return ", ".join(STORED_FIELDS)


def _placeholders() -> str:
    from periop.audit.chain import STORED_FIELDS

    return ", ".join(["%s"] * len(STORED_FIELDS))


def _claiming_writer(database_url: str, count: int, start: Any, writer: int, lanes: int) -> None:
    """Claims any free lane (SKIP LOCKED; its own when all are busy), then inserts and moves
    that lane's head in one statement, in one transaction: the ledger's append, per lane."""
    audit_bench._setup(database_url)
    from django.db import connection, transaction

    from periop.audit.chain import row_hash, signing_key

    claim_free = (
        f"UPDATE {LANE_HEAD} SET sequence = sequence + 1 WHERE id = (SELECT id FROM "  # noqa: S608
        f"{LANE_HEAD} ORDER BY random() FOR UPDATE SKIP LOCKED LIMIT 1) "
        "RETURNING id, sequence, hash"
    )
    claim_own = (
        f"UPDATE {LANE_HEAD} SET sequence = sequence + 1 WHERE id = %s "  # noqa: S608
        "RETURNING id, sequence, hash"
    )
    write = (
        f"WITH inserted AS (INSERT INTO {LANE_EVENT} ({_columns()}) "  # noqa: S608
        f"VALUES ({_placeholders()}) RETURNING id) "
        f"UPDATE {LANE_HEAD} SET hash = %s WHERE id = %s RETURNING (SELECT id FROM inserted)"
    )
    key_id, key = signing_key()
    start.wait()
    for number in range(count):
        fields = audit_bench.event_fields(number)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(claim_free)
            row = cursor.fetchone()
            if row is None:
                cursor.execute(claim_own, [writer % lanes + 1])
                row = cursor.fetchone()
            lane, sequence, previous = row
            fields["sequence"] = lane * STRIDE + sequence
            fields["key_id"] = key_id
            digest = row_hash(key=key, previous_hash=previous, fields=fields)
            cursor.execute(write, [*_values(connection, fields, previous, digest), digest, lane])


def _one_trip_writer(database_url: str, count: int, start: Any, writer: int, lanes: int) -> None:
    """Keeps its lane's head in memory and appends with one statement (autocommit): the event
    and the head's move, only if the head is where it was left; else re-reads it and retries."""
    audit_bench._setup(database_url)
    from django.db import connection

    from periop.audit.chain import row_hash, signing_key

    write = (
        f"WITH moved AS (UPDATE {LANE_HEAD} SET sequence = sequence + 1, hash = %s "  # noqa: S608
        "WHERE id = %s AND sequence = %s RETURNING id) "
        f"INSERT INTO {LANE_EVENT} ({_columns()}) SELECT {_placeholders()} FROM moved "
        "RETURNING id"
    )
    read = f"SELECT sequence, hash FROM {LANE_HEAD} WHERE id = %s"  # noqa: S608
    lane = writer % lanes + 1
    key_id, key = signing_key()
    with connection.cursor() as cursor:
        cursor.execute(read, [lane])
        sequence, previous = cursor.fetchone()
        start.wait()
        for number in range(count):
            while True:
                fields = audit_bench.event_fields(number)
                fields["sequence"] = lane * STRIDE + sequence + 1
                fields["key_id"] = key_id
                digest = row_hash(key=key, previous_hash=previous, fields=fields)
                cursor.execute(
                    write, [digest, lane, sequence, *_values(connection, fields, previous, digest)]
                )
                if cursor.fetchone() is not None:
                    sequence, previous = sequence + 1, digest
                    break
                cursor.execute(read, [lane])
                sequence, previous = cursor.fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--appends", type=int, default=300, help="events per writer")
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()

    with scratch_in_process(options.server, "lanes") as scratch:
        _measure(options, scratch.url)


def _measure(options: argparse.Namespace, url: str) -> None:
    audit_bench._setup(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table in (audit_bench.UNCHAINED, LANE_EVENT):
            cursor.execute(f"CREATE TABLE {table} (LIKE audit_auditevent INCLUDING ALL)")
        cursor.execute(
            f"CREATE TABLE {LANE_HEAD} (id smallint PRIMARY KEY, sequence bigint NOT NULL, "
            "hash text NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {LANE_HEAD} SELECT lane, 0, repeat('0', 64) "  # noqa: S608
            "FROM generate_series(1, %s) AS lane",
            [options.lanes],
        )
    connection.close()
    writers, count = 8, options.appends
    for number in range(1, options.rounds + 1):
        ledger = audit_bench.appends_per_second(url, writers, count)
        claiming = audit_bench.appends_per_second(
            url, writers, count, _claiming_writer, options.lanes
        )
        one_trip = audit_bench.appends_per_second(
            url, writers, count, _one_trip_writer, options.lanes
        )
        plain = audit_bench.appends_per_second(url, writers, count, audit_bench._unchained_writer)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {audit_bench.UNCHAINED}")
        connection.close()
        print(
            f"round {number}, {writers} writers, per second: ledger (one chain) "
            f"{ledger:,.0f}; {options.lanes} lanes, claimed {claiming:,.0f}; "
            f"{options.lanes} lanes, one round trip {one_trip:,.0f}; plain {plain:,.0f}",
            flush=True,
        )
        print(
            f"  ratio to plain: one chain {ledger / plain:.2f}, lanes claimed "
            f"{claiming / plain:.2f}, lanes in one round trip {one_trip / plain:.2f} "
            "(target >= 0.8)",
            flush=True,
        )


if __name__ == "__main__":
    main()
