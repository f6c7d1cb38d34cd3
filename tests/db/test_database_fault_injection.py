"""A database that dies in the middle of a burst of writes: Periop answers 503, never 500,
keeps no half-written record, and after a restart every acknowledged write is there and the
ledger and the signed records verify.

The test starts its own PostgreSQL cluster (initdb into a temporary folder, its own port) and
its own application server on it, and kills only that cluster's postmaster, by its process id.
It runs on the PostgreSQL leg of CI, where the server binaries are installed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql" or not BINARIES,
    reason="needs PostgreSQL's server binaries (the PostgreSQL leg of CI)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_postgres(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """PostgreSQL refuses to run as root: the cluster belongs to the postgres user then."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.bin = BINARIES[-1].parent
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres", "postgres")
        as_postgres(
            [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
        )

    def start(self) -> None:
        as_postgres(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-w",
                "-l",
                str(self.data.parent / "server.log"),
                "-o",
                f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1",
                "start",
            ]
        )

    def kill(self) -> None:
        """SIGKILL to this cluster's postmaster only: a crash, not a shutdown."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
            + [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )


def manage(url: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def request(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(  # noqa: S310 (only this test's own loopback server)
        base + path,
        data=data,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(call, timeout=20) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def test_a_database_killed_mid_burst_loses_nothing_acknowledged_and_answers_503() -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_ALLOW_ASYNC"))
    }
    environment.update({"DJANGO_DEBUG": "true", "DB_CONN_MAX_AGE": "0"})
    with tempfile.TemporaryDirectory() as folder:
        # The cluster's owner (postgres, when the tests run as root) must reach its folder.
        Path(folder).chmod(0o755)
        cluster = Cluster(Path(folder) / "cluster")
        cluster.init()
        cluster.start()
        server = None
        try:
            environment["AUDIT_CHECKPOINT_FILE"] = str(Path(folder) / "checkpoints.jsonl")
            assert manage(cluster.url, "migrate", "--no-input", env=environment).returncode == 0
            setup = manage(
                cluster.url,
                "shell",
                "-c",
                "from tests.fault_setup import setup; setup()",
                env=environment,
            )
            assert setup.returncode == 0, setup.stderr
            token, patient_id = setup.stdout.strip().splitlines()[-1].split()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env={**environment, "DATABASE_URL": cluster.url},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(100):
                if request(base, token, "GET", "/health")[0] == 200:
                    break
                time.sleep(0.2)

            statuses: list[int] = []
            created: list[int] = []
            lock = threading.Lock()

            def writer(number: int) -> None:
                for index in range(30):
                    status, body = request(
                        base,
                        token,
                        "POST",
                        f"/api/v1/patients/{patient_id}/medications",
                        {"code": "pyridostigmine", "started": f"2020-01-{(index % 28) + 1:02d}"},
                    )
                    with lock:
                        statuses.append(status)
                        if status == 201:
                            created.append(int(body["id"]))
                    time.sleep(0.01 * number)

            writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
            for thread in writers:
                thread.start()
            time.sleep(0.5)
            cluster.kill()
            time.sleep(1.0)
            # While the database is down, every answer is a 503, never a 500.
            down = [request(base, token, "GET", f"/api/v1/patients/{patient_id}")[0]]
            down.append(request(base, token, "GET", "/health")[0])
            cluster.start()
            for thread in writers:
                thread.join(timeout=120)

            assert 500 not in statuses
            assert set(statuses) <= {201, 503, 0}
            assert down == [503, 503]
            assert 503 in statuses
            assert created
            # Every acknowledged write is there, each with its audit event, and the chain and
            # the signed records verify.
            check = manage(
                cluster.url,
                "shell",
                "-c",
                f"from tests.fault_setup import check; check({created!r})",
                env=environment,
            )
            assert check.returncode == 0, check.stdout + check.stderr
            verified = manage(cluster.url, "verify_audit_chain", "--records", env=environment)
            assert verified.returncode == 0, verified.stdout + verified.stderr
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            cluster.stop()
