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
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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
