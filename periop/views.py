"""Error pages: JSON under /api/, plain pages elsewhere."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from periop.protection import database_unavailable, unavailable_response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # A database failure outside a view (a middleware saving the session, say) reaches this
    # handler rather than DatabaseUnavailableMiddleware: it is a 503 here too.
    error = sys.exc_info()[1]
    if error is not None and database_unavailable(error):
        return unavailable_response(request, error)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return default_server_error(request)
