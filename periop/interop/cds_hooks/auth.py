"""The CDS Hooks client JWT (CDS Hooks 2.0.1 "Trusting CDS Clients"): verified with PyJWT.

Every call (discovery, service, feedback) carries `Authorization: Bearer <JWT>`, signed by a
registered client with ES384 or RS384. The audience is the exact URL called, as Periop sees it.
A `jti` is accepted once: the database remembers it until the token expires, so a replay is
refused whichever application server it reaches. The token itself is never logged or stored.

A call costs one statement. The token is verified with the key of the client as this process
last read it; then one statement remembers the `jti`, reads the client as it is now and its
department's tunings in force. The call is let in only if that client is active and its key
is the one the token was verified with (else the token is verified again with the key read
now), so a client deactivated or given a new key in the admin is refused at once, as if it
were read before every call. Only a process's first call for an issuer, or a token its
remembered key does not verify, reads the client beforehand.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest
from django.utils import timezone

from periop.audit.models import Action, ActorKind, Outcome
from periop.audit.services import Actor, audit_event_append
from periop.drugs.engine.tuning import Tuning
from periop.drugs.tunings import department_sign_offs_joined, department_tunings, tunings_from_rows
from periop.fixed_sql import FixedColumns, per_vendor, prepared_cursor
from periop.interop.models import CdsClient, CdsTokenSeen
from periop.parsers import json_body

logger = logging.getLogger("periop.interop.cds_hooks")

ALGORITHMS = ("ES384", "RS384")
# The longest lifetime a token may claim: the CDS Hooks best practices keep a jti for at most
# an hour, so a token that claims to live longer is refused rather than remembered for ever.
MAX_TOKEN_LIFETIME = dt.timedelta(hours=1)
JWKS_CACHE_SECONDS = 300


class Rejected(Exception):
    """The caller is not let in; `reason` goes to the log and the ledger, never to the caller."""

    def __init__(self, reason: str, issuer: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.issuer = issuer


@dataclass(frozen=True, slots=True)
class Caller:
    client: CdsClient
    jti: str
    # The client's department's tunings in force when the call was let in, by rule.
    tunings: Mapping[str, list[Tuning]] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        return Actor(user_id=None, username=self.client.issuer[:150], kind=ActorKind.API_CLIENT)


def audience(request: HttpRequest) -> str:
    """The URL called, as Periop sees it (scheme, host and path, no query)."""
    return request.build_absolute_uri(request.path)


def _bearer(request: HttpRequest) -> str:
    header = str(request.META.get("HTTP_AUTHORIZATION", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejected("no bearer token")
    return token.strip()


# JWK Sets by URL: (fetched at, keys by kid). Refreshed after JWKS_CACHE_SECONDS, or at once
# when a token names a kid the cached set does not hold (the client rotated its keys).
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_jwks_lock = threading.Lock()


def _jwks_keys(url: str, *, refresh: bool) -> dict[str, Any]:
    with _jwks_lock:
        cached = _jwks_cache.get(url)
        if cached and not refresh and time.monotonic() - cached[0] < JWKS_CACHE_SECONDS:
            return cached[1]
    try:
        response = httpx.get(url, timeout=_timeout(), follow_redirects=False)
        response.raise_for_status()
        # Read by the API parser's rules: a crafted set (deep nesting) is unavailable, not a 500.
        key_set = jwt.PyJWKSet.from_dict(json_body(response.content))
    except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
        raise Rejected(f"JWK Set unavailable ({type(error).__name__})") from error
    keys = {key.key_id: key.key for key in key_set.keys if key.key_id}
    with _jwks_lock:
        _jwks_cache[url] = (time.monotonic(), keys)
    return keys


def _timeout() -> httpx.Timeout:
    seconds = float(getattr(settings, "CDS_HOOKS_HTTP_TIMEOUT_SECONDS", 3.0))
    return httpx.Timeout(seconds, connect=min(seconds, 2.0))


def _verification_key(client: CdsClient, header: dict[str, Any]) -> Any:
    jku = header.get("jku")
    if client.jwks_url:
        if jku is not None and jku != client.jwks_url:
            raise Rejected("jku is not the client's registered JWK Set", client.issuer)
        kid = header["kid"]
        keys = _jwks_keys(client.jwks_url, refresh=False)
        if kid not in keys:
            keys = _jwks_keys(client.jwks_url, refresh=True)
        if kid not in keys:
            raise Rejected("unknown kid", client.issuer)
        return keys[kid]
    if jku is not None:
        raise Rejected("jku given for a client registered with a public key", client.issuer)
    try:
        return _public_key(str(client.public_key_pem))
    except (ValueError, TypeError) as error:
        raise Rejected(
            f"registered public key unreadable ({type(error).__name__})", client.issuer
        ) from error


@functools.lru_cache(maxsize=64)
def _public_key(pem: str) -> Any:
    """A registered PEM parsed once, not on every call (a key changed in the admin is a new
    PEM, so it is parsed afresh)."""
    return serialization.load_pem_public_key(pem.encode())


def caller_authenticate(request: HttpRequest) -> Caller:
    """The registered client whose valid, unreplayed JWT authorises this request, with its
    department's tunings in force; or Rejected."""
    token = _bearer(request)
    try:
        # Header and claims in one unverified parse; the signature is verified below, once
        # the issuer's key is known.
        unverified = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise Rejected("malformed token") from error
    header, claims = unverified["header"], unverified["payload"]
    if not isinstance(claims, dict):
        raise Rejected("malformed token")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Rejected("no iss")
    if header.get("alg") not in ALGORITHMS:
        raise Rejected(f"algorithm {str(header.get('alg'))[:16]!r} not allowed", issuer)
    if header.get("typ") != "JWT":
        raise Rejected("typ is not JWT", issuer)
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise Rejected("no kid", issuer)
    remembered = _clients.get(issuer)
    client = remembered or _active_client(issuer)
    try:
        verified = _verified(token, header, client, request)
    except Rejected:
        if remembered is None:
            raise
        # The key may have changed since this process read the client: read it now.
        client = _active_client(issuer)
        if _key_of(client) == _key_of(remembered):
            raise
        verified = _verified(token, header, client, request)
    jti = verified["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise Rejected("jti is not a string of 1 to 255 characters", issuer)
    expires_at = dt.datetime.fromtimestamp(int(verified["exp"]), tz=dt.UTC)
    if expires_at - timezone.now() > MAX_TOKEN_LIFETIME:
        raise Rejected("exp more than an hour ahead", issuer)
    current, tunings = _jti_claim(issuer, jti, expires_at)
    if current is None or not current.active:
        _clients.pop(issuer, None)
        raise Rejected("issuer not registered or inactive", issuer)
    if _key_of(current) != _key_of(client):
        # Given a new key between the read and the claim: the token must verify with it.
        _verified(token, header, current, request)
    _remember(issuer, current)
    return Caller(client=current, jti=jti, tunings=tunings)


# The clients as this process last read them, by issuer: only the key to verify a token with
# before the claim, which reads the client again. At most CLIENTS_REMEMBERED, forgotten all at
# once when full (an issuer is registered by hand, so there are few).
CLIENTS_REMEMBERED = 256
_clients: dict[str, CdsClient] = {}


def _remember(issuer: str, client: CdsClient) -> None:
    if issuer not in _clients and len(_clients) >= CLIENTS_REMEMBERED:
        _clients.clear()
    _clients[issuer] = client


def _key_of(client: CdsClient) -> tuple[str, str]:
    return (client.jwks_url, client.public_key_pem)


def _active_client(issuer: str) -> CdsClient:
    client = _registered_client(issuer)
    if client is None or not client.active:
        raise Rejected("issuer not registered or inactive", issuer)
    return client


def _verified(
    token: str, header: dict[str, Any], client: CdsClient, request: HttpRequest
) -> dict[str, Any]:
    """The token's claims, verified with `client`'s key; or Rejected."""
    issuer = client.issuer
    key = _verification_key(client, header)
    try:
        verified: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=list(ALGORITHMS),
            audience=audience(request),
            issuer=issuer,
            options={"require": ["iss", "aud", "exp", "iat", "jti"], "strict_aud": False},
        )
    except jwt.ExpiredSignatureError as error:
        raise Rejected("token expired", issuer) from error
    except jwt.InvalidAudienceError as error:
        raise Rejected("wrong audience (not the URL called)", issuer) from error
    except jwt.MissingRequiredClaimError as error:
        raise Rejected(f"no {error.claim} claim", issuer) from error
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise Rejected(f"token not verified ({type(error).__name__})", issuer) from error
    return verified


def _registered_client(issuer: str) -> CdsClient | None:
    """The client registered for `issuer`, read by one fixed statement (building the ORM
    query cost more than running it) and built as the ORM builds it (SQLite returns `active`
    as an integer). Read before verifying when this process has no key for the issuer, or its
    key does not verify the token; and, on SQLite, in the claim."""
    connection = connections[router.db_for_read(CdsClient) or DEFAULT_DB_ALIAS]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_client_statement(connection), [issuer])
        row = cursor.fetchone()
    return None if row is None else _CLIENT.instance(connection, row)


_CLIENT = FixedColumns(CdsClient)


@per_vendor
def _client_statement(connection: BaseDatabaseWrapper) -> str:
    # Built from model metadata only, never from input.
    quote = connection.ops.quote_name
    return (
        f"SELECT {_CLIENT.select_list(connection, 'c')} "  # noqa: S608
        f"FROM {quote(CdsClient._meta.db_table)} c "
        f"WHERE c.{quote(CdsClient._meta.get_field('issuer').column)} = %s"
    )


_SEEN = CdsTokenSeen._meta.db_table


@per_vendor
def _claim_statement(connection: BaseDatabaseWrapper, relaxed: bool) -> str:
    """The claim of a jti, the forgetting of expired ones, the client's read and its
    department's tunings in force, in one statement (PostgreSQL): a row per sign-off (one with
    NULLs when there is none), none when the issuer is not registered. The jti is remembered
    only for an active client; the row says whether it was. `relaxed`: on its own (in
    autocommit, as in a request) the statement also relaxes its own commit:
    `set_config(..., true)` is SET LOCAL, in force until the end of the statement's
    transaction and no further. Built from model metadata only, never from input."""
    quote = connection.ops.quote_name
    department = quote(CdsClient._meta.get_field("department").column)
    active = quote(CdsClient._meta.get_field("active").column)
    sign_offs, joins, order = department_sign_offs_joined(connection, f"client.{department}")
    relax = "relaxed AS (SELECT set_config('synchronous_commit', 'off', true)), "
    return (
        f"WITH {relax if relaxed else ''}"  # noqa: S608
        f"forgotten AS (DELETE FROM {_SEEN} WHERE expires_at < %s), "
        f"client AS (SELECT {_CLIENT.select_list(connection, 'c')} "
        f"FROM {quote(CdsClient._meta.db_table)} c "
        f"WHERE c.{quote(CdsClient._meta.get_field('issuer').column)} = %s), "
        f"claimed AS (INSERT INTO {_SEEN} (issuer, jti, expires_at) SELECT %s, %s, %s "
        f"FROM client{', relaxed' if relaxed else ''} WHERE client.{active} RETURNING 1) "
        f"SELECT client.*, EXISTS (SELECT 1 FROM claimed), {sign_offs} "
        f"FROM client {joins} ORDER BY {order}"
    )


def _jti_claim(
    issuer: str, jti: str, expires_at: dt.datetime
) -> tuple[CdsClient | None, Mapping[str, list[Tuning]]]:
    """Remembers `jti` until `expires_at` if `issuer` is registered and active; a jti already
    remembered is a replay. Returns the client as it is now (None if not registered; a client
    found inactive has its jti not remembered) with its department's tunings in force.

    On PostgreSQL, one statement, which also forgets the tokens that can no longer be replayed
    (expired: a short indexed delete). In a request (autocommit) it is its own transaction,
    and it commits without waiting for the disk flush: the list of seen tokens is no clinical
    record and no audit evidence, and a crash of the database server could at worst forget
    the tokens of its last moments, replayable until they expire (an hour at the most).
    Waiting for the flush here cost a CDS Hooks call a whole extra flush, besides the one of
    its audited check. Inside an enclosing transaction it runs under a savepoint (a replay
    leaves that transaction usable) and leaves that transaction's commit as it is."""
    now = timezone.now()
    connection = connections[router.db_for_write(CdsTokenSeen) or DEFAULT_DB_ALIAS]
    try:
        if connection.vendor != "postgresql":
            with transaction.atomic(using=connection.alias):
                client = _registered_client(issuer)
                if client is None or not client.active:
                    return client, {}
                CdsTokenSeen.objects.create(issuer=issuer, jti=jti, expires_at=expires_at)
                CdsTokenSeen.objects.filter(expires_at__lt=now).delete()
            return client, department_tunings(client.department_id)
        relaxed = not connection.in_atomic_block
        with (
            transaction.atomic(using=connection.alias) if not relaxed else contextlib.nullcontext(),
            prepared_cursor(connection) as cursor,
        ):
            cursor.execute(
                _claim_statement(connection, relaxed), [now, issuer, issuer, jti, expires_at]
            )
            rows = cursor.fetchall()
    except IntegrityError:
        raise Rejected("jti replayed", issuer) from None
    if not rows:
        return None, {}
    width = len(_CLIENT)
    client = _CLIENT.instance(connection, rows[0][:width])
    if not rows[0][width]:
        # Not claimed: found inactive (the read says so too).
        return client, {}
    return client, tunings_from_rows(connection, (row[width + 1 :] for row in rows))


def rejection_record(request: HttpRequest, rejection: Rejected) -> None:
    """Logs and audits a refused caller: the reason and the claimed issuer, never the token."""
    endpoint = request.path[:64]
    logger.warning(
        "CDS Hooks caller refused: %s",
        rejection.reason,
        extra={"cds_issuer": rejection.issuer[:255], "cds_endpoint": endpoint},
    )
    audit_event_append(
        actor=Actor(user_id=None, username="", kind=ActorKind.ANONYMOUS),
        action=Action.LOGIN_FAILED,
        resource_type="cds-hooks",
        resource_id=endpoint,
        data_category="authentication",
        outcome=Outcome.FAILURE,
        payload={"reason": rejection.reason, "claimed_issuer": rejection.issuer[:255]},
    )
