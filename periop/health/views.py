"""Unauthenticated health probe for load balancers and monitoring."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from periop.health.models import HealthProbe

logger = logging.getLogger(__name__)


def _database_state() -> str:
    """`ok`, `unreachable`, or `not-writable` (read-only, full): the database must take a write,
    since every audited read appends to the ledger. The probe's write is rolled back."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: the database is unreachable.")
        return "unreachable"
    try:
        with transaction.atomic():
            HealthProbe.objects.create(written_at=timezone.now())
            transaction.set_rollback(True)
    except DatabaseError as error:
        logger.warning("Health check: the database refuses writes (%s).", type(error).__name__)
        return "not-writable"
    return "ok"


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """`200 {"status": "ok", ...}` when the database answers and takes a write, `503` when it
    does not (down, read-only or full)."""
    from periop.drugs.registry import active_knowledge_base_version

    database = _database_state()
    body = {
        "status": "ok" if database == "ok" else "unavailable",
        "database": database,
        "knowledge_base": active_knowledge_base_version(),
    }
    response = JsonResponse(body, status=200 if database == "ok" else 503)
    if database != "ok":
        response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    return response
