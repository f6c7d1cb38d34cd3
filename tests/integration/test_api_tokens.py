"""API tokens: stored as digests, shown once, and every issue and revocation audited (F7)."""

import datetime as dt
import hashlib
import importlib
import json
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from periop.accounts.models import ApiToken
from periop.accounts.services import api_token_issue, api_token_revoke
from periop.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "a-long-and-unguessable-passphrase-17"


def _me(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/me")


def _token_events():
    return [
        (event, json.loads(event.payload))
        for event in AuditEvent.objects.filter(resource_type="api-token").order_by("sequence")
    ]


def test_the_database_keeps_only_the_digest_of_a_key(pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)

    (stored,) = ApiToken.objects.filter(user=pharmacist).values()
    assert stored["digest"] == hashlib.sha256(key.encode()).hexdigest()
    assert stored["prefix"] == key[:8]
    assert not any(key in str(value) for value in stored.values())
    assert _me(key).json()["username"] == "pharmacist"


def test_a_key_with_the_right_prefix_but_wrong_rest_is_refused(pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)
    wrong = key[:8] + ("0" if key[8] != "0" else "1") + key[9:]

    response = _me(wrong)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_deactivated_users_key_is_refused(pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)
    pharmacist.is_active = False
    pharmacist.save()

    assert _me(key).status_code == 401


def test_issuing_and_revoking_tokens_are_audited_with_the_actor(pharmacist, department_admin):
    first = api_token_issue(actor=department_admin, user=pharmacist)
    second = api_token_issue(actor=department_admin, user=pharmacist)
    api_token_revoke(actor="command:test", token=ApiToken.objects.get(user=pharmacist))

    recorded = [
        (event.action, event.actor_username, payload["change"], payload["prefix"])
        for event, payload in _token_events()
    ]
    assert recorded == [
        ("privilege-change", "department-admin", "api-token-issued", first[:8]),
        ("privilege-change", "department-admin", "api-token-revoked", first[:8]),
        ("privilege-change", "department-admin", "api-token-issued", second[:8]),
        ("privilege-change", "command:test", "api-token-revoked", second[:8]),
    ]
    assert all(
        json.loads(event.payload)["user_id"] == pharmacist.pk for event, _ in _token_events()
    )
    # The ledger never holds a key.
    assert not AuditEvent.objects.filter(payload__contains=first).exists()
    assert not AuditEvent.objects.filter(payload__contains=second).exists()
    assert _me(first).status_code == 401
    assert _me(second).status_code == 401


def test_create_user_prints_the_key_once_and_audits_its_issue(monkeypatch, department, capsys):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", STRONG_PASSWORD)

    call_command(
        "create_user",
        "pharmacy-system",
        "--role",
        "pharmacist",
        "--department",
        department.code,
        "--api-token",
    )

    key = capsys.readouterr().out.split("API token (shown once): ")[1].strip()
    assert _me(key).json()["username"] == "pharmacy-system"
    ((event, payload),) = _token_events()
    assert (event.actor_username, payload["change"]) == ("command:create_user", "api-token-issued")


def test_demo_setup_prints_a_working_key_once(capsys):
    call_command("demo_setup")

    output = capsys.readouterr().out
    key = output.split("API token for demo-pharmacist (shown once): ")[1].split()[0]
    assert _me(key).json()["username"] == "demo-pharmacist"
    assert key not in str(list(ApiToken.objects.values()))


def test_the_admin_lists_the_prefix_and_never_the_key(client, pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)

    listing = client.get("/admin/accounts/apitoken/").content.decode()
    token = ApiToken.objects.get(user=pharmacist)
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()

    assert key[:8] in listing
    assert key not in listing
    assert key not in detail
    assert token.digest not in detail
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
    # DRF's own token admin, which shows keys, is gone with its app.
    assert client.get("/admin/authtoken/").status_code == 404


def test_revoking_a_token_in_the_admin_names_the_administrator(client, pharmacist):
    key = api_token_issue(actor="command:test", user=pharmacist)
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)
    token = ApiToken.objects.get(user=pharmacist)

    response = client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    event, payload = _token_events()[-1]
    assert (event.actor_user_id, payload["change"]) == (root.pk, "api-token-revoked")
    assert _me(key).status_code == 401


def test_the_migration_hashes_the_keys_of_drf_tokens_and_deletes_them(pharmacist):
    # A database created while DRF's token app was installed holds plain-text keys.
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [key, "2026-01-02 03:04:05", pharmacist.pk],
        )
    migration = importlib.import_module("periop.accounts.migrations.0003_hash_drf_tokens")

    # The migration uses only the schema editor's connection (SQLite cannot open a real
    # schema editor inside the test's transaction).
    migration.hash_drf_tokens(apps, SimpleNamespace(connection=connection))

    token = ApiToken.objects.get(user=pharmacist)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.created_at.year == 2026
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert _me(key).json()["username"] == "pharmacist"


def test_the_api_token_command_reissues_and_revokes_an_existing_users_token(pharmacist, capsys):
    first = api_token_issue(actor="command:test", user=pharmacist)

    call_command("api_token", "pharmacist")
    second = capsys.readouterr().out.split("API token (shown once): ")[1].split()[0]
    assert _me(first).status_code == 401
    assert _me(second).json()["username"] == "pharmacist"

    call_command("api_token", "pharmacist", "--revoke")
    assert "Revoked 1 API token(s) of pharmacist." in capsys.readouterr().out
    assert _me(second).status_code == 401
    changes = [(event.actor_username, payload["change"]) for event, payload in _token_events()]
    assert changes[-3:] == [
        ("command:api_token", "api-token-revoked"),
        ("command:api_token", "api-token-issued"),
        ("command:api_token", "api-token-revoked"),
    ]


def test_the_api_token_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("api_token", "nobody")


# --- expiry ------------------------------------------------------------------------------------


def test_a_token_works_until_it_expires_and_then_says_so(pharmacist, settings):
    settings.API_TOKEN_LIFETIME_DAYS = 30
    key = api_token_issue(actor="command:test", user=pharmacist)
    expires_at = ApiToken.objects.get(user=pharmacist).expires_at
    assert expires_at - timezone.now() == pytest.approx(
        dt.timedelta(days=30), abs=dt.timedelta(minutes=1)
    )

    with time_machine.travel(expires_at - dt.timedelta(seconds=1)):
        assert _me(key).status_code == 200
    with time_machine.travel(expires_at):
        expired = _me(key)

    assert expired.status_code == 401
    assert expired.json()["detail"] == (
        f"This API token expired on {expires_at.date().isoformat()}; ask your department's "
        "administrator for a new one."
    )


def test_the_command_sets_the_lifetime_and_prints_the_expiry(pharmacist, capsys):
    call_command("api_token", "pharmacist", "--expires-in-days", "7")

    output = capsys.readouterr().out
    token = ApiToken.objects.get(user=pharmacist)
    assert token.expires_at - timezone.now() == pytest.approx(
        dt.timedelta(days=7), abs=dt.timedelta(minutes=1)
    )
    assert f"It expires at {token.expires_at.isoformat(timespec='seconds')}." in output
    (issued,) = [
        payload for _, payload in _token_events() if payload["change"] == "api-token-issued"
    ]
    assert issued["expires_at"] == token.expires_at.isoformat()


@pytest.mark.parametrize("days", ["0", "-3", "731"])
def test_the_command_refuses_a_lifetime_outside_the_bounds(pharmacist, days):
    key = api_token_issue(actor="command:test", user=pharmacist)

    with pytest.raises(CommandError, match="An API token lives 1 to 730 days"):
        call_command("api_token", "pharmacist", "--expires-in-days", days)

    # The token the user held is untouched.
    assert _me(key).status_code == 200


def test_the_admin_shows_when_a_token_expires(client, pharmacist):
    api_token_issue(actor="command:test", user=pharmacist)
    superuser = get_user_model().objects.create_superuser("root", password=STRONG_PASSWORD)
    client.force_login(superuser)

    page = client.get("/admin/accounts/apitoken/")

    assert page.status_code == 200
    assert "Expires at" in page.content.decode()
