"""CDS Hooks endpoints: thin views over the service and the JWT check.

Plain Django views, not DRF: CDS Hooks defines its own authentication (a client JWT, no CSRF
token, no session) and its own error statuses (401 with an empty body, 412).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

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
from periop.parsers import fhir_json_body
from periop.renderers import JSONRenderer

View = Callable[..., HttpResponse]
_RENDERER = JSONRenderer()


def cross_origin(*methods: str) -> Callable[[View], View]:
    """Answers CORS preflights and marks responses readable by the allow-listed origins of
    browser-based CDS clients (`CDS_HOOKS_CORS_ORIGINS`); other origins get no CORS header, so
    browsers keep their pages from reading the answer. Other methods get 405."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @require_http_methods([*methods, "OPTIONS"])
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
            else:
                response = view(request, *args, **kwargs)
            origin = request.headers.get("Origin")
            if origin and origin in settings.CDS_HOOKS_CORS_ORIGINS:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = ", ".join([*methods, "OPTIONS"])
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response["Access-Control-Max-Age"] = "600"
                response["Vary"] = "Origin"
            return response

        return wrapped

    return decorate


def _authenticated(request: HttpRequest) -> Caller | HttpResponse:
    try:
        return caller_authenticate(request)
    except Rejected as rejection:
        with transaction.atomic():
            rejection_record(request, rejection)
        # No detail for the caller (CDS Hooks best practices): the reason is in the log.
        return HttpResponse(status=401, content=b"", headers={"WWW-Authenticate": "Bearer"})


def _body(request: HttpRequest) -> Any:
    """The JSON body, by the REST API parser's rules (no lone surrogates, no deep nesting),
    with room for FHIR resources' own nesting."""
    try:
        return fhir_json_body(request.body)
    except ValueError as error:
        raise DomainError(f"JSON parse error - {error}", field="body") from None


def _error(error: DomainError) -> JsonResponse:
    return JsonResponse(error.as_payload(), status=error.status_code)


@cross_origin("GET")
def discovery_view(request: HttpRequest) -> HttpResponse:
    caller = _authenticated(request)
    if isinstance(caller, HttpResponse):
        return caller
    discovery_record(caller)
    return JsonResponse(discovery())


@cross_origin("POST")
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
    # The cards rendered with orjson, as the REST API's answers are (the same JSON).
    return HttpResponse(_RENDERER.render(answer), content_type="application/json")


@cross_origin("POST")
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
