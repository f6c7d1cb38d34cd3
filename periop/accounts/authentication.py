"""`Authorization: Token <key>` against hashed API tokens."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from periop.accounts.models import API_TOKEN_PREFIX_LENGTH, ApiToken, api_token_digest


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's token header and 401 challenge, checked against stored digests.

    One query, as before: the tokens sharing the key's prefix, with their users. The digests
    are compared in constant time, so response times do not reveal how much of a key matched.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        digest = api_token_digest(key)
        candidates = ApiToken.objects.select_related("user").filter(
            prefix=key[:API_TOKEN_PREFIX_LENGTH]
        )
        for token in candidates:
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
