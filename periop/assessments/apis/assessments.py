"""Pre-operative assessments: create, list, read, edit (If-Match), acknowledge, sign, amend."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
from periop.api import Pagination, StrictSerializer
from periop.assessments.apis.common import (
    FORBIDDEN,
    INVALID,
    NOT_AUTHENTICATED,
    PAGE_NOT_FOUND,
    READ_ROLES,
    PeriopApi,
    combine_roles,
    id_field,
    optional_revision,
    require_role_in,
    required_revision,
    weight_field,
    with_etag,
)
from periop.assessments.apis.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key,
    idempotent_create,
    patient_of_assessment,
)
from periop.assessments.apis.outputs import (
    AcknowledgementOutput,
    AssessmentDetailOutput,
    AssessmentSummaryOutput,
)
from periop.assessments.models import Assessment, AssessmentStatus, Decision, ReasonCode
from periop.assessments.presenters import assessment_detail_data
from periop.assessments.selectors import (
    assessment_acknowledgements,
    assessment_get,
    assessment_list,
    assessment_versions,
    department_for_writing,
    departments_searched,
    patients_visible_to,
)
from periop.assessments.services import (
    ShownRow,
    assessment_amend,
    assessment_create,
    assessment_create_once,
    assessment_sign,
    assessment_update,
    caution_acknowledge,
    patient_data_query,
    patient_data_read,
)
from periop.assessments.services.common import CATEGORY_ACKNOWLEDGEMENT, CATEGORY_ASSESSMENT
from periop.assessments.services.snapshots import canonical_json, digest
from periop.audit.services import Actor
from periop.drugs.fields import AwareDateTimeField
from periop.drugs.serializers import DRUG_LIST_HELP, DrugListField, DrugNameField

NOT_FOUND = OpenApiResponse(description="No such assessment in the caller's departments.")
SIGNED = OpenApiResponse(description="The assessment's state forbids this (for example signed).")
STALE = OpenApiResponse(description="If-Match does not match the current ETag: reload.")
IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the revision being edited, for example "12-3".',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="When sent, the action applies only if the assessment is still this revision.",
)


def detail_response(assessment: Assessment, *, status_code: int = status.HTTP_200_OK) -> Response:
    """The assessment's full representation, with its ETag."""
    data = assessment_detail_data(
        assessment=assessment,
        acknowledgements=assessment_acknowledgements(assessment=assessment),
        versions=assessment_versions(assessment=assessment),
    )
    response = Response(AssessmentDetailOutput(data).data, status=status_code)
    return with_etag(response, assessment)


def _writable_assessment(request: Request, assessment_id: int) -> Assessment:
    """The assessment (404 if the caller cannot see it) once the caller's role in its
    department allows writing (403)."""
    assessment = assessment_get(user=request.user, assessment_id=assessment_id)
    require_role_in(request, assessment.department_id, CLINICAL_ROLES)
    return assessment


class AssessmentListApi(PeriopApi):
    roles_by_method = {"GET": READ_ROLES}
    # Tells the schema generator the list is paginated; the view paginates explicitly.
    pagination_class = Pagination

    class AssessmentListFilter(StrictSerializer):
        patient = id_field(required=False)
        status = serializers.ChoiceField(choices=AssessmentStatus.values, required=False)
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

    @extend_schema(
        operation_id="assessments_list",
        summary="Assessments of the caller's departments, newest first",
        parameters=[AssessmentListFilter],
        responses={
            200: AssessmentSummaryOutput(many=True),
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: PAGE_NOT_FOUND,
        },
        tags=["assessments"],
    )
    def get(self, request: Request) -> Response:
        filters = self.AssessmentListFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        assessments = assessment_list(
            user=request.user,
            patient_id=filters.validated_data.get("patient"),
            status=filters.validated_data.get("status"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(assessments, request, view=self) or []
        patient_data_query(
            actor=Actor.from_request(request),
            resource_type="assessment",
            data_category=CATEGORY_ASSESSMENT,
            rows=[
                ShownRow(assessment.department_id, assessment.patient_id, assessment.pk)
                for assessment in page
            ],
            searched_department_ids=departments_searched(request.user),
            filters=filters.validated_data,
        )
        return paginator.get_paginated_response(AssessmentSummaryOutput(page, many=True).data)


class AssessmentCreateApi(PeriopApi):
    roles_by_method = {"POST": CLINICAL_ROLES}

    class AssessmentCreateInput(StrictSerializer):
        patient = id_field()
        department = id_field(required=False, help_text="Defaults to the patient's department.")
        planned_at = AwareDateTimeField(help_text="Planned time of the procedure.")
        procedure = serializers.CharField(max_length=200)
        weight_kg = weight_field()
        drugs = DrugListField(help_text=DRUG_LIST_HELP)

    @extend_schema(
        operation_id="assessments_create",
        summary="Create a draft assessment, evaluated against the patient's record",
        request=AssessmentCreateInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: AssessmentDetailOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            422: OpenApiResponse(
                description="The Idempotency-Key was already used for a different request."
            ),
        },
        tags=["assessments"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.AssessmentCreateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The same message for a patient that does not exist and one the caller cannot see.
        patient = patients_visible_to(request.user).filter(pk=data["patient"]).first()
        if patient is None:
            raise ValidationError({"patient": [f"Unknown patient {data['patient']}."]})
        department = department_for_writing(
            user=request.user,
            department_id=data.get("department", patient.department_id),
            roles=CLINICAL_ROLES,
        )
        actor = Actor.from_request(request)
        fields = {
            "patient": patient,
            "department": department,
            "planned_at": data["planned_at"],
            "procedure": data["procedure"],
            "weight_kg": data["weight_kg"],
            "drugs": data["drugs"],
        }
        key = idempotency_key(request)
        replayed = False
        if key is None:
            assessment = assessment_create(actor=actor, **fields)
        else:
            assessment, replayed = assessment_create_once(
                actor=actor,
                idempotency_key=key,
                request_digest=digest(canonical_json(request.data)),
                **fields,
            )
        response = detail_response(assessment, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/assessments/{assessment.pk}"
        if replayed:
            # The answer shows the patient's data again: a read, audited as one.
            patient_data_read(
                actor=actor,
                patient=assessment.patient,
                resource_type="assessment",
                resource_id=assessment.pk,
                data_category=CATEGORY_ASSESSMENT,
                department_id=assessment.department_id,
                payload={"revision": assessment.revision, "idempotent_replay": True},
            )
            response["Idempotent-Replayed"] = "true"
        return response


class AssessmentCollectionApi(AssessmentListApi, AssessmentCreateApi):
    """`/api/v1/assessments`: GET lists, POST creates a draft."""

    roles_by_method = combine_roles(AssessmentListApi, AssessmentCreateApi)


class AssessmentDetailApi(PeriopApi):
    roles_by_method = {"GET": READ_ROLES}

    @extend_schema(
        operation_id="assessments_retrieve",
        summary="An assessment: snapshot, cautions, acknowledgements and version history",
        description="The ETag header identifies the revision; send it in If-Match to edit.",
        responses={
            200: AssessmentDetailOutput,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
        tags=["assessments"],
    )
    def get(self, request: Request, assessment_id: int) -> Response:
        assessment = assessment_get(user=request.user, assessment_id=assessment_id)
        response = detail_response(assessment)
        patient_data_read(
            actor=Actor.from_request(request),
            patient=assessment.patient,
            resource_type="assessment",
            resource_id=assessment.pk,
            data_category=CATEGORY_ASSESSMENT,
            department_id=assessment.department_id,
            payload={"revision": assessment.revision, "status": assessment.status},
        )
        return response


class AssessmentUpdateApi(PeriopApi):
    roles_by_method = {"PATCH": CLINICAL_ROLES}

    class AssessmentUpdateInput(StrictSerializer):
        planned_at = AwareDateTimeField(required=False)
        procedure = serializers.CharField(required=False, max_length=200)
        weight_kg = weight_field(required=False)
        drugs = DrugListField(required=False, help_text=DRUG_LIST_HELP)

        def validate(self, data: dict[str, object]) -> dict[str, object]:
            if not data:
                raise serializers.ValidationError("Give at least one field to change.")
            return data

    @extend_schema(
        operation_id="assessments_partial_update",
        summary="Edit a draft (If-Match required); it is evaluated again",
        parameters=[IF_MATCH_REQUIRED],
        request=AssessmentUpdateInput,
        responses={
            200: AssessmentDetailOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: SIGNED,
            412: STALE,
            428: OpenApiResponse(description="If-Match is missing."),
        },
        tags=["assessments"],
    )
    def patch(self, request: Request, assessment_id: int) -> Response:
        assessment = _writable_assessment(request, assessment_id)
        revision = required_revision(request, assessment)
        serializer = self.AssessmentUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = assessment_update(
            actor=Actor.from_request(request),
            assessment=assessment,
            expected_revision=revision,
            **serializer.validated_data,
        )
        return detail_response(updated)


class AssessmentItemApi(AssessmentDetailApi, AssessmentUpdateApi):
    """`/api/v1/assessments/{id}`: GET reads, PATCH edits a draft."""

    roles_by_method = combine_roles(AssessmentDetailApi, AssessmentUpdateApi)


class AssessmentSignApi(PeriopApi):
    """`POST /api/v1/assessments/{id}/sign`."""

    roles_by_method = {"POST": CLINICAL_ROLES}

    class AssessmentSignInput(StrictSerializer):
        """No fields: signing takes the assessment as it is."""

    @extend_schema(
        operation_id="assessments_sign",
        summary="Sign: the assessment becomes immutable",
        description=(
            "Every contraindicated or avoid caution of the current revision must be "
            "acknowledged first; otherwise 409 names the drugs. A stored evaluation that "
            "holds no caution for a planned drug is not signed (400 on `drugs`, naming them): "
            "edit the draft so that its cautions are evaluated and stored again."
        ),
        parameters=[IF_MATCH_OPTIONAL],
        request=AssessmentSignInput,
        responses={
            200: AssessmentDetailOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: SIGNED,
            412: STALE,
        },
        tags=["assessments"],
    )
    def post(self, request: Request, assessment_id: int) -> Response:
        assessment = _writable_assessment(request, assessment_id)
        self.AssessmentSignInput(data=request.data or {}).is_valid(raise_exception=True)
        signed = assessment_sign(
            actor=Actor.from_request(request),
            assessment=assessment,
            expected_revision=optional_revision(request, assessment),
        )
        return detail_response(signed)


class DecisionReasonInput(StrictSerializer):
    """The drug decided and the reason fields shared by the v1 acknowledgement and the plan's
    decision (the services check which combinations are allowed)."""

    drug = DrugNameField(help_text="A planned drug's code or synonym (v1.1).")
    reason_code = serializers.ChoiceField(
        choices=ReasonCode.values,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required to override; caution-not-applicable and other-documented also "
        "need a comment.",
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


# What a decision on a draft can answer besides success.
DECISION_ERRORS = {
    400: INVALID,
    401: NOT_AUTHENTICATED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: SIGNED,
    412: STALE,
}


class AcknowledgementCreateApi(PeriopApi):
    """`POST /api/v1/assessments/{id}/acknowledgements`."""

    roles_by_method = {"POST": CLINICAL_ROLES}

    class AcknowledgementInput(DecisionReasonInput):
        decision = serializers.ChoiceField(
            choices=[Decision.ACCEPTED.value, Decision.OVERRIDDEN.value],
            help_text="accepted: the drug is withheld (the plan's withhold); overridden: it is "
            "given despite the caution.",
        )

    @extend_schema(
        operation_id="assessments_acknowledgements_create",
        summary="Accept or override a contraindicated or avoid caution",
        request=AcknowledgementInput,
        parameters=[IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY_PARAMETER],
        responses={201: AcknowledgementOutput, **DECISION_ERRORS},
        tags=["assessments"],
    )
    @idempotent_create(
        resource_type="acknowledgement",
        data_category=CATEGORY_ACKNOWLEDGEMENT,
        patient_of=patient_of_assessment,
    )
    def post(self, request: Request, assessment_id: int) -> Response:
        assessment = _writable_assessment(request, assessment_id)
        serializer = self.AcknowledgementInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        acknowledgement = caution_acknowledge(
            actor=Actor.from_request(request),
            assessment=assessment,
            expected_revision=optional_revision(request, assessment),
            **serializer.validated_data,
        )
        response = Response(
            AcknowledgementOutput(acknowledgement).data, status=status.HTTP_201_CREATED
        )
        return with_etag(response, assessment)


class AssessmentAmendApi(PeriopApi):
    """`POST /api/v1/assessments/{id}/amend`."""

    roles_by_method = {"POST": CLINICAL_ROLES}

    class AssessmentAmendInput(StrictSerializer):
        reason = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=2000
        )

    @extend_schema(
        operation_id="assessments_amend",
        summary="Amend a signed assessment: a new draft that supersedes it",
        request=AssessmentAmendInput,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: AssessmentDetailOutput,
            400: INVALID,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: SIGNED,
        },
        tags=["assessments"],
    )
    @idempotent_create(
        resource_type="assessment",
        data_category=CATEGORY_ASSESSMENT,
        patient_of=lambda body, url_kwargs: int(body["patient"]["id"]),
    )
    def post(self, request: Request, assessment_id: int) -> Response:
        assessment = _writable_assessment(request, assessment_id)
        serializer = self.AssessmentAmendInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        draft = assessment_amend(
            actor=Actor.from_request(request),
            assessment=assessment,
            reason=serializer.validated_data["reason"],
        )
        response = detail_response(draft, status_code=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/assessments/{draft.pk}"
        return response
