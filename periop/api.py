"""API conventions shared by every app: pagination, strict input, one error handler.

Domain code raises `DomainError` subclasses; this module is the one place that maps them to
HTTP statuses, so views stay thin and no bad input ever becomes a 500.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from rest_framework import exceptions, pagination, serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# The largest id a database integer column holds: a larger one is simply unknown.
MAX_ID = 2**63 - 1

# An error message quotes at most this many characters of any one input value, and is at most
# MESSAGE_LIMIT characters long in all: an answer never echoes a large input back.
QUOTE_LIMIT = 100
MESSAGE_LIMIT = 500


class DomainError(Exception):
    """A request that is well-formed but cannot be carried out. Subclasses pick the status."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code

    def as_payload(self) -> dict[str, Any]:
        if self.field:
            return {self.field: [self.message]}
        return {"detail": self.message, "code": self.code}


class ConflictError(DomainError):
    """The object's state forbids the action (for example signing a signed assessment)."""

    status_code: int = status.HTTP_409_CONFLICT


class PreconditionFailed(DomainError):
    """An `If-Match` precondition did not hold: someone else changed the object first."""

    status_code: int = status.HTTP_412_PRECONDITION_FAILED


class UnprocessableError(DomainError):
    """Well-formed, but contradicting an earlier request (an idempotency key reused for a
    different request)."""

    status_code: int = status.HTTP_422_UNPROCESSABLE_ENTITY


class PreconditionRequired(DomainError):
    status_code: int = status.HTTP_428_PRECONDITION_REQUIRED


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler plus domain errors, which become field-level 400s or state conflicts.

    Every message quotes at most QUOTE_LIMIT characters of an input value (review F8).
    """
    if isinstance(exc, DomainError):
        response: Response | None = Response(exc.as_payload(), status=exc.status_code)
    else:
        response = drf_exception_handler(exc, dict(context))
    if response is not None and response.data is not None:
        response.data = _shortened(response.data, _long_inputs(context.get("request")))
    return response


def _long_inputs(request: Any) -> list[str]:
    """Every string of the request (keys and values, body and query) too long to quote whole,
    longest first."""
    found: set[str] = set()
    pending: list[Any] = []
    if request is not None:
        pending.append(dict(request.query_params.lists()))
        # After a parse error there is no data to quote.
        with contextlib.suppress(exceptions.APIException):
            pending.append(request.data)
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if len(item) > QUOTE_LIMIT:
                found.add(item)
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return sorted(found, key=len, reverse=True)


def shorten_message(message: str, long_inputs: Sequence[str] = ()) -> str:
    """`message` quoting at most QUOTE_LIMIT characters of each long input, and at most
    MESSAGE_LIMIT characters long."""
    for value in long_inputs:
        if value in message:
            message = message.replace(value, value[:QUOTE_LIMIT] + "…")
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + "…"
    return message


def _shortened(data: Any, long_inputs: list[str]) -> Any:
    if isinstance(data, str):
        shorter = shorten_message(data, long_inputs)
        if isinstance(data, ErrorDetail):
            return ErrorDetail(shorter, code=data.code)
        return shorter
    if isinstance(data, Mapping):
        return {
            shorten_message(str(key), long_inputs): _shortened(value, long_inputs)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [_shortened(item, long_inputs) for item in data]
    return data


class IdField(serializers.IntegerField):
    """The id of an object: ASCII digits only (Python's `int` also reads other scripts'
    digits), within what the database can store, so never an overflow error (review F10)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return int(super().to_internal_value(data))


class Pagination(pagination.PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class StrictSerializer(serializers.Serializer[Any]):
    """Rejects fields it does not declare, so a typo in a request never passes silently."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise exceptions.ValidationError(
                    {name: ["Unknown field. It is not part of this request."] for name in unknown}
                )
        return super().to_internal_value(data)
