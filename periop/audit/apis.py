"""Audit trail API: the event list (ONC (d)(3)) and chain verification (ONC (d)(2)(v))."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.accounts.permissions import (
    AUDIT_ROLES,
    HasDepartmentRole,
    HasRole,
    request_department_roles,
)
from periop.api import IdField, Pagination, StrictSerializer
from periop.audit.chain import STORED_FIELDS
from periop.audit.models import Action, AuditEvent
from periop.audit.selectors import SORT_FIELDS, audit_events_filter, audit_events_visible_to
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify, records_verify

SORT_CHOICES = sorted([*SORT_FIELDS, *(f"-{name}" for name in SORT_FIELDS)])


class AuditEventsApi(APIView):
    """`GET /api/v1/audit/events`: who did what to which patient, when (auditors, admins)."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    required_roles = AUDIT_ROLES
    # Declared so the schema documents the paginated envelope the view returns.
    pagination_class = Pagination

    class FilterInput(StrictSerializer):
        # Query parameters: `from` and `to` are Python keywords, hence the source names.
        occurred_from = serializers.DateTimeField(required=False)
        occurred_to = serializers.DateTimeField(required=False)
        patient = IdField(required=False)
        user = serializers.CharField(required=False, max_length=150)
        action = serializers.ChoiceField(choices=Action.values, required=False)
        resource_type = serializers.CharField(required=False, max_length=64)
        department = IdField(required=False)
        ordering = serializers.ChoiceField(
            choices=SORT_CHOICES,
            required=False,
            default="sequence",
            help_text="The sort, `-` for descending (default `sequence`). With `AUDIT_LANES` "
            "above 1, sequence order is lane by lane: `occurred_at` gives time order.",
        )
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

        def to_internal_value(self, data: Any) -> Any:
            renamed = {
                {"from": "occurred_from", "to": "occurred_to"}.get(key, key): value
                for key, value in data.items()
            }
            return super().to_internal_value(renamed)

    class EventOutput(serializers.ModelSerializer[AuditEvent]):
        payload = serializers.SerializerMethodField()

        class Meta:
            model = AuditEvent
            fields = STORED_FIELDS

        def get_payload(self, event: AuditEvent) -> dict[str, Any]:
            return json.loads(event.payload)  # type: ignore[no-any-return]

    @extend_schema(
        operation_id="audit_events_list",
        summary="Audit events, filtered and sorted by any ASTM field",
        parameters=[FilterInput],
        responses={
            200: EventOutput(many=True),
            400: OpenApiResponse(description="Invalid filter: one message per parameter."),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="The caller's role does not allow this."),
            404: OpenApiResponse(description="No such page."),
        },
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterInput(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        options = dict(filters.validated_data)
        options.pop("page", None)
        options.pop("page_size", None)
        patient_id = options.pop("patient", None)
        department_id = options.pop("department", None)
        events = audit_events_filter(
            audit_events_visible_to(request.user, known=request_department_roles(request)),
            patient_id=patient_id,
            department_id=department_id,
            **options,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        # Reading the audit log is itself audited ("audit log used").
        audit_event_append(
            actor=Actor.from_request(request),
            action=Action.QUERY,
            resource_type="audit-log",
            data_category="audit",
            patient_id=patient_id,
            department_id=department_id,
            payload={"filters": {key: str(value) for key, value in filters.validated_data.items()}},
        )
        return paginator.get_paginated_response(self.EventOutput(page, many=True).data)


class AuditCheckpointOutput(serializers.Serializer[Any]):
    sequence = serializers.IntegerField(help_text="The number of events it records.")
    hash = serializers.CharField(help_text="The hash of the last of those events.")
    time = serializers.CharField(help_text="When it was taken, ISO 8601 UTC.")
    key_id = serializers.CharField(help_text="The id of the audit key that signed it.")


class AuditVerifyProblemOutput(serializers.Serializer[Any]):
    sequence = serializers.IntegerField(
        allow_null=True, help_text="The event concerned; null for a checkpoint-file line."
    )
    problem = serializers.CharField()


class AuditRecordsOutput(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="Signed records whose digest was recomputed.")
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Each record that differs from what was signed."
    )


class AuditLaneOutput(serializers.Serializer[Any]):
    lane = serializers.IntegerField(help_text="The lane's number (0: the ledger's first chain).")
    events = serializers.IntegerField(help_text="Events read in the lane.")
    head = serializers.CharField(help_text="The hash of the lane's last event read.")


class AuditVerifyOutput(serializers.Serializer[Any]):
    """The verification result. The fields after `checkpoints` are present only when `ok` is
    false."""

    ok = serializers.BooleanField()
    events = serializers.IntegerField(help_text="Events read.")
    head = serializers.CharField(help_text="The hash of the last event read.")
    lanes = AuditLaneOutput(
        many=True,
        help_text="Every lane of the ledger walked, in lane order: one (lane 0) unless "
        "AUDIT_LANES spread the ledger over several chains.",
    )
    checkpoint = AuditCheckpointOutput(
        allow_null=True,
        help_text="The latest valid signed checkpoint in the checkpoint file, or null if none.",
    )
    checkpoints = serializers.IntegerField(
        help_text="Valid checkpoints the ledger was compared with (every one in the file)."
    )
    first_broken_sequence = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The lowest event a problem names; null when only checkpoint lines are wrong.",
    )
    problem = serializers.CharField(required=False, help_text="The first problem, explained.")
    problems = AuditVerifyProblemOutput(
        many=True,
        required=False,
        help_text="Every problem found, in ledger order, up to AUDIT_VERIFY_MAX_PROBLEMS.",
    )
    problems_truncated = serializers.BooleanField(
        required=False, help_text="True when verification stopped at the limit."
    )
    records = AuditRecordsOutput(
        required=False,
        help_text="With ?records=true: every signed record recomputed from its rows and "
        "compared with the digest in its sign event; `ok` is false if any differs.",
    )


class AuditVerifyApi(APIView):
    """`GET /api/v1/audit/verify`: recomputes the hash chain and compares it with the
    checkpoints kept outside the database."""

    permission_classes = [IsAuthenticated, HasRole]
    required_roles = AUDIT_ROLES

    @extend_schema(
        operation_id="audit_verify",
        summary="Verify the audit ledger's hash chain against its checkpoints",
        parameters=[
            OpenApiParameter(
                "records",
                OpenApiTypes.BOOL,
                OpenApiParameter.QUERY,
                required=False,
                description="Also verify every signed record against its sign event's digest.",
            )
        ],
        responses={200: AuditVerifyOutput},
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        with_records = request.query_params.get("records", "").lower() in {"true", "1"}
        result = audit_chain_verify()
        body = result.as_dict()
        if with_records:
            records = records_verify()
            body["records"] = records.as_dict()
            body["ok"] = body["ok"] and records.ok
        audit_event_append(
            actor=Actor.from_request(request),
            action=Action.QUERY,
            resource_type="audit-chain",
            data_category="audit",
            payload={"ok": body["ok"], "events": result.events, "records": with_records},
        )
        return Response(body)
