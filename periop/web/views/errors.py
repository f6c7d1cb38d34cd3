"""The 403 and 404 pages with the signed-in user's department in the header, as on every
other page. Under /api/ the API's own answers stay as they are."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.defaults import permission_denied as default_permission_denied

from periop import views as api_aware
from periop.web.workplace import Workplace, workplace_for


def _workplace(request: HttpRequest) -> Workplace | None:
    """The workplace a page view already found, or the session's for errors raised before any
    view ran (an unknown address); none for an anonymous visitor."""
    found: Workplace | None = getattr(request, "workplace", None)
    if found is None and getattr(request, "user", None) and request.user.is_authenticated:
        found = workplace_for(request)
    return found


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_aware.not_found(request, exception)
    return render(request, "404.html", {"workplace": _workplace(request)}, status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return default_permission_denied(request, exception)
    return render(request, "403.html", {"workplace": _workplace(request)}, status=403)
