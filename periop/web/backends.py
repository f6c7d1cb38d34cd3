"""The login lockout (django-axes) as the first authentication backend."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend  # type: ignore[import-untyped]
from axes.exceptions import AxesBackendPermissionDenied  # type: ignore[import-untyped]
from django.http import HttpRequest

from periop.accounts.login_limits import login_failures_exceeded


class LockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Refuses a locked-out login before any password is checked.

    Axes can only count attempts that come with a request. Authentication without one never
    comes from a browser or an API client (management commands, the test client's `login`),
    so it passes on to the password backend instead of failing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        if login_failures_exceeded(request):
            # Too many failed logins from this address, whatever the usernames (F13): refused
            # like a locked-out username, with the same lockout page.
            request.axes_locked_out = True  # type: ignore[attr-defined]
            raise AxesBackendPermissionDenied("Too many failed logins from this address.")
        super().authenticate(request, username=username, password=password, **kwargs)
        return None
