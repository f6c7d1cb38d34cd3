"""The client JWT (standards-reference §1.8, CDSH-08, CDSH-09): every refusal is a 401 with an
empty body, is logged without the token and is recorded in the ledger."""

from __future__ import annotations

import json
import logging
import time
import uuid

import httpx
import jwt
import pytest
import respx
from django.test import Client

from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.interop.cds_hooks import auth
from periop.interop.models import CdsClient, CdsTokenSeen
from periop.interop.services import cds_client_save
from tests.interop.conftest import (
    DISCOVERY_URL,
    FEEDBACK_URL,
    ISSUER,
    MYASTHENIA,
    RSA_ISSUER,
    SERVICE_URL,
    bearer,
    full_prefetch,
    hook_body,
    make_token,
    order,
    public_pem,
)

pytestmark = pytest.mark.django_db

GENTAMICIN = order("mr-gent", ("http://www.whocc.no/atc", "J01GB03"), text="gentamicin")


def _post(token: str | None, body=None, path="/cds-services/periop-nmj"):
    headers = bearer(token) if token is not None else {}
    return Client().post(
        path,
        data=body or hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA)),
        content_type="application/json",
        **headers,
    )


def _assert_refused(response, reason_part: str, *, accepted_before: int = 0) -> None:
    assert response.status_code == 401
    assert response.content == b""
    event = AuditEvent.objects.filter(resource_type="cds-hooks").latest("sequence")
    assert event.outcome == "failure"
    assert event.action == "login-failed"
    assert reason_part in json.loads(event.payload)["reason"]
    # The refused request checked nothing.
    assert AuditEvent.objects.filter(resource_type="cds-hook").count() == accepted_before


def test_a_valid_es384_token_is_accepted(cds_client, token):
    assert _post(token()).status_code == 200


def test_a_valid_rs384_token_is_accepted(rsa_cds_client, rsa_key):
    signed = make_token(rsa_key, iss=RSA_ISSUER, alg="RS384")

    assert _post(signed).status_code == 200


def test_no_token_is_refused(cds_client):
    _assert_refused(_post(None), "no bearer token")


def test_an_expired_token_is_refused(cds_client, token):
    _assert_refused(_post(token(lifetime=-10)), "expired")


def test_a_token_for_another_endpoint_is_refused(cds_client, token):
    _assert_refused(_post(token(aud=FEEDBACK_URL)), "audience")


def test_a_token_for_another_host_is_refused(cds_client, token):
    other = SERVICE_URL.replace("testserver", "periop.elsewhere.example")
    _assert_refused(_post(token(aud=other)), "audience")


def test_a_replayed_jti_is_refused(cds_client, token):
    jti = str(uuid.uuid4())
    assert _post(token(jti=jti)).status_code == 200

    _assert_refused(_post(token(jti=jti)), "replayed", accepted_before=1)


def test_the_jti_is_kept_until_the_token_expires(cds_client, token):
    _post(token(lifetime=120))

    seen = CdsTokenSeen.objects.get()
    assert 100 <= seen.expires_at.timestamp() - time.time() <= 121


def test_an_unregistered_issuer_is_refused(cds_client, other_ec_key):
    signed = make_token(other_ec_key, iss="https://unknown.example/")

    _assert_refused(_post(signed), "not registered")


def test_an_inactive_client_is_refused(cds_client, token):
    cds_client.active = False
    cds_client_save(actor=Actor.system("test"), client=cds_client)

    _assert_refused(_post(token()), "not registered")


def test_a_client_deactivated_between_two_calls_is_refused_at_once(cds_client, token):
    assert _post(token()).status_code == 200
    CdsClient.objects.filter(pk=cds_client.pk).update(active=False)

    _assert_refused(_post(token()), "not registered", accepted_before=1)


def test_a_client_deactivated_between_two_calls_has_its_jti_not_remembered(cds_client, token):
    assert _post(token()).status_code == 200
    CdsClient.objects.filter(pk=cds_client.pk).update(active=False)

    _post(token())

    assert CdsTokenSeen.objects.count() == 1


def _new_key(client: CdsClient, key) -> None:
    """The client's key changed as the admin changes it (another process's write)."""
    CdsClient.objects.filter(pk=client.pk).update(public_key_pem=public_pem(key))


def test_a_client_given_a_new_key_is_let_in_with_it_at_once(cds_client, token, other_ec_key):
    # The process remembers the client with its first key.
    assert _post(token()).status_code == 200
    _new_key(cds_client, other_ec_key)

    assert _post(make_token(other_ec_key)).status_code == 200
    assert _post(make_token(other_ec_key)).status_code == 200


def test_a_token_signed_with_a_replaced_key_is_refused_at_once(cds_client, token, other_ec_key):
    # The remembered key still verifies the token; the client read with the claim has another.
    assert _post(token()).status_code == 200
    _new_key(cds_client, other_ec_key)

    _assert_refused(_post(token()), "not verified", accepted_before=1)


def test_a_remembered_client_is_let_in_with_one_statement(cds_client, token, rf):
    """A process's later calls for an issuer read the client only in the claim, with the
    department's tunings (PostgreSQL; SQLite claims with the ORM)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from periop.interop.cds_hooks.auth import caller_authenticate

    def request():
        return rf.post("/cds-services/periop-nmj", **bearer(token()))

    caller_authenticate(request())
    with CaptureQueriesContext(connection) as queries:
        caller = caller_authenticate(request())

    assert caller.client == cds_client
    if connection.vendor == "postgresql":
        # The test's transaction puts the claim under a savepoint; a request has none.
        statements = [
            query["sql"]
            for query in queries
            if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        ]
        assert len(statements) == 1
        assert "INSERT INTO" in statements[0]


def test_a_token_signed_with_an_unknown_key_is_refused(cds_client, other_ec_key):
    _assert_refused(_post(make_token(other_ec_key)), "not verified")


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "RS256", "ES256", "none"])
def test_other_algorithms_are_refused(cds_client, rsa_key, algorithm):
    if algorithm.startswith("HS"):
        signed = jwt.encode(
            {"iss": ISSUER, "aud": SERVICE_URL, "exp": int(time.time()) + 60, "jti": "x"},
            "a-shared-secret-long-enough-for-any-hmac-algorithm-64-bytes-long!",
            algorithm=algorithm,
            headers={"kid": "k", "typ": "JWT"},
        )
    elif algorithm == "none":
        signed = jwt.encode(
            {"iss": ISSUER, "aud": SERVICE_URL, "exp": int(time.time()) + 60, "jti": "x"},
            None,
            algorithm="none",
            headers={"kid": "k", "typ": "JWT"},
        )
    elif algorithm == "ES256":
        from cryptography.hazmat.primitives.asymmetric import ec

        signed = make_token(ec.generate_private_key(ec.SECP256R1()), alg="ES256")
    else:
        signed = make_token(rsa_key, alg=algorithm)

    _assert_refused(_post(signed), "not allowed")


def test_a_token_without_kid_or_with_another_typ_is_refused(cds_client, ec_key):
    _assert_refused(_post(make_token(ec_key, headers={"typ": "JOSE"})), "typ")
    no_kid = jwt.encode(
        {"iss": ISSUER, "aud": SERVICE_URL, "exp": int(time.time()) + 60, "iat": 1, "jti": "y"},
        ec_key,
        algorithm="ES384",
        headers={"typ": "JWT"},
    )
    _assert_refused(_post(no_kid), "kid")


def test_a_token_without_jti_is_refused(cds_client, ec_key):
    _assert_refused(_post(make_token(ec_key, drop=["jti"])), "jti")


def test_a_token_living_longer_than_an_hour_is_refused(cds_client, token):
    _assert_refused(_post(token(lifetime=2 * 3600)), "hour")


def test_a_jku_other_than_the_registered_one_is_refused(cds_client, token):
    _assert_refused(_post(token(headers={"jku": "https://evil.example/jwks"})), "jku")


def test_a_refusal_is_logged_without_the_token(cds_client, token, caplog):
    expired = token(lifetime=-10)

    with caplog.at_level(logging.INFO):
        _post(expired)

    assert "expired" in caplog.text
    assert expired not in caplog.text
    assert expired.split(".")[2] not in caplog.text
    for event in AuditEvent.objects.all():
        assert expired not in event.payload


def test_neither_token_reaches_the_log_or_the_database(cds_client, token, caplog):
    signed = token()
    body = hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))
    body["fhirServer"] = "https://fhir.hospital.example/r4"
    body["fhirAuthorization"] = {
        "access_token": "fhir-access-token-never-stored",
        "token_type": "Bearer",
        "expires_in": 30,
        "scope": "patient/*.read",
        "subject": "periop",
    }

    with caplog.at_level(logging.DEBUG):
        assert _post(signed, body).status_code == 200

    for secret in (signed, "fhir-access-token-never-stored"):
        assert secret not in caplog.text
        for event in AuditEvent.objects.all():
            assert secret not in event.payload


def test_discovery_and_feedback_refuse_without_a_token(cds_client):
    assert Client().get("/cds-services").status_code == 401
    response = Client().post(
        "/cds-services/periop-nmj/feedback", data={}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.content == b""
    assert AuditEvent.objects.filter(resource_type="cds-hooks", outcome="failure").count() == 2


@respx.mock
def test_a_client_registered_with_a_jwks_url_is_verified_against_its_key_set(department, ec_key):
    jwks_url = "https://ehr.example/.well-known/jwks.json"
    cds_client_save(
        actor=Actor.system("test"),
        client=CdsClient(issuer="https://jwks.example/", jwks_url=jwks_url, department=department),
    )
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    route = respx.get(jwks_url).mock(
        return_value=httpx.Response(200, json={"keys": [{**jwk, "kid": "ehr-key-1"}]})
    )
    auth._jwks_cache.clear()

    signed = make_token(ec_key, iss="https://jwks.example/", headers={"jku": jwks_url})
    assert _post(signed).status_code == 200
    other_kid = make_token(ec_key, iss="https://jwks.example/", headers={"kid": "rotated"})
    _assert_refused(_post(other_kid), "unknown kid", accepted_before=1)
    # The unknown kid made it fetch the key set again, once.
    assert route.call_count == 2


@respx.mock
def test_a_crafted_key_set_is_a_refusal_not_an_error(department, ec_key):
    """A JWK Set nested thousands deep is unavailable: the caller is refused (401), the
    server does not fail (500)."""
    jwks_url = "https://ehr.example/.well-known/jwks.json"
    cds_client_save(
        actor=Actor.system("test"),
        client=CdsClient(issuer="https://jwks.example/", jwks_url=jwks_url, department=department),
    )
    respx.get(jwks_url).mock(
        return_value=httpx.Response(200, content=b'{"keys": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    )
    auth._jwks_cache.clear()

    signed = make_token(ec_key, iss="https://jwks.example/", headers={"jku": jwks_url})
    _assert_refused(_post(signed), "JWK Set unavailable")


def test_each_endpoint_has_its_own_audience(cds_client, token):
    assert Client().get("/cds-services", **bearer(token(aud=DISCOVERY_URL))).status_code == 200
    assert Client().get("/cds-services", **bearer(token(aud=SERVICE_URL))).status_code == 401


def test_a_token_is_remembered_and_expired_ones_forgotten_in_one_step(cds_client):
    """Inside an enclosing transaction the claim runs under a savepoint: a replay leaves that
    transaction usable, and its commit keeps the session's durability."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from periop.interop.cds_hooks.auth import Rejected, _jti_claim

    now = timezone.now()
    CdsTokenSeen.objects.create(issuer=ISSUER, jti="old", expires_at=now)
    client, tunings = _jti_claim(ISSUER, "new", now + dt.timedelta(minutes=5))

    assert client == cds_client
    assert tunings == {}
    assert list(CdsTokenSeen.objects.values_list("jti", flat=True)) == ["new"]
    with pytest.raises(Rejected, match="jti replayed"):
        _jti_claim(ISSUER, "new", now + dt.timedelta(minutes=5))
    # The enclosing transaction is still usable after the refused replay.
    assert CdsTokenSeen.objects.count() == 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"


def test_in_a_request_the_claim_commits_on_its_own_without_waiting_for_the_disk(
    audit_guard_lifted, transactional_db, cds_client
):
    """Outside a transaction (as in a request) each claim is its own transaction, and on
    PostgreSQL it does not wait for a WAL flush: twenty claims sync the WAL far fewer than
    twenty times (only the WAL writer's periodic flush may fall among them)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from periop.interop.cds_hooks.auth import Rejected, _jti_claim
    from tests.wal import wal_syncs

    expires = timezone.now() + dt.timedelta(minutes=5)
    assert not connection.in_atomic_block
    before = wal_syncs() if connection.vendor == "postgresql" else 0
    for number in range(20):
        _jti_claim(ISSUER, f"jti-{number}", expires)
    if connection.vendor == "postgresql":
        assert wal_syncs() - before < 10
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            # SET LOCAL: the session's own setting is untouched.
            assert cursor.fetchone()[0] == "on"
    with pytest.raises(Rejected, match="jti replayed"):
        _jti_claim(ISSUER, "jti-3", expires)
    assert CdsTokenSeen.objects.count() == 20
