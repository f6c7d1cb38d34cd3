"""`Authorization: Token <key>` against hashed API tokens."""

from __future__ import annotations

import functools
import hmac
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from periop.accounts.models import API_TOKEN_PREFIX_LENGTH, ApiToken, api_token_digest
from periop.fixed_sql import FixedColumns, per_vendor, prepared_cursor


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401 challenge, checked against stored digests.

    One query: the tokens sharing the key's prefix, with their users. The digests are compared
    in constant time, so response times do not reveal how much of a key matched.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        digest = api_token_digest(key)
        for token in token_candidates(key[:API_TOKEN_PREFIX_LENGTH]):
            if hmac.compare_digest(token.digest, digest):
                if not token.user.is_active:
                    raise exceptions.AuthenticationFailed("User inactive or deleted.")
                if token.expires_at <= timezone.now():
                    raise exceptions.AuthenticationFailed(
                        "This API token expired on "
                        f"{token.expires_at.date().isoformat()}; ask your department's "
                        "administrator for a new one."
                    )
                return token.user, token
        raise exceptions.AuthenticationFailed("Invalid token.")


def token_candidates(prefix: str) -> list[ApiToken]:
    """The tokens whose key starts with `prefix`, each with its user, read afresh on every
    request (never cached: a token revoked or a user deactivated is refused at once) by one
    fixed statement, unordered (every candidate is compared anyway)."""
    database = router.db_for_read(ApiToken) or DEFAULT_DB_ALIAS
    connection = connections[database]
    tokens, users = _columns()
    with prepared_cursor(connection) as cursor:
        cursor.execute(_statement(connection), [prefix])
        rows = cursor.fetchall()
    candidates = []
    for row in rows:
        token = tokens.instance(connection, row[: len(tokens)])
        token.user = users.instance(connection, row[len(tokens) :])
        candidates.append(token)
    return candidates


@functools.cache
def _columns() -> tuple[FixedColumns[ApiToken], FixedColumns[Any]]:
    return FixedColumns(ApiToken), FixedColumns(get_user_model())


@per_vendor
def _statement(connection: BaseDatabaseWrapper) -> str:
    # Built from the models' metadata only, never from input.
    tokens, users = _columns()
    quote = connection.ops.quote_name
    token_table = quote(ApiToken._meta.db_table)
    user_table = quote(users.model._meta.db_table)
    return (
        f"SELECT {tokens.select_list(connection, 't')}, {users.select_list(connection, 'u')} "  # noqa: S608
        f"FROM {token_table} t INNER JOIN {user_table} u "
        f"ON u.{quote(users.model._meta.pk.column)} = "
        f"t.{quote(ApiToken._meta.get_field('user').column)} "
        f"WHERE t.{quote(ApiToken._meta.get_field('prefix').column)} = %s"
    )
