"""Deployment checks of the accounts app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def login_failures_counted_across_processes(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Failed logins per address are counted in the cache: a per-process cache multiplies the
    bound by the number of server processes."""
    backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
    if not backend.endswith("LocMemCache"):
        return []
    return [
        Warning(
            "Failed logins per client address are counted in each server process's own "
            "memory, so the bound LOGIN_FAILURES_PER_ADDRESS is multiplied by the number of "
            "processes.",
            hint="Set REDIS_URL (for example redis://127.0.0.1:6379/0) so that every process "
            "shares one count.",
            id="accounts.W001",
        )
    ]
