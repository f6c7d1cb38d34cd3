"""What every patient and assessment endpoint shares: roles per operation, department checks
and the ETag/If-Match handshake."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.accounts.models import Role
from periop.accounts.permissions import CLINICAL_ROLES, HasRole
from periop.api import IdField, PreconditionFailed, PreconditionRequired, StrictSerializer
from periop.assessments.models import MAXIMUM_WEIGHT_KG, MINIMUM_WEIGHT_KG, Assessment, Patient
from periop.assessments.selectors import patient_get, user_holds_role_in
from periop.drugs.weights import WEIGHT_ERROR_MESSAGES

# Anyone with a role in the department reads; who writes is narrower (CLINICAL_ROLES).
# Every role but the knowledge-base reviewer's, which has no patient access.
READ_ROLES: tuple[str, ...] = tuple(role for role in Role.values if role != Role.KB_REVIEWER)

NOT_AUTHENTICATED = OpenApiResponse(description="Not authenticated.")
FORBIDDEN = OpenApiResponse(description="The caller's role does not allow this.")
PATIENT_NOT_FOUND = OpenApiResponse(description="No such patient in the caller's departments.")
INVALID = OpenApiResponse(description="Invalid input: one message per field.")
PAGE_NOT_FOUND = OpenApiResponse(description="No such page.")
RECORD_CONFLICT = OpenApiResponse(description="The record was already corrected or removed.")

_ENTITY_TAG = re.compile(r'^"(\d+)-(\d+)"$')


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """The id of an object, within what the database can store (never an overflow error)."""
    return IdField(**kwargs)


def weight_field(**kwargs: Any) -> serializers.DecimalField:
    """A weight in kg, 0.3 to 400, two decimals."""
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        min_value=MINIMUM_WEIGHT_KG,
        max_value=MAXIMUM_WEIGHT_KG,
        error_messages=WEIGHT_ERROR_MESSAGES,
        **kwargs,
    )


class PeriopApi(APIView):
    """A view for one operation. `roles_by_method` says which roles may call it; a URL that
    serves several operations combines their views, and with them their roles."""

    permission_classes = [IsAuthenticated, HasRole]
    roles_by_method: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    def required_roles(self) -> tuple[str, ...]:
        method = self.request.method or ""
        return self.roles_by_method.get("GET" if method == "HEAD" else method, ())


def combine_roles(*views: type[PeriopApi]) -> dict[str, tuple[str, ...]]:
    roles: dict[str, tuple[str, ...]] = {}
    for view in views:
        roles.update(view.roles_by_method)
    return roles


def require_role_in(request: Request, department_id: int, roles: Iterable[str]) -> None:
    """403 unless the caller holds one of `roles` in the object's own department."""
    if not user_holds_role_in(request.user, department_id, roles):
        raise PermissionDenied("Your role in this department does not allow this action.")


def writable_patient(request: Request, patient_id: int) -> Patient:
    """The patient (404 if the caller cannot see it), after checking the caller may write to
    its record (403)."""
    patient = patient_get(user=request.user, patient_id=patient_id)
    require_role_in(request, patient.department_id, CLINICAL_ROLES)
    return patient


class ReasonInput(StrictSerializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Why (required for a removal: without one the answer is a 400 on `reason`).",
    )


class IncludeInactiveFilter(StrictSerializer):
    include_inactive = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also list replaced versions and removed entries.",
    )


def required_revision(request: Request, assessment: Assessment) -> int:
    """The revision the caller last saw, from `If-Match: "<id>-<revision>"`; 428 without it."""
    revision = optional_revision(request, assessment)
    if revision is None:
        raise PreconditionRequired(
            "Send the assessment's ETag in an If-Match header: read it first, then edit.",
            code="precondition-required",
        )
    return revision


def optional_revision(request: Request, assessment: Assessment) -> int | None:
    """The revision in If-Match, or None when the header is absent (no check).

    An entity tag that is not this assessment's (another id, a weak tag, `*`) can never
    match: 412, so nothing is changed on a guess.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    for tag in (part.strip() for part in header.split(",")):
        match = _ENTITY_TAG.match(tag)
        if match and int(match.group(1)) == assessment.pk:
            return int(match.group(2))
    raise PreconditionFailed(
        f"If-Match ({header}) is not an ETag of assessment {assessment.pk}; "
        "read the assessment and send its ETag.",
        code="stale",
    )


def with_etag(response: Response, assessment: Assessment) -> Response:
    response["ETag"] = assessment.etag
    return response
