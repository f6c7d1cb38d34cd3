"""Settings come from the environment; production settings must pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENVIRONMENT = {
    "DJANGO_DEBUG": "false",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "periop.hospital.example",
    "DATABASE_URL": "sqlite:///:memory:",
    "AUDIT_HMAC_KEY": "an-audit-key-kept-outside-the-database-0123456789abcdef",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run_manage(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECRET_KEY",
            "SECRET_KEY_FILE",
            "DJANGO_DEBUG",
            "DATABASE_URL",
            "AUDIT_HMAC_KEY",
            "AUDIT_HMAC_KEY_FILE",
            "REDIS_URL",
            # Set by the browser tests' harness; it must never reach a production check.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_manage("check", environment={"DJANGO_DEBUG": "false"})

    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set when DJANGO_DEBUG is false." in (
        result.stderr
    )


def test_check_deploy_is_clean_under_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", environment=PRODUCTION_ENVIRONMENT
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_failed_logins_are_counted_per_process():
    environment = {**PRODUCTION_ENVIRONMENT}
    del environment["REDIS_URL"]

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)

    assert result.returncode != 0
    assert "accounts.W001" in result.stderr + result.stdout
    assert "REDIS_URL" in result.stderr + result.stdout


def test_the_secret_key_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION_ENVIRONMENT["SECRET_KEY"] + "\n")
    environment = {**PRODUCTION_ENVIRONMENT, "SECRET_KEY_FILE": str(secret_file)}
    del environment["SECRET_KEY"]

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)

    assert result.returncode == 0, result.stderr


def test_it_refuses_to_start_without_an_audit_key_when_debug_is_off():
    environment = {**PRODUCTION_ENVIRONMENT}
    del environment["AUDIT_HMAC_KEY"]

    result = run_manage("check", environment=environment)

    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY (or AUDIT_HMAC_KEY_FILE) must be set" in result.stderr


def test_a_malformed_boolean_is_a_clear_error():
    result = run_manage("check", environment={"DJANGO_DEBUG": "maybe"})

    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false, not 'maybe'." in result.stderr


def checkpoint_file(environment: dict[str, str]) -> str:
    result = run_manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from django.conf import settings; print(settings.AUDIT_CHECKPOINT_FILE)",
        environment={"AUDIT_CHECKPOINT_FILE": "", **environment},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_checkpoints_default_to_the_data_directory_beside_the_sqlite_database(tmp_path):
    database = tmp_path / "data" / "periop.sqlite3"

    assert checkpoint_file({"DATABASE_URL": f"sqlite:///{database}"}) == str(
        database.parent / "periop-audit-checkpoints.jsonl"
    )
    # The development default: the SQLite file in the project directory.
    assert checkpoint_file({}) == str(ROOT / "periop-audit-checkpoints.jsonl")


def test_the_checkpoint_file_is_set_by_the_environment(tmp_path):
    chosen = tmp_path / "worm" / "checkpoints.jsonl"

    assert checkpoint_file({"AUDIT_CHECKPOINT_FILE": str(chosen)}) == str(chosen)


def test_check_deploy_warns_when_checkpoints_cannot_be_written(tmp_path):
    missing = tmp_path / "no-such-directory" / "checkpoints.jsonl"

    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        environment={**PRODUCTION_ENVIRONMENT, "AUDIT_CHECKPOINT_FILE": str(missing)},
    )

    assert result.returncode != 0
    assert "audit.W002" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "short-but-not-empty-key",
        "development-audit-key-not-for-production",
        "changeme",
    ],
)
def test_check_deploy_fails_on_a_short_or_published_audit_key(key):
    # Review F17: whoever knows the key can rewrite the ledger and recompute its chain.
    result = run_manage(
        "check", "--deploy", environment={**PRODUCTION_ENVIRONMENT, "AUDIT_HMAC_KEY": key}
    )

    assert result.returncode != 0
    assert "audit.E002" in result.stderr + result.stdout
