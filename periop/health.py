"""Unauthenticated liveness probe for load balancers and monitoring."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: the database is unreachable.")
        return False
    return True


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """`200 {"status": "ok", ...}` when the database answers, `503` when it does not."""
    from periop.drugs.registry import active_knowledge_base_version

    database_ok = _database_ok()
    body = {
        "status": "ok" if database_ok else "unavailable",
        "database": "ok" if database_ok else "unreachable",
        "knowledge_base": active_knowledge_base_version(),
    }
    return JsonResponse(body, status=200 if database_ok else 503)
