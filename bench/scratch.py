"""The scratch PostgreSQL database a benchmark runs on, and the server settings around it.

    with scratch_database(server, "http") as scratch:
        environment = server_environment(scratch)
        ...

`scratch_database` creates `periop_bench_<label>_<pid>` on the server and a folder of the run's
own for its audit checkpoints (the ledger checkpoints itself every so many events, and the
default file belongs to the developer's own database: sharing it would make verification
fail). On the way out, whatever happened, it drops the database (closing any connection left
open to it) and removes the folder. Stop a server started on the database inside the block,
so that it is gone before the database is dropped.

A benchmark that uses the database from its own process (Django set up in process, or
workers spawned with its environment) opens it with `scratch_in_process` instead: the run's
checkpoint file is in this process's environment, and its database connections are closed
before the database is dropped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scratch:
    server: str
    name: str
    checkpoints: Path

    @property
    def url(self) -> str:
        return f"{self.server}/{self.name}"

    def psql(self, statement: str, *, database: str | None = None) -> None:
        """Runs one statement with psql, on the scratch database unless `database` is named."""
        target = f"{self.server}/{database or self.name}"
        subprocess.run(["psql", target, "-qc", statement], check=True)


@contextmanager
def scratch_database(server: str, label: str) -> Iterator[Scratch]:
    name = f"periop_bench_{label}_{os.getpid()}"
    folder = Path(tempfile.mkdtemp(prefix=f"periop-{label}-bench-"))
    scratch = Scratch(server=server, name=name, checkpoints=folder / "checkpoints.jsonl")
    try:
        scratch.psql(f"CREATE DATABASE {name}", database="postgres")
        yield scratch
    finally:
        subprocess.run(
            ["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def scratch_in_process(server: str, label: str) -> Iterator[Scratch]:
    """`scratch_database`, with `AUDIT_CHECKPOINT_FILE` set to the run's own file in this
    process's environment (spawned workers inherit it) and Django's connections closed on the
    way out, so that the database can be dropped."""
    with scratch_database(server, label) as scratch:
        previous = os.environ.get("AUDIT_CHECKPOINT_FILE")
        os.environ["AUDIT_CHECKPOINT_FILE"] = str(scratch.checkpoints)
        try:
            yield scratch
        finally:
            from django.db import connections

            connections.close_all()
            if previous is None:
                os.environ.pop("AUDIT_CHECKPOINT_FILE", None)
            else:
                os.environ["AUDIT_CHECKPOINT_FILE"] = previous


def server_environment(scratch: Scratch, **extra: str) -> dict[str, str]:
    """The environment of a process serving the scratch database with production settings:
    fresh secrets, no debug, 127.0.0.1 only, the run's own checkpoint file."""
    return {
        **os.environ,
        "DATABASE_URL": scratch.url,
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": "benchmark-only-secret-key-" + os.urandom(16).hex(),
        "AUDIT_HMAC_KEY": "benchmark-only-audit-key-" + os.urandom(16).hex(),
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "AUDIT_CHECKPOINT_FILE": str(scratch.checkpoints),
        **extra,
    }


def manage(environment: dict[str, str], *arguments: str) -> str:
    """Runs `manage.py` with `arguments` in `environment`; its output. Fails on an error."""
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def bench_pharmacist(environment: dict[str, str]) -> str:
    """Migrates the scratch database, adds the department `bench` with its pharmacist
    `bench-pharmacy`, and returns the pharmacist's new API token."""
    manage(environment, "migrate", "-v0")
    manage(environment, "create_department", "bench", "--name", "Bench")
    created = manage(
        environment,
        "create_user",
        "bench-pharmacy",
        "--role",
        "pharmacist",
        "--department",
        "bench",
        "--api-token",
        "--no-input",
    )
    return created.split("API token (shown once): ")[1].strip()


def start_gunicorn(
    environment: dict[str, str], port: int, workers: int = 3, *, wait_seconds: float = 30.0
) -> subprocess.Popen[bytes]:
    """gunicorn serving the project on 127.0.0.1:`port` in `environment`, once `/health`
    answers 200. Exits with a message when another process already listens on the port
    (what a benchmark then measured would be that process), when gunicorn stops before it
    serves, or when it does not answer in `wait_seconds`. The caller terminates it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise SystemExit(
                f"127.0.0.1:{port} is taken by another process ({error.strerror}): stop it, "
                "or nothing measured here would be this server."
            ) from None
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "periop.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=environment,
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped with status {server.returncode} before serving.")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:  # not listening yet, or 503 while the database is not reachable
            pass
        time.sleep(0.2)
    server.terminate()
    server.wait(timeout=10)
    raise SystemExit(f"gunicorn did not answer /health with 200 within {wait_seconds:g} s.")


def server_cpu_seconds(master_pid: int) -> float:
    """CPU seconds (user and system) used so far by the HTTP server's worker processes (the
    children of `master_pid`) and by every PostgreSQL process on this machine. The difference
    over a slice, divided by its requests, is what one request costs the machine's cores,
    which other load moves far less than it moves requests per second: it counts no time
    the processes waited for a core. Linux only (`/proc`)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the name: state, ppid, ..., utime and stime are the 12th and 13th.
        parent, user, system = int(fields[1]), int(fields[11]), int(fields[12])
        if parent == master_pid or name == "postgres":
            total += user + system
    return total / ticks
