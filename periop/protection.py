"""Middleware that protects every endpoint, pages and API alike: a bound on request bodies,
no caching of responses that may carry patient data, and a 503 (not a 500) when the database
cannot serve the request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control

logger = logging.getLogger(__name__)

GetResponse = Callable[[HttpRequest], HttpResponse]

# SQLSTATE classes and codes of a database that cannot serve requests for now: connection
# failures (08), insufficient resources such as a full disk (53), an operator intervention or
# shutdown (57P), a read-only transaction or server (25006), a serialisation failure or
# deadlock (40). The driver's exception class alone does not say it: PostgreSQL reports a
# read-only server as an internal error.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P", "25006", "40")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is down, read-only, full or busy (worth retrying),
    rather than a bug in the request or the code."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    if not isinstance(error, DatabaseError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class RequestBodyLimitMiddleware:
    """413 for a body larger than `MAX_REQUEST_BODY_BYTES`, before anything reads it.

    The declared Content-Length decides, so the body is never read; a request without one has
    no body for Django (it reads at most Content-Length bytes from the server), so a body
    cannot be smuggled past this check. Django's own `DATA_UPLOAD_MAX_MEMORY_SIZE` covers
    form data only, not the JSON the API parses.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = int(settings.MAX_REQUEST_BODY_BYTES)
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return self._refuse(request, 400, "The Content-Length header is not a number.")
        if length > limit:
            return self._refuse(
                request,
                413,
                f"The request body ({length} bytes) is larger than the limit of {limit} bytes.",
            )
        return self.get_response(request)

    @staticmethod
    def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
        # The body stays unread: closing the connection spares the server from draining it.
        if _wants_json(request):
            response: HttpResponse = JsonResponse(
                {"detail": message, "code": "too-large" if status == 413 else "invalid"},
                status=status,
            )
        else:
            response = HttpResponse(message, status=status, content_type="text/plain")
        response["Connection"] = "close"
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that does not choose its own caching.

    Pages and API answers carry patient data, and theatre workstations are shared: the browser
    cache and the back button must not keep a record after logout. Static files are served
    before this middleware (WhiteNoise) and keep their long-lived caching.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class DatabaseUnavailableMiddleware:
    """503 with `Retry-After` when the database is down, read-only or full, on every page and
    API endpoint: the request may succeed later, and a 500 would say it never will."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        return unavailable_response(request, exception)


def unavailable_response(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """The 503 for a database that cannot serve the request, as JSON under /api/."""
    # The type only: a database message can quote the data of the failed statement.
    logger.error(
        "The database cannot serve the request: %s.",
        type(exception).__name__,
        extra={"status_code": 503},
    )
    message = "The service is unavailable for a moment. Try again shortly."
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": message, "code": "unavailable"}, status=503
        )
    else:
        response = HttpResponse(message, status=503, content_type="text/plain")
    response["Retry-After"] = str(int(settings.DATABASE_RETRY_AFTER_SECONDS))
    patch_cache_control(response, no_store=True, private=True)
    return response
