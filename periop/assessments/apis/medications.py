"""A patient's recorded medications: record, list, remove (kept, marked removed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from periop.assessments.apis.common import (
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    PATIENT_NOT_FOUND,
    RECORD_CONFLICT,
    IncludeInactiveFilter,
    ReasonInput,
    combine_roles,
)
from periop.assessments.apis.idempotency import IDEMPOTENCY_KEY_PARAMETER
from periop.assessments.apis.outputs import PatientMedicationOutput
from periop.assessments.apis.records import RecordCreateApi, RecordListApi, RecordRemoveApi
from periop.assessments.models import Patient, PatientMedication
from periop.assessments.selectors import patient_medication_get, patient_medications
from periop.assessments.services import (
    patient_medication_record,
    patient_medication_remove,
)
from periop.assessments.services.common import CATEGORY_MEDICATION
from periop.audit.services import Actor
from periop.drugs.serializers import MedicationInput


@extend_schema_view(
    get=extend_schema(
        operation_id="patients_medications_list",
        summary="A patient's recorded medications",
        parameters=[IncludeInactiveFilter],
        responses={
            200: PatientMedicationOutput(many=True),
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
)
class MedicationListApi(RecordListApi[PatientMedication]):
    output = PatientMedicationOutput
    resource_type = "patient-medication"
    data_category = CATEGORY_MEDICATION
    ids_key = "medication_ids"

    def records(self, *, patient: Patient, include_inactive: bool) -> Iterable[PatientMedication]:
        return patient_medications(patient=patient, include_inactive=include_inactive)


class MedicationRecordInput(MedicationInput):
    dose_text = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Optional, at most 200 characters: the dose as the clinician wrote it, "
        "e.g. 'pyridostigmine 60 mg four times daily'. Kept, shown and printed with the "
        "record; not used by the cautions.",
    )


@extend_schema_view(
    post=extend_schema(
        operation_id="patients_medications_create",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Record a current or recent medication",
        request=MedicationRecordInput,
        responses={
            201: PatientMedicationOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
)
class MedicationRecordApi(RecordCreateApi[PatientMedication]):
    input = MedicationRecordInput
    output = PatientMedicationOutput
    resource_type = "patient-medication"
    data_category = CATEGORY_MEDICATION

    def record(
        self, *, actor: Actor, patient: Patient, data: Mapping[str, Any]
    ) -> PatientMedication:
        return patient_medication_record(
            actor=actor,
            patient=patient,
            code=data["code"],
            started=data.get("started"),
            stopped=data.get("stopped"),
            dose_text=data.get("dose_text", ""),
        )


class MedicationCollectionApi(MedicationListApi, MedicationRecordApi):
    """`/api/v1/patients/{id}/medications`: GET lists, POST records."""

    roles_by_method = combine_roles(MedicationListApi, MedicationRecordApi)


@extend_schema_view(
    delete=extend_schema(
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
)
class MedicationRemoveApi(RecordRemoveApi[PatientMedication]):
    """`DELETE /api/v1/patients/{id}/medications/{mid}`: recorded, never lost."""

    output = PatientMedicationOutput
    record_id_kwarg = "medication_id"

    def record_get(self, *, patient: Patient, record_id: int) -> PatientMedication:
        return patient_medication_get(patient=patient, medication_id=record_id)

    def record_remove(
        self, *, actor: Actor, record: PatientMedication, reason: str
    ) -> PatientMedication:
        return patient_medication_remove(actor=actor, medication=record, reason=reason)
