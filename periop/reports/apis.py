"""`GET /api/v1/reports/departments/{id}?from=&to=`: the department report as JSON or CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.audit.services import Actor
from periop.renderers import JSONRenderer
from periop.replica import primary_wal_position, report_reads
from periop.reports.access import report_department_get
from periop.reports.exports import csv_response, department_report_rows
from periop.reports.periods import PeriodError, local_today, report_period_parse
from periop.reports.selectors import audit_chain_head, department_report
from periop.reports.services import report_access_record


class CsvRenderer(BaseRenderer):
    """Lets DRF accept `?format=csv`; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        # Only errors reach this renderer (the report itself is streamed): send them as text.
        return str(data).encode()


_COUNTS_BY_LEVEL = {
    "type": "object",
    "properties": {
        level: {"type": "integer"}
        for level in ("contraindicated", "avoid", "adjust", "monitor", "none")
    },
    "required": ["contraindicated", "avoid", "adjust", "monitor", "none"],
}
_RULE = {
    "type": "object",
    "properties": {
        "rule": {"type": "string", "description": "The rule's id in the knowledge base."},
        "summary": {
            "type": "string",
            "description": "The rule's summary in the active release; empty for a rule it "
            "no longer has.",
        },
        "fired": {"type": "integer", "description": "Times it fired for a planned drug."},
        "assessments": {"type": "integer", "description": "Assessments it fired in."},
        "by_level": {**_COUNTS_BY_LEVEL, "description": "Times fired, by level (as shown)."},
        "locally_tuned": {
            "type": "integer",
            "description": "Times a local tuning marked its finding.",
        },
        "accepted": {
            "type": "integer",
            "description": "Acceptances of the contraindicated and avoid cautions it set.",
        },
        "overridden": {
            "type": "integer",
            "description": "Overrides of the contraindicated and avoid cautions it set.",
        },
        "override_rate": {
            "type": "number",
            "nullable": True,
            "description": "overridden / (accepted + overridden); null without decisions.",
        },
        "override_reasons": {
            "type": "array",
            "description": "The overrides' reasons, most frequent first.",
            "items": {
                "type": "object",
                "properties": {
                    "reason_code": {"type": "string"},
                    "label": {"type": "string"},
                    "count": {"type": "integer"},
                },
                "required": ["reason_code", "label", "count"],
            },
        },
    },
    "required": [
        "rule",
        "summary",
        "fired",
        "assessments",
        "by_level",
        "locally_tuned",
        "accepted",
        "overridden",
        "override_rate",
        "override_reasons",
    ],
}
# The report's sections; `rules` in full (v1.1, additive), the others as objects.
REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        **{
            name: {"type": "object"}
            for name in (
                "department",
                "period",
                "audit_chain_head",
                "read_from",
                "assessments",
                "cautions",
                "overrides",
                "stale_drafts",
            )
        },
        "generated_at": {"type": "string", "format": "date-time"},
        "counting": {"type": "string"},
        "clinicians": {"type": "array", "items": {"type": "object"}},
        "knowledge_base_versions": {"type": "array", "items": {"type": "object"}},
        "rules": {
            "type": "object",
            "description": "Per rule: how often it fired, at which level, and the decisions "
            "on the cautions it set (v1.1, additive).",
            "properties": {
                "attribution": {
                    "type": "string",
                    "description": "How decisions are attributed to rules.",
                },
                "by_rule": {
                    "type": "array",
                    "description": "Most fired first.",
                    "items": _RULE,
                },
            },
            "required": ["attribution", "by_rule"],
        },
    },
}


class DepartmentReportApi(APIView):
    """Auditors and admins of the department; 404 for a department they do not audit."""

    # The role and department checks are one call in the view (`report_department_get`):
    # 403 without an audit role, 404 for a department the caller does not audit.
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer, CsvRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An unknown `?format=` is bad input (400), not a missing page (DRF's 404).
        try:
            return super().perform_content_negotiation(request, force=force)
        except (exceptions.NotFound, Http404):
            raise exceptions.ValidationError(
                {"format": ["Unknown format. Use json or csv."]}
            ) from None

    @extend_schema(
        operation_id="department_report",
        summary="Department audit report for a period (JSON, or CSV with ?format=csv)",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.DATE,
                description="First day, local time; between the years 2000 and 2999.",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description="Last day (inclusive); between the years 2000 and 2999, at most "
                "a year and a day after `from`.",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                response=REPORT_SCHEMA, description="The report's figures."
            ),
            (200, "text/csv"): OpenApiResponse(
                response={"type": "string"},
                description="The report's figures, one per row: section, group, item, "
                "measure, value.",
            ),
            400: OpenApiResponse(
                description="Invalid period or format: dates outside the years 2000 to 2999, "
                "`to` before `from`, a period longer than a year and a day, or an unknown "
                "format."
            ),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="The caller holds no audit role."),
            404: OpenApiResponse(description="No such department among those the caller audits."),
        },
        tags=["reports"],
    )
    def get(self, request: Request, department_id: int) -> HttpResponseBase:
        department = report_department_get(user=request.user, department_id=department_id)
        today = local_today(department.time_zone, timezone.now())
        try:
            period = report_period_parse(
                first=request.query_params.get("from"),
                last=request.query_params.get("to"),
                time_zone=department.time_zone,
                today=today,
            )
        except PeriodError as error:
            raise exceptions.ValidationError({error.field: [error.message]}) from None
        output_format = "csv" if request.accepted_renderer.format == "csv" else "json"
        head = audit_chain_head()
        with report_reads(primary_wal_position()) as source:
            report = department_report(
                department=department, period=period, head=head, read_source=source
            )
        report_access_record(
            actor=Actor.from_request(request),
            department=department,
            period=period,
            report="department-report",
            output_format=output_format,
            chain_head=report["audit_chain_head"],
        )
        if output_format == "csv":
            name = f"periop-{department.code}-{period.first_day}-{period.last_day}.csv"
            return csv_response(department_report_rows(report), name)
        return Response(report)
