"""FHIR R4 endpoints: a signed assessment as a Bundle, the audit ledger as AuditEvents.

Every answer, errors included, is `application/fhir+json`; an error is an OperationOutcome
(with the parameter it concerns in `expression` for a bad search parameter).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.models import Department, Role
from periop.accounts.permissions import (
    AUDIT_ROLES,
    HasDepartmentRole,
    request_department_roles,
)
from periop.api import ConflictError, exception_handler
from periop.assessments.apis.common import PeriopApi, require_role_in
from periop.assessments.models import Assessment, AssessmentStatus
from periop.assessments.presenters import assessment_plan_data
from periop.assessments.selectors import assessment_acknowledgements, assessment_get
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.audit import lanes
from periop.audit.models import Action
from periop.audit.selectors import audit_events_feed, audit_events_visible_to
from periop.audit.services import Actor, audit_event_append
from periop.drugs.registry import get_knowledge_base
from periop.interop.fhir.assessment_bundle import BundleLinks, assessment_bundle
from periop.interop.fhir.audit_events import (
    DEFAULT_COUNT,
    MAXIMUM_COUNT,
    SearchParameterError,
    audit_event_resource,
    audit_event_search_parse,
    event_full_url,
)

FHIR_JSON = "application/fhir+json"
# Who may export a signed assessment: the clinicians and auditors of its department.
EXPORT_ROLES = (Role.ANESTHETIST, Role.AUDITOR, Role.ADMIN)

# The FHIR issue type of each error status.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "business-rule",
    413: "too-long",
    429: "throttled",
}


class FhirJsonRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"


class FhirContentNegotiation(BaseContentNegotiation):
    """Always FHIR JSON: clients asking for `application/json` or anything else get it too, as
    FHIR servers answer JSON requests; there is no XML form."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def operation_outcome(code: str, message: str, expression: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _message(data: Any) -> str:
    """One sentence from the error body Periop's handler produced."""
    if isinstance(data, Mapping):
        if "detail" in data:
            return str(data["detail"])
        return " ".join(f"{name}: {_message(value)}" for name, value in data.items())
    if isinstance(data, list | tuple):
        return " ".join(_message(item) for item in data)
    return str(data)


def fhir_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """Periop's error handling, with each error body turned into an OperationOutcome."""
    if isinstance(exc, SearchParameterError):
        return Response(
            operation_outcome("invalid", exc.message, exc.parameter),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context)
    if response is not None:
        code = _ISSUE_CODES.get(response.status_code, "processing")
        response.data = operation_outcome(code, _message(response.data))
    return response


class FhirApi(PeriopApi):
    renderer_classes = [FhirJsonRenderer]
    content_negotiation_class = FhirContentNegotiation

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return fhir_exception_handler


def _fhir_base(request: Request) -> str:
    return request.build_absolute_uri("/fhir/")


class AssessmentBundleApi(FhirApi):
    """`GET /fhir/Bundle/assessment-{id}`."""

    roles_by_method = {"GET": EXPORT_ROLES}

    @extend_schema(
        operation_id="fhir_assessment_bundle",
        summary="A signed assessment as a FHIR R4 Bundle (collection)",
        description=(
            "The Patient, the Conditions and MedicationStatements the assessment was evaluated "
            "on, a MedicationRequest per drug of the signed plan, a DetectedIssue per caution "
            "with its mitigation, and a Provenance for the signature. Anesthetists, auditors "
            "and administrators of the assessment's department. Errors are OperationOutcomes."
        ),
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A Bundle of type collection."),
            401: OpenApiResponse(description="Not authenticated (OperationOutcome)."),
            403: OpenApiResponse(description="The caller's role does not allow this."),
            404: OpenApiResponse(description="No such assessment in the caller's departments."),
            409: OpenApiResponse(description="The assessment is a draft: only signed ones export."),
        },
        tags=["fhir"],
    )
    def get(self, request: Request, assessment_id: int) -> Response:
        try:
            assessment = assessment_get(user=request.user, assessment_id=assessment_id)
        except Http404:
            raise NotFound(
                f"No assessment {assessment_id} among those of your departments."
            ) from None
        require_role_in(request, assessment.department_id, EXPORT_ROLES)
        if assessment.status != AssessmentStatus.SIGNED:
            raise ConflictError(
                f"Assessment {assessment.pk} is a draft: only a signed assessment is exported. "
                "Sign it first.",
                code="draft",
            )
        acknowledgements = assessment_acknowledgements(assessment=assessment)
        plan, _ = assessment_plan_data(assessment=assessment, acknowledgements=acknowledgements)
        base = _fhir_base(request)
        successor = (
            Assessment.objects.filter(supersedes_id=assessment.pk, status=AssessmentStatus.SIGNED)
            .values_list("pk", flat=True)
            .first()
        )
        links = BundleLinks(
            self_url=f"{base}Bundle/assessment-{assessment.pk}",
            predecessor_url=f"{base}Bundle/assessment-{assessment.supersedes_id}"
            if assessment.supersedes_id
            else None,
            successor_url=f"{base}Bundle/assessment-{successor}" if successor else None,
        )
        bundle = assessment_bundle(
            assessment=assessment,
            plan=plan,
            acknowledgements=acknowledgements,
            knowledge_base=get_knowledge_base(),
            links=links,
            now=timezone.now(),
        )
        audit_event_append(
            actor=Actor.from_request(request),
            action=Action.EXPORT,
            resource_type="assessment",
            resource_id=assessment.pk,
            data_category=CATEGORY_ASSESSMENT,
            patient_id=assessment.patient_id,
            department_id=assessment.department_id,
            data_time=assessment.planned_at,
            payload={"format": "fhir-r4-bundle", "sign_event_hash": assessment.sign_event_hash},
        )
        return Response(bundle)


class AuditEventSearchApi(FhirApi):
    """`GET /fhir/AuditEvent`."""

    # The roles read once, by the permission, for the search's scope as well.
    permission_classes = [IsAuthenticated, HasDepartmentRole]
    roles_by_method = {"GET": AUDIT_ROLES}

    @extend_schema(
        operation_id="fhir_audit_event_search",
        summary="Search the audit ledger as FHIR R4 AuditEvents (a searchset Bundle)",
        description=(
            "Auditors and administrators; the events of the departments they audit. Oldest "
            "first; follow the Bundle's `next` link for the following page. The links never "
            "skip or repeat an event, even one appended while you page."
        ),
        parameters=[
            OpenApiParameter(
                "patient",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="Periop patient id (or Patient/<id>); commas for any of several.",
            ),
            OpenApiParameter(
                "date",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                many=True,
                explode=True,
                description="When the event was recorded: a date (a UTC day) or a date and time "
                "with offset, after a prefix eq, gt, lt, ge or le; repeat to combine "
                "(date=ge2026-01-01&date=le2026-01-31).",
            ),
            OpenApiParameter(
                "_count",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=f"Events per page, 1 to {MAXIMUM_COUNT} (default {DEFAULT_COUNT}).",
            ),
            OpenApiParameter(
                "_after",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="The page cursor the `next` link carries: the last event read in "
                "each lane of the ledger (sequence numbers separated by commas; one number for "
                "a ledger in one lane).",
            ),
            OpenApiParameter(
                "_format",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="json, application/json or application/fhir+json.",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="A Bundle of type searchset."),
            400: OpenApiResponse(description="A bad parameter; the OperationOutcome names it."),
            401: OpenApiResponse(description="Not authenticated (OperationOutcome)."),
            403: OpenApiResponse(description="The caller holds no audit role."),
        },
        tags=["fhir"],
    )
    def get(self, request: Request) -> Response:
        search = audit_event_search_parse(dict(request.query_params.lists()))
        feed = audit_events_feed(
            audit_events_visible_to(request.user, known=request_department_roles(request)).filter(
                search.filters
            ),
            after=search.after,
            count=search.count,
        )
        page = feed.events
        department_ids = {event.department_id for event in page if event.department_id}
        department_codes = dict(
            Department.objects.filter(pk__in=department_ids).values_list("pk", "code")
            if department_ids
            else []
        )
        url = f"{_fhir_base(request)}AuditEvent"
        parameters = list(search.parameters)
        links = [{"relation": "self", "url": _with_query(url, parameters, search.after)}]
        if feed.more:
            links.append({"relation": "next", "url": _with_query(url, parameters, feed.after)})
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": timezone.now().isoformat(),
            "link": links,
            "entry": [
                {
                    "fullUrl": event_full_url(event),
                    "resource": audit_event_resource(event, department_codes),
                    "search": {"mode": "match"},
                }
                for event in page
            ],
        }
        # Reading the audit log is itself audited ("audit log used").
        audit_event_append(
            actor=Actor.from_request(request),
            action=Action.QUERY,
            resource_type="audit-log",
            data_category="audit",
            patient_id=search.patient_ids[0] if len(search.patient_ids) == 1 else None,
            payload={
                "format": "fhir-r4-auditevent",
                "filters": [f"{name}={value}" for name, value in search.parameters],
                "after": lanes.cursor_text(search.after),
            },
        )
        return Response(bundle)


def _with_query(url: str, parameters: list[tuple[str, str]], after: Mapping[int, int]) -> str:
    cursor = lanes.cursor_text(after)
    pairs = [*parameters, ("_after", cursor)] if cursor else parameters
    return f"{url}?{urlencode(pairs)}" if pairs else url
