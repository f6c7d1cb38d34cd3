"""A patient's recorded medications: record, list, remove (kept, marked removed)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
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
from periop.assessments.apis.outputs import PatientMedicationOutput
from periop.assessments.selectors import patient_get, patient_medication_get, patient_medications
from periop.assessments.services import (
    patient_data_read,
    patient_medication_record,
    patient_medication_remove,
)
from periop.assessments.services.common import CATEGORY_MEDICATION
from periop.audit.services import Actor
from periop.drugs.serializers import MedicationInput


class MedicationListApi(PeriopApi):
    roles_by_method = {"GET": READ_ROLES}

    @extend_schema(
        operation_id="patients_medications_list",
        summary="A patient's recorded medications",
        parameters=[IncludeInactiveFilter],
        responses={
            200: PatientMedicationOutput(many=True),
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        filters = IncludeInactiveFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        medications = list(
            patient_medications(
                patient=patient, include_inactive=filters.validated_data["include_inactive"]
            )
        )
        body = PatientMedicationOutput(medications, many=True).data
        patient_data_read(
            actor=Actor.from_request(request),
            patient=patient,
            resource_type="patient-medication",
            data_category=CATEGORY_MEDICATION,
            payload={"medication_ids": [row.pk for row in medications]},
        )
        return Response(body)


class MedicationRecordApi(PeriopApi):
    roles_by_method = {"POST": CLINICAL_ROLES}

    @extend_schema(
        operation_id="patients_medications_create",
        summary="Record a current or recent medication",
        request=MedicationInput,
        responses={
            201: PatientMedicationOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        serializer = MedicationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        medication = patient_medication_record(
            actor=Actor.from_request(request),
            patient=patient,
            code=data["code"],
            started=data.get("started"),
            stopped=data.get("stopped"),
        )
        return Response(PatientMedicationOutput(medication).data, status=status.HTTP_201_CREATED)


class MedicationCollectionApi(MedicationListApi, MedicationRecordApi):
    """`/api/v1/patients/{id}/medications`: GET lists, POST records."""

    roles_by_method = combine_roles(MedicationListApi, MedicationRecordApi)


class MedicationRemoveApi(PeriopApi):
    """`DELETE /api/v1/patients/{id}/medications/{mid}`: recorded, never lost."""

    roles_by_method = {"DELETE": CLINICAL_ROLES}

    @extend_schema(
        operation_id="patients_medications_destroy",
        summary="Remove a medication (recorded, never lost)",
        request=ReasonInput,
        responses={
            200: PatientMedicationOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
            409: RECORD_CONFLICT,
        },
        tags=["patients"],
    )
    def delete(self, request: Request, patient_id: int, medication_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        medication = patient_medication_get(patient=patient, medication_id=medication_id)
        serializer = ReasonInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        removed = patient_medication_remove(
            actor=Actor.from_request(request),
            medication=medication,
            reason=serializer.validated_data["reason"],
        )
        return Response(PatientMedicationOutput(removed).data)
