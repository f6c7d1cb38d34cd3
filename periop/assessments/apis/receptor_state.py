"""A clinician-recorded receptor state: it overrides the derived state in new assessments and
patient checks until cleared."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
from periop.api import StrictSerializer
from periop.assessments.apis.common import (
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    PATIENT_NOT_FOUND,
    PeriopApi,
    ReasonInput,
    combine_roles,
    writable_patient,
)
from periop.assessments.apis.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotent_create,
    patient_in_url,
)
from periop.assessments.apis.outputs import RecordedReceptorStateOutput
from periop.assessments.services import (
    patient_receptor_state_clear,
    patient_receptor_state_record,
)
from periop.assessments.services.common import CATEGORY_RECEPTOR_STATE
from periop.audit.services import Actor
from periop.drugs.engine import RECEPTOR_STATES


class ReceptorStateRecordApi(PeriopApi):
    roles_by_method = {"POST": CLINICAL_ROLES}

    class ReceptorStateInput(StrictSerializer):
        value = serializers.ChoiceField(choices=list(RECEPTOR_STATES))
        reason = serializers.CharField(
            max_length=2000, help_text="Why: the cause the knowledge base does not model."
        )

    @extend_schema(
        operation_id="patients_receptor_state_create",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Record a receptor state that overrides the derived one until cleared",
        request=ReceptorStateInput,
        responses={
            201: RecordedReceptorStateOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    @idempotent_create(
        resource_type="patient-receptor-state",
        data_category=CATEGORY_RECEPTOR_STATE,
        patient_of=patient_in_url,
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        serializer = self.ReceptorStateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = patient_receptor_state_record(
            actor=Actor.from_request(request),
            patient=patient,
            value=serializer.validated_data["value"],
            reason=serializer.validated_data["reason"],
        )
        return Response(RecordedReceptorStateOutput(record).data, status=status.HTTP_201_CREATED)


class ReceptorStateClearApi(PeriopApi):
    roles_by_method = {"DELETE": CLINICAL_ROLES}

    @extend_schema(
        operation_id="patients_receptor_state_destroy",
        summary="Clear the recorded receptor state: the derived one applies again",
        request=ReasonInput,
        responses={
            200: RecordedReceptorStateOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
            409: OpenApiResponse(description="No receptor state is recorded."),
        },
        tags=["patients"],
    )
    def delete(self, request: Request, patient_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        serializer = ReasonInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        record = patient_receptor_state_clear(
            actor=Actor.from_request(request),
            patient=patient,
            reason=serializer.validated_data["reason"],
        )
        return Response(RecordedReceptorStateOutput(record).data)


class ReceptorStateApi(ReceptorStateRecordApi, ReceptorStateClearApi):
    """`/api/v1/patients/{id}/receptor-state`: POST records, DELETE clears."""

    roles_by_method = combine_roles(ReceptorStateRecordApi, ReceptorStateClearApi)
