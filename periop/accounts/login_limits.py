"""A bound on failed logins per client address (security review F13).

Django-axes locks a username on one address after a few failures, but someone rotating
usernames never trips it, and every failed login is an event in the append-only ledger. So
each address also gets a budget of failed logins per window, whatever the usernames: within
it every failure is recorded; the first attempt beyond it is refused and recorded once, as
throttled; later attempts from that address are refused and not recorded until the window
ends. The ledger thus grows by at most `LOGIN_FAILURES_PER_ADDRESS + 1` events per address and
window. The budget is generous, so one person's typos on a shared theatre workstation never
reach it.

The counts live in Django's cache. With `REDIS_URL` set, every server process shares one count
per address, so the bound is exact. With the default local-memory cache each process counts on
its own, which multiplies the bound by the number of processes but keeps it a bound
(`check --deploy` warns about that in production, `accounts.W001`). A cache that cannot be
reached never stops a login: the failure is logged and the attempt is not counted.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.helpers import get_client_ip_address  # type: ignore[import-untyped]
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def client_address(request: Any) -> str | None:
    """The client's address as django-axes resolves it (the same proxy rules), or None for
    authentication without a request (commands, tests)."""
    if request is None or not hasattr(request, "META"):
        return None
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    return str(address) if address else None


def _key(address: str) -> str:
    return f"periop:login-failures:{address}"


def login_failures_exceeded(request: Any) -> bool:
    """True when the request's address has used up its failed logins for the window."""
    address = client_address(request)
    if address is None:
        return False
    try:
        count: int = cache.get(_key(address), 0)
    except Exception:  # the cache server is down: never lock everyone out for it
        logger.warning("The login-failure count could not be read from the cache.")
        return False
    return count >= settings.LOGIN_FAILURES_PER_ADDRESS


def login_failure_count(request: Any) -> int | None:
    """Counts one failed login from the request's address and returns the address's count in
    the current window, this one included; None when there is no address to count."""
    address = client_address(request)
    if address is None:
        return None
    try:
        return _count(_key(address))
    except Exception:  # the cache server is down: the failure is still recorded in the ledger
        logger.warning("The login-failure count could not be written to the cache.")
        return None


def _count(key: str) -> int:
    # The window starts with the first failure and is not extended by later ones.
    if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        return 1
