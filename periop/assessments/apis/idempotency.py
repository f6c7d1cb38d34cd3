"""`Idempotency-Key` on the API's creating requests.

A client that never saw the answer to a POST (a timeout, a dropped connection) sends it again
with the same key. The retry creates nothing: it gets the answer of the first request, with
`Idempotent-Replayed: true`. The same key with another request (another body or another URL) is
a 422. Keys belong to one user; a request without a key behaves as before.

The first request and the key's record commit together, so a simultaneous retry either waits
and replays, or (on SQLite, where writers queue) finds the record; it never creates twice.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from periop.assessments.selectors import assessment_patient_id, patient_get
from periop.assessments.services import patient_data_read
from periop.assessments.services.idempotency import (
    StoredAnswer,
    idempotent_answer_get,
    idempotent_answer_store,
    once_per_key,
)
from periop.assessments.services.snapshots import canonical_json, digest
from periop.audit.services import Actor

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")

# Headers of the first answer that a replay repeats.
_REPLAYED_HEADERS = ("Location", "ETag")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any 1 to 200 printable ASCII characters, new for each record created (a UUID, "
    "say). A retry with the same key and the same request answers as the first request did "
    "(header `Idempotent-Replayed: true`) instead of creating another record; the same key "
    "with another request is a 422.",
)


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, None without one; a 400 for a malformed one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            {"Idempotency-Key": ["Use 1 to 200 printable ASCII characters, without spaces."]}
        )
    return key


def request_digest(request: Request) -> str:
    """What a retry must repeat: the URL and the body."""
    return digest(canonical_json({"path": request.path, "body": request.data}))


ViewT = TypeVar("ViewT")
P = ParamSpec("P")


def idempotent_create(
    *,
    patient_of: Callable[[Any, Mapping[str, Any]], int],
    resource_type: str | None = None,
    data_category: str | None = None,
) -> Callable[
    [Callable[Concatenate[ViewT, Request, P], Response]],
    Callable[Concatenate[ViewT, Request, P], Response],
]:
    """Makes a creating `post` honour `Idempotency-Key`. `patient_of(body, url_kwargs)` names
    the patient whose data the answer shows: a replay shows it again and is audited as a read
    of it (`resource_type`, `data_category`; by default the view's own attributes)."""

    def decorate(
        post: Callable[Concatenate[ViewT, Request, P], Response],
    ) -> Callable[Concatenate[ViewT, Request, P], Response]:
        @functools.wraps(post)
        def wrapper(
            view: ViewT, request: Request, /, *args: P.args, **kwargs: P.kwargs
        ) -> Response:
            key = idempotency_key(request)
            if key is None:
                return post(view, request, *args, **kwargs)
            user_id = request.user.pk
            if user_id is None:  # pragma: no cover - every creating endpoint needs a user
                return post(view, request, *args, **kwargs)
            kind = resource_type or getattr(view, "resource_type")  # noqa: B009
            category = data_category or getattr(view, "data_category")  # noqa: B009
            fingerprint = request_digest(request)
            stored = idempotent_answer_get(user_id=user_id, key=key, request_digest=fingerprint)
            if stored is None:

                def first_answer() -> Response:
                    response = post(view, request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        body = _json(response)
                        idempotent_answer_store(
                            user_id=user_id,
                            key=key,
                            request_digest=fingerprint,
                            answer=StoredAnswer(
                                status_code=response.status_code,
                                body=body,
                                headers={
                                    name: response[name]
                                    for name in _REPLAYED_HEADERS
                                    if response.has_header(name)
                                },
                                patient_id=patient_of(body, kwargs),
                                resource_type=kind,
                                resource_id=str(body.get("id", ""))
                                if isinstance(body, dict)
                                else "",
                            ),
                        )
                    return response

                response, stored = once_per_key(
                    create=first_answer,
                    committed=lambda: idempotent_answer_get(
                        user_id=user_id, key=key, request_digest=fingerprint
                    ),
                )
                if response is not None:
                    return response
            if stored is None:  # pragma: no cover - once_per_key returns one or the other
                raise RuntimeError("An idempotent request ended with neither answer.")
            return _replay(request, stored, data_category=category)

        return wrapper

    return decorate


def patient_of_assessment(body: Any, url_kwargs: Mapping[str, Any]) -> int:
    """The patient of the assessment named in the URL (`assessment_id`)."""
    return assessment_patient_id(assessment_id=url_kwargs["assessment_id"])


def patient_in_url(body: Any, url_kwargs: Mapping[str, Any]) -> int:
    """The patient named in the URL (`patient_id`)."""
    return int(url_kwargs["patient_id"])


def _json(response: Response) -> Any:
    """The answer's data as the client received it (dates as strings, decimals as text)."""
    return json.loads(JSONRenderer().render(response.data))


def _replay(request: Request, stored: StoredAnswer, *, data_category: str) -> Response:
    # The caller must still see the patient: a replay is no way round a lost role.
    patient = patient_get(user=request.user, patient_id=stored.patient_id)
    patient_data_read(
        actor=Actor.from_request(request),
        patient=patient,
        resource_type=stored.resource_type,
        resource_id=stored.resource_id,
        data_category=data_category,
        payload={"idempotent_replay": True},
    )
    response = Response(stored.body, status=stored.status_code)
    for name, value in stored.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response
