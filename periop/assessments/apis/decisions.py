"""`POST /api/v1/assessments/{id}/decisions`: the plan's decision for one planned drug."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
from periop.assessments.apis.assessments import (
    DECISION_ERRORS,
    IF_MATCH_OPTIONAL,
    DecisionReasonInput,
    _writable_assessment,
    detail_response,
)
from periop.assessments.apis.common import PeriopApi, optional_revision
from periop.assessments.apis.idempotency import (
    IDEMPOTENCY_KEY_PARAMETER,
    idempotent_create,
    patient_of_assessment,
)
from periop.assessments.apis.outputs import AssessmentDetailOutput
from periop.assessments.selectors import assessment_get
from periop.assessments.services import plan_decide
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.assessments.services.plan import PLAN_DECISIONS
from periop.audit.services import Actor
from periop.drugs.serializers import DrugNameField


class DecisionCreateApi(PeriopApi):
    roles_by_method = {"POST": CLINICAL_ROLES}

    class DecisionInput(DecisionReasonInput):
        decision = serializers.ChoiceField(
            choices=list(PLAN_DECISIONS),
            help_text="give: as planned; give-adjusted: dose and monitoring from the card; "
            "withhold: not given (optionally with an alternative); override: given despite "
            "a contraindicated or avoid caution, with a reason.",
        )
        alternative = DrugNameField(
            required=False,
            allow_blank=True,
            default="",
            help_text="With withhold: the drug given instead; it is evaluated with the plan "
            "and refused if it is contraindicated or avoid.",
        )
        dose_mg = serializers.DecimalField(
            required=False,
            allow_null=True,
            default=None,
            max_digits=9,
            decimal_places=3,
            help_text="With give-adjusted or override: the dose decided, in mg.",
        )

    @extend_schema(
        operation_id="assessments_decisions_create",
        summary="Decide one planned drug: give, give adjusted, withhold or override",
        description=(
            "The plan is evaluated again over the drugs that will be given: a withheld drug's "
            "interactions leave the other drugs' cautions. Signing needs a decision for every "
            "drug that is contraindicated or avoid in that plan. Returns the assessment."
        ),
        parameters=[IF_MATCH_OPTIONAL, IDEMPOTENCY_KEY_PARAMETER],
        request=DecisionInput,
        responses={200: AssessmentDetailOutput, **DECISION_ERRORS},
        tags=["assessments"],
    )
    @idempotent_create(
        resource_type="assessment",
        data_category=CATEGORY_ASSESSMENT,
        patient_of=patient_of_assessment,
    )
    def post(self, request: Request, assessment_id: int) -> Response:
        assessment = _writable_assessment(request, assessment_id)
        serializer = self.DecisionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan_decide(
            actor=Actor.from_request(request),
            assessment=assessment,
            expected_revision=optional_revision(request, assessment),
            **serializer.validated_data,
        )
        return detail_response(assessment_get(user=request.user, assessment_id=assessment_id))
