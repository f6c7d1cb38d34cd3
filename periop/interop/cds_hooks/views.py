"""CDS Hooks endpoints: thin views over the service and the JWT check.

Plain Django views, not DRF: CDS Hooks defines its own authentication (a client JWT, no CSRF
token, no session) and its own error statuses (401 with an empty body, 412).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from periop.api import DomainError
from periop.interop.cds_hooks.auth import Caller, Rejected, caller_authenticate, rejection_record
from periop.interop.cds_hooks.prefetch import PreconditionFailed
from periop.interop.cds_hooks.services import (
    SERVICE_ID,
    discovery,
    discovery_record,
    feedback_record,
    hook_call,
)


def _authenticated(request: HttpRequest) -> Caller | HttpResponse:
    try:
        return caller_authenticate(request)
    except Rejected as rejection:
        with transaction.atomic():
            rejection_record(request, rejection)
        # No detail for the caller (CDS Hooks best practices): the reason is in the log.
        return HttpResponse(status=401, content=b"", headers={"WWW-Authenticate": "Bearer"})


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("Send a JSON object.", field="body") from None


def _error(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_payload(), status=error.status_code)


@require_GET
def discovery_view(request: HttpRequest) -> HttpResponse:
    caller = _authenticated(request)
    if isinstance(caller, HttpResponse):
        return caller
    discovery_record(caller)
    return JsonResponse(discovery())


@csrf_exempt
@require_POST
def service_view(request: HttpRequest, service_id: str) -> HttpResponse:
    caller = _authenticated(request)
    if isinstance(caller, HttpResponse):
        return caller
    if service_id != SERVICE_ID:
        return JsonResponse({"detail": "No such CDS service."}, status=404)
    try:
        answer = hook_call(
            caller=caller,
            service_id=service_id,
            body=_body(request),
            source_url=request.build_absolute_uri("/"),
        )
    except PreconditionFailed as missing:
        return JsonResponse(
            {
                "detail": "Data the service needs could be neither found in prefetch nor "
                "fetched from the FHIR server.",
                "prefetch": missing.keys,
            },
            status=412,
        )
    except DomainError as error:
        return _error(error)
    return JsonResponse(answer)


@csrf_exempt
@require_POST
def feedback_view(request: HttpRequest, service_id: str) -> HttpResponse:
    caller = _authenticated(request)
    if isinstance(caller, HttpResponse):
        return caller
    if service_id != SERVICE_ID:
        return JsonResponse({"detail": "No such CDS service."}, status=404)
    try:
        feedback_record(caller=caller, service_id=service_id, body=_body(request))
    except DomainError as error:
        return _error(error)
    return HttpResponse(status=200)
