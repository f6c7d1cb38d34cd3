"""A patient's recorded conditions: record, list, correct (a new version), remove (kept,
marked removed) and the history of every version.

Writes need a clinical role in the patient's department; reads are audited as reads of the
patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
from periop.api import StrictSerializer
from periop.assessments.apis.common import (
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    PATIENT_NOT_FOUND,
    READ_ROLES,
    RECORD_CONFLICT,
    IncludeInactiveFilter,
    PeriopApi,
    ReasonInput,
    combine_roles,
    writable_patient,
)
from periop.assessments.apis.idempotency import IDEMPOTENCY_KEY_PARAMETER
from periop.assessments.apis.outputs import PatientConditionOutput
from periop.assessments.apis.records import RecordCreateApi, RecordListApi, RecordRemoveApi
from periop.assessments.models import Patient, PatientCondition
from periop.assessments.selectors import (
    patient_condition_get,
    patient_conditions,
    patient_get,
)
from periop.assessments.services import (
    condition_correction_check,
    patient_condition_correct,
    patient_condition_history_read,
    patient_condition_record,
    patient_condition_remove,
)
from periop.assessments.services.common import CATEGORY_CONDITION
from periop.assessments.time_points import time_point_text
from periop.audit.services import Actor
from periop.drugs.fields import TimePointField
from periop.drugs.serializers import ConditionInput


@extend_schema_view(
    get=extend_schema(
        operation_id="patients_conditions_list",
        summary="A patient's recorded conditions",
        parameters=[IncludeInactiveFilter],
        responses={
            200: PatientConditionOutput(many=True),
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
)
class ConditionListApi(RecordListApi[PatientCondition]):
    output = PatientConditionOutput
    resource_type = "patient-condition"
    data_category = CATEGORY_CONDITION
    ids_key = "condition_ids"

    def records(self, *, patient: Patient, include_inactive: bool) -> Iterable[PatientCondition]:
        return patient_conditions(patient=patient, include_inactive=include_inactive)


class ConditionRecordInput(ConditionInput):
    duplicate_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: record it even though the patient has an ongoing entry of the same "
        "condition (another episode). Without it, such a request is refused with 409 "
        "duplicate-condition naming the entry already there.",
    )


DUPLICATE_CONDITION = OpenApiResponse(
    description="duplicate-condition: the condition is already recorded and ongoing; "
    "`existing` lists those entries ({id, onset}). Send duplicate_confirmed: true to record "
    "another episode."
)


@extend_schema_view(
    post=extend_schema(
        operation_id="patients_conditions_create",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Record a condition",
        request=ConditionRecordInput,
        responses={
            201: PatientConditionOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
            409: DUPLICATE_CONDITION,
        },
        tags=["patients"],
    )
)
class ConditionRecordApi(RecordCreateApi[PatientCondition]):
    input = ConditionRecordInput
    output = PatientConditionOutput
    resource_type = "patient-condition"
    data_category = CATEGORY_CONDITION

    def record(
        self, *, actor: Actor, patient: Patient, data: Mapping[str, Any]
    ) -> PatientCondition:
        return patient_condition_record(
            actor=actor,
            patient=patient,
            code=data["code"],
            onset=data.get("onset"),
            resolved=data.get("resolved"),
            attributes=data.get("attributes") or {},
            duplicate_confirmed=data.get("duplicate_confirmed", False),
        )


class ConditionCollectionApi(ConditionListApi, ConditionRecordApi):
    """`/api/v1/patients/{id}/conditions`: GET lists, POST records."""

    roles_by_method = combine_roles(ConditionListApi, ConditionRecordApi)


class ConditionCorrectApi(PeriopApi):
    roles_by_method = {"PATCH": CLINICAL_ROLES}

    class ConditionCorrectionInput(StrictSerializer):
        """Only the fields to correct; the others keep their current values."""

        code = serializers.CharField(required=False, max_length=64)
        onset = TimePointField(required=False, allow_null=True)
        resolved = TimePointField(required=False, allow_null=True)
        attributes = serializers.DictField(required=False)
        reason = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=2000,
            help_text="Why it was corrected (required: a correction without a reason is a 400 on "
            "`reason`).",
        )

    @extend_schema(
        operation_id="patients_conditions_partial_update",
        summary="Correct a condition: a new version replaces the current one",
        request=ConditionCorrectionInput,
        responses={
            200: PatientConditionOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
            409: RECORD_CONFLICT,
        },
        tags=["patients"],
    )
    def patch(self, request: Request, patient_id: int, condition_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        condition = patient_condition_get(patient=patient, condition_id=condition_id)
        shape = self.ConditionCorrectionInput(data=request.data)
        shape.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(request.data)
        reason = str(changes.pop("reason", "") or "")
        if not changes:
            raise ValidationError({"non_field_errors": ["Give at least one field to correct."]})
        # The corrected condition is validated whole, as a new one would be, so a changed code
        # is checked against the attributes it keeps and the same messages come back.
        merged = {
            "code": condition.code,
            "onset": time_point_text(condition.onset),
            "resolved": time_point_text(condition.resolved),
            "attributes": condition.attributes,
            **changes,
        }
        # What the entry keeps that the active release no longer knows is named as such first.
        condition_correction_check(
            condition=condition,
            code=str(merged["code"]),
            attributes=merged["attributes"] if isinstance(merged["attributes"], dict) else {},
        )
        serializer = ConditionInput(data=merged)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        corrected = patient_condition_correct(
            actor=Actor.from_request(request),
            condition=condition,
            code=data["code"],
            onset=data.get("onset"),
            resolved=data.get("resolved"),
            attributes=data.get("attributes") or {},
            reason=reason,
        )
        return Response(PatientConditionOutput(corrected).data)


@extend_schema_view(
    delete=extend_schema(
        operation_id="patients_conditions_destroy",
        summary="Remove a condition (recorded, never lost)",
        request=ReasonInput,
        responses={
            200: PatientConditionOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
            409: RECORD_CONFLICT,
        },
        tags=["patients"],
    )
)
class ConditionRemoveApi(RecordRemoveApi[PatientCondition]):
    output = PatientConditionOutput
    record_id_kwarg = "condition_id"

    def record_get(self, *, patient: Patient, record_id: int) -> PatientCondition:
        return patient_condition_get(patient=patient, condition_id=record_id)

    def record_remove(
        self, *, actor: Actor, record: PatientCondition, reason: str
    ) -> PatientCondition:
        return patient_condition_remove(actor=actor, condition=record, reason=reason)


class ConditionItemApi(ConditionCorrectApi, ConditionRemoveApi):
    """`/api/v1/patients/{id}/conditions/{cid}`: PATCH corrects, DELETE removes."""

    roles_by_method = combine_roles(ConditionCorrectApi, ConditionRemoveApi)


class ConditionHistoryApi(PeriopApi):
    """`GET /api/v1/patients/{id}/conditions/{cid}/history`: every version, oldest first."""

    roles_by_method = {"GET": READ_ROLES}

    @extend_schema(
        operation_id="patients_conditions_history",
        summary="Every version of a condition: the original, corrections and removal",
        responses={
            200: PatientConditionOutput(many=True),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    def get(self, request: Request, patient_id: int, condition_id: int) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        condition = patient_condition_get(patient=patient, condition_id=condition_id)
        versions = patient_condition_history_read(
            actor=Actor.from_request(request), patient=patient, condition=condition
        )
        return Response(PatientConditionOutput(versions, many=True).data)
