"""Patients: list and search, register, read the record, and pharmacy checks by patient."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CHECK_ROLES, CLINICAL_ROLES
from periop.api import Pagination, StrictSerializer
from periop.assessments.apis.common import (
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    PAGE_NOT_FOUND,
    PATIENT_NOT_FOUND,
    READ_ROLES,
    PeriopApi,
    combine_roles,
    id_field,
    require_role_in,
    weight_field,
)
from periop.assessments.apis.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_create
from periop.assessments.apis.outputs import (
    PatientConditionOutput,
    PatientDetailOutput,
    PatientMedicationOutput,
    PatientOutput,
    PatientReceptorStateOutput,
)
from periop.assessments.models import Sex
from periop.assessments.presenters import receptor_state_data
from periop.assessments.selectors import (
    department_for_writing,
    departments_searched,
    patient_get,
    patient_list,
    patient_record,
)
from periop.assessments.services import (
    ShownRow,
    patient_check_run,
    patient_create,
    patient_data_query,
    patient_data_read,
)
from periop.assessments.services.common import CATEGORY_DEMOGRAPHICS
from periop.audit.services import Actor
from periop.drugs.fields import AwareDateTimeField
from periop.drugs.schema import CheckOutput, WarningOutput
from periop.drugs.serializers import DRUG_LIST_HELP, DrugListField
from periop.drugs.services import clinical_time_validate


class PatientListApi(PeriopApi):
    """`GET /api/v1/patients`: patients of the caller's departments, searchable."""

    roles_by_method = {"GET": READ_ROLES}
    # Tells the schema generator the list is paginated; the view paginates explicitly.
    pagination_class = Pagination

    class PatientListFilter(StrictSerializer):
        q = serializers.CharField(
            required=False, max_length=200, help_text="MRN (exact or prefix) or part of the name."
        )
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    @extend_schema(
        operation_id="patients_list",
        summary="Patients of the caller's departments",
        parameters=[PatientListFilter],
        responses={
            200: PatientOutput(many=True),
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PAGE_NOT_FOUND,
        },
        tags=["patients"],
    )
    def get(self, request: Request) -> Response:
        filters = self.PatientListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        patients = patient_list(user=request.user, query=filters.validated_data.get("q"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(patients, request, view=self) or []
        patient_data_query(
            actor=Actor.from_request(request),
            resource_type="patient",
            data_category=CATEGORY_DEMOGRAPHICS,
            rows=[ShownRow(patient.department_id, patient.pk) for patient in page],
            searched_department_ids=departments_searched(request.user),
            filters=filters.validated_data,
        )
        return paginator.get_paginated_response(PatientOutput(page, many=True).data)


class PatientCreateApi(PeriopApi):
    """`POST /api/v1/patients`: registers a patient in one of the caller's departments."""

    roles_by_method = {"POST": CLINICAL_ROLES}

    class PatientCreateInput(StrictSerializer):
        mrn = serializers.CharField(max_length=64, help_text="Medical record number; unique.")
        name = serializers.CharField(max_length=200)
        birth_date = serializers.DateField(validators=[clinical_time_validate])
        sex = serializers.ChoiceField(choices=Sex.values, required=False, default=Sex.UNKNOWN)
        department = id_field(
            required=False,
            help_text="Required when the caller records patients in several departments.",
        )

    @extend_schema(
        operation_id="patients_create",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        summary="Register a patient",
        request=PatientCreateInput,
        responses={201: PatientOutput, 400: INVALID, 401: NOT_AUTHENTICATED, 403: FORBIDDEN},
        tags=["patients"],
    )
    @idempotent_create(
        resource_type="patient",
        data_category=CATEGORY_DEMOGRAPHICS,
        patient_of=lambda body, url_kwargs: int(body["id"]),
    )
    def post(self, request: Request) -> Response:
        serializer = self.PatientCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        department = department_for_writing(
            user=request.user, department_id=data.get("department"), roles=CLINICAL_ROLES
        )
        patient = patient_create(
            actor=Actor.from_request(request),
            department=department,
            mrn=data["mrn"],
            name=data["name"],
            birth_date=data["birth_date"],
            sex=data["sex"],
        )
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED)


class PatientCollectionApi(PatientListApi, PatientCreateApi):
    """`/api/v1/patients`: GET lists, POST registers."""

    roles_by_method = combine_roles(PatientListApi, PatientCreateApi)


class PatientDetailApi(PeriopApi):
    """`GET /api/v1/patients/{id}`: the record, with the recorded and derived receptor state."""

    roles_by_method = {"GET": READ_ROLES}

    @extend_schema(
        operation_id="patients_retrieve",
        summary="A patient's record: current conditions, medications and receptor state",
        responses={
            200: PatientDetailOutput,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        record = patient_record(patient=patient, at=timezone.now())
        # Rendered part by part: the detail adds to the patient's own fields.
        body: dict[str, Any] = {
            **PatientOutput(patient).data,
            "conditions": PatientConditionOutput(record.conditions, many=True).data,
            "medications": PatientMedicationOutput(record.medications, many=True).data,
            "receptor_state": PatientReceptorStateOutput(receptor_state_data(record)).data,
        }
        patient_data_read(
            actor=Actor.from_request(request),
            patient=patient,
            resource_type="patient",
            data_category=CATEGORY_DEMOGRAPHICS,
            payload={
                "condition_ids": [row.pk for row in record.conditions],
                "medication_ids": [row.pk for row in record.medications],
            },
        )
        return Response(body)


class PatientCheckOutput(CheckOutput):
    """The check's response, with the warnings of the record it was run against."""

    warnings = WarningOutput(
        many=True,
        help_text="An implausible weight for the patient's age and sex, as on an assessment; "
        "empty when none.",
    )


class PatientCheckApi(PeriopApi):
    """`POST /api/v1/patients/{id}/checks`: the pharmacy check against the patient's record."""

    roles_by_method = {"POST": CHECK_ROLES}

    class PatientCheckInput(StrictSerializer):
        drugs = DrugListField(help_text=DRUG_LIST_HELP)
        at = AwareDateTimeField(
            required=False, help_text="Planned time of administration (defaults to now)."
        )
        weight_kg = weight_field(
            required=False,
            allow_null=True,
            help_text="Optional: with a weight, dose guidance is also given in mg.",
        )

    @extend_schema(
        operation_id="patients_checks_create",
        summary="Check planned drugs against the patient's recorded state",
        description=(
            "Evaluates against the patient's current recorded conditions, medications and "
            "recorded receptor state. The response is that of POST /api/v1/checks. Audited as a "
            "read of the patient."
        ),
        request=PatientCheckInput,
        responses={
            200: PatientCheckOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PATIENT_NOT_FOUND,
        },
        tags=["patients"],
    )
    def post(self, request: Request, patient_id: int) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        require_role_in(request, patient.department_id, CHECK_ROLES)
        serializer = self.PatientCheckInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = patient_check_run(
            actor=Actor.from_request(request),
            patient=patient,
            drugs=data["drugs"],
            at=data.get("at") or timezone.now(),
            weight_kg=data.get("weight_kg"),
        )
        return Response(body)
