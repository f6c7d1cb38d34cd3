"""What the shared page header needs on pages that are not the pre-op pages' own (the
report pages): the user's workplace, for the department, role and navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from periop.web.workplace import workplace_for


def workplace(request: HttpRequest) -> dict[str, Any]:
    """The session's workplace, looked up only if a template shows it (one query). The
    pre-op pages set their own (`request.workplace`), and pass it explicitly."""
    if hasattr(request, "workplace") or not request.user.is_authenticated:
        return {}
    return {"workplace": SimpleLazyObject(lambda: workplace_for(request))}
