"""`GET /api/v1/assessments/{id}/replay`: the assessment re-evaluated on its own release."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from periop.assessments.apis.common import FORBIDDEN, NOT_AUTHENTICATED, READ_ROLES, PeriopApi
from periop.assessments.models import AssessmentStatus
from periop.assessments.selectors import assessment_get
from periop.assessments.services import patient_data_read
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.assessments.services.replay import assessment_replay
from periop.audit.services import Actor
from periop.drugs.schema import KnowledgeBaseVersionOutput


class ReplayDifferenceOutput(serializers.Serializer[Any]):
    drug = serializers.CharField()
    field = serializers.ChoiceField(choices=["caution", "level", "finding", "dose"])
    rule = serializers.CharField(required=False, help_text="For a finding: the rule.")
    recorded = serializers.JSONField(
        allow_null=True, help_text="As the assessment showed it: a level, or a dose object."
    )
    replayed = serializers.JSONField(allow_null=True, help_text="As the replay gives it.")


class ReplayOutput(serializers.Serializer[Any]):
    assessment = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AssessmentStatus.values)
    knowledge_base = KnowledgeBaseVersionOutput()
    identical = serializers.BooleanField()
    differences = ReplayDifferenceOutput(many=True)


class AssessmentReplayApi(PeriopApi):
    roles_by_method = {"GET": READ_ROLES}

    @extend_schema(
        operation_id="assessments_replay",
        summary="Replay: the assessment re-evaluated on the release it was evaluated under",
        description=(
            "Loads the knowledge-base release of the assessment's digest, evaluates the "
            "inputs as evaluated again and compares each drug's level, findings and dose with "
            "what the assessment showed. 409 `release_unavailable` when no stored release has "
            "the digest."
        ),
        responses={
            200: ReplayOutput,
            401: NOT_AUTHENTICATED,
            403: FORBIDDEN,
            404: OpenApiResponse(description="No such assessment in the caller's departments."),
            409: OpenApiResponse(description="The assessment's release is not stored."),
        },
        tags=["assessments"],
    )
    def get(self, request: Request, assessment_id: int) -> Response:
        assessment = assessment_get(user=request.user, assessment_id=assessment_id)
        result = assessment_replay(assessment)
        patient_data_read(
            actor=Actor.from_request(request),
            patient=assessment.patient,
            resource_type="assessment",
            resource_id=assessment.pk,
            data_category=CATEGORY_ASSESSMENT,
            department_id=assessment.department_id,
            payload={
                "replay": {
                    "digest": result["knowledge_base"]["digest"],
                    "identical": result["identical"],
                }
            },
        )
        return Response(result)
