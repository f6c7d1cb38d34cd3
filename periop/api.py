"""API conventions shared by every app: pagination, strict input, one error handler.

Domain code raises `DomainError` subclasses; this module is the one place that maps them to
HTTP statuses, so views stay thin and no bad input ever becomes a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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


class PreconditionRequired(DomainError):
    status_code: int = status.HTTP_428_PRECONDITION_REQUIRED


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler plus domain errors, which become field-level 400s or state conflicts."""
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    return drf_exception_handler(exc, dict(context))


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
