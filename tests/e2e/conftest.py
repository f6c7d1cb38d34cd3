"""Browser tests: pytest-playwright driving Debian's Chromium against Django's live server.

Browsers cannot be downloaded here, so Playwright launches the system Chromium. Without it the
tests skip on a developer's machine, but fail in CI (`CI=true`), which always installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium floods a closed network with refused connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MISSING_REASON = (
    "Chromium is not installed at /usr/bin/chromium (install it with `apt-get install chromium`)"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests run last: Playwright's event loop stays registered in the main thread until
    # the session ends, and so does the async-safety switch below; no other test may see either.
    browser_tests = [item for item in items if item.get_closest_marker("e2e")]
    items[:] = [item for item in items if not item.get_closest_marker("e2e")] + browser_tests
    if CHROMIUM.exists() or in_ci():
        return
    skip = pytest.mark.skip(reason=f"{MISSING_REASON}; CI runs these tests.")
    for item in browser_tests:
        item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def django_allow_async_unsafe() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test's thread, so Django would refuse
    the ORM calls of the test and its fixtures ("SynchronousOnlyOperation"). Set only once the
    browser tests start, so that no earlier test (nor a subprocess it starts) inherits it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session", autouse=True)
def _browser_tests_connections_closed(
    django_db_setup: None, django_allow_async_unsafe: None, playwright: Any
) -> Iterator[None]:
    """While Playwright's event loop is registered in the test's thread, Django keeps that
    thread's database connections apart from the ones opened before (asgiref's storage is
    per context once a loop runs), so the browser tests' connection is a second one that
    pytest-django never closes; on PostgreSQL the test database could then not be dropped.
    Torn down before Playwright stops and before the test databases go, this closes it."""
    yield
    from django.db import connections

    connections.close_all()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{MISSING_REASON}: CI must install it, browser tests cannot be skipped there.")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A common theatre workstation screen: the form and the caution panel side by side.
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def artifacts() -> Path:
    """Where tests leave screenshots for a person to look at (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _guards_lifted(audit_guard_lifted: None) -> None:
    """Every browser test is transactional (live server): its teardown flush would hit the
    append-only guards."""


@pytest.fixture
def signed_in(live_server: Any, page: Any) -> Any:
    """Signs a user in by giving the browser a session cookie (the login page has its own
    test), and returns the page."""
    from django.conf import settings
    from django.test import Client

    def sign_in(user: Any) -> Any:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )
        return page

    return sign_in
