"""The pharmacy check and the knowledge-base catalogue."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.accounts.models import Department, Role
from periop.accounts.permissions import (
    CHECK_ROLES,
    HasDepartmentRole,
    HasRole,
    get_scoped_object_or_404,
    request_department_roles,
)
from periop.api import MAX_ID, StrictSerializer
from periop.audit.services import Actor
from periop.drugs.catalogue import knowledge_base_catalogue
from periop.drugs.engine.tuning import Tuning
from periop.drugs.models import LocalTuning, SignOffKind, TuningChange
from periop.drugs.presenters import check_answer
from periop.drugs.registry import knowledge_base_for_digest
from periop.drugs.releases import release_activate, release_get
from periop.drugs.schema import CheckOutput
from periop.drugs.serializers import CheckInput, check_input_validate
from periop.drugs.services import check_run, check_warnings
from periop.drugs.tunings import (
    department_tunings,
    tuning_in_force,
    tuning_propose,
    tuning_sign_off,
    tunings_by_department,
    tunings_visible,
)

CHECK_EXAMPLE = {
    "at": "2026-11-22T08:00:00+00:00",
    "patient": {"age_years": 34, "weight_kg": 62},
    "conditions": [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "resolved": None,
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        },
        {
            "code": "stroke",
            "onset": "2026-11-12T14:00:00+00:00",
            "attributes": {"motor_deficit": True},
        },
    ],
    "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
    "receptor_state": None,
    "drugs": ["succinylcholine", "rocuronium", "sugammadex"],
}


class ReleaseActivatedOutput(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.CharField()
    digest = serializers.CharField()
    activated_at = serializers.DateTimeField()
    activated_by = serializers.CharField()


CHECK_VIEWS = ("full", "summary")


class HasCheckRole(HasRole):
    """A checking role in some department. The departments are kept on the view with their
    tunings in force (one statement), so the check can name its department and show its
    tunings without asking the database again."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        tunings = tunings_by_department(request.user, CHECK_ROLES)
        view.check_department_tunings = tunings  # type: ignore[attr-defined]
        view.check_department_ids = set(tunings)  # type: ignore[attr-defined]
        return bool(tunings) or bool(getattr(request.user, "is_superuser", False))


class CheckApi(APIView):
    """`POST /api/v1/checks`: stateless check of planned drugs against a patient's state."""

    permission_classes = [IsAuthenticated, HasCheckRole]
    check_department_ids: set[int]
    check_department_tunings: dict[int, dict[str, list[Tuning]]]

    def check_department(self, request: Request, chosen: int | None) -> int | None:
        """The department the check is recorded under: the one chosen, which the caller must
        hold a checking role in (any existing one for a superuser), else the caller's only
        department, else none (a caller with several that chose none)."""
        if chosen is None:
            if len(self.check_department_ids) == 1:
                return next(iter(self.check_department_ids))
            return None
        if chosen in self.check_department_ids:
            return chosen
        if getattr(request.user, "is_superuser", False):
            if Department.objects.filter(pk=chosen).exists():
                return chosen
            raise ValidationError({"department": ["No such department."]})
        raise PermissionDenied("You hold no checking role in that department.")

    def check_tunings(self, department_id: int | None) -> dict[str, list[Tuning]]:
        """The department's tunings in force, as the permission check read them with the
        caller's departments (read now only for a superuser's department outside them)."""
        if department_id in self.check_department_tunings:
            return self.check_department_tunings[department_id]
        return department_tunings(department_id)

    @extend_schema(
        operation_id="checks_create",
        summary="Check planned drugs against a patient's NMJ conditions",
        description=(
            "Returns one caution per planned drug, in request order, with the findings that "
            "produced it, dose guidance, monitoring advice, assumptions and reference ids. "
            "Stores no patient. Allowed for pharmacists, anesthetists and admins. The audit "
            "event is recorded under the `department` given, or the caller's only department."
        ),
        request=CheckInput,
        parameters=[
            OpenApiParameter(
                "view",
                OpenApiTypes.STR,
                enum=list(CHECK_VIEWS),
                description="`full` (the default): the whole response. `summary`: the same "
                "response with each finding's `rationale` and `references` left out (levels, "
                "summaries, doses, monitoring, reversal and assumptions stay), for machine "
                "clients. Any other value is refused with 400.",
            )
        ],
        responses={
            200: CheckOutput,
            400: OpenApiResponse(
                description="Invalid input: one message per field (`view` for an unknown view)."
            ),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(
                description="The caller's role may not run checks (in the department given)."
            ),
        },
        examples=[
            OpenApiExample(
                "Myasthenia gravis and a recent stroke", value=CHECK_EXAMPLE, request_only=True
            )
        ],
        tags=["checks"],
    )
    def post(self, request: Request) -> Response:
        view = request.query_params.get("view", "full")
        if view not in CHECK_VIEWS:
            raise ValidationError({"view": ["Unknown view. Use full or summary."]})
        data = check_input_validate(request.data)
        department_id = self.check_department(request, data.get("department"))
        # The department's tunings in force, applied to what the check shows.
        tunings = self.check_tunings(department_id)
        evaluation = check_run(
            actor=Actor.from_request(request),
            data=data,
            raw_input=request.data,
            department_id=department_id,
            tunings=tunings,
        )
        body = check_answer(evaluation, summary=view == "summary", tunings=tunings)
        # The weight is checked on the growth chart of the release the check was evaluated on.
        kb = knowledge_base_for_digest(evaluation.knowledge_base_digest)
        body["warnings"] = check_warnings(data, kb)
        return Response(body, status=status.HTTP_200_OK)


class KnowledgeBaseApi(APIView):
    """`GET /api/v1/knowledge-base`: the active knowledge base, for clients and reviewers."""

    @extend_schema(
        operation_id="knowledge_base_retrieve",
        summary="The active knowledge base: source attributes, vocabulary, rules and references",
        description=(
            "Each condition lists its attribute schema. Every attribute either changes a caution "
            "(it is used by a rule, a receptor-effect override or an implication) or is "
            "`informational: true` with an `informational_reason` saying why no rule uses it. "
            "A condition's `implications` say which recorded attribute values imply another "
            "attribute's values (for example a dibucaine number under 30 implies a homozygous "
            "genotype); a recorded value outside them is a contradiction, and the check takes "
            "the most cautious reading and names the contradiction in `assumptions`. "
            "v1.1 (additive): each drug lists its `synonyms` (British and international names "
            "accepted wherever a drug code is); each condition lists its `conversions` (an "
            "attribute recorded in another unit, such as serum magnesium in mmol/L, with the "
            "cited factor that turns it into the attribute the rules read)."
        ),
        responses={200: dict},
        tags=["knowledge base"],
    )
    def get(self, request: Request) -> Response:
        return Response(knowledge_base_catalogue())


class ReleaseActivateApi(APIView):
    """`POST /api/v1/knowledge-base/releases/{version}/activate`: for knowledge-base
    reviewers, once every new, removed or changed rule has its two sign-offs."""

    permission_classes = [IsAuthenticated, HasRole]
    required_roles = (Role.KB_REVIEWER,)

    @extend_schema(
        operation_id="knowledge_base_release_activate",
        summary="Activate a stored knowledge-base release",
        description=(
            "Makes the release the one every new evaluation uses (audited). 409 "
            "`unsigned_rules` lists each rule that is new, removed or changed against the "
            "active release and lacks a consultant anaesthetist's or a clinical pharmacist's "
            "sign-off; 409 `active` when it is already active."
        ),
        request=None,
        responses={
            200: ReleaseActivatedOutput,
            400: OpenApiResponse(description="No stored release has this version."),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="Only knowledge-base reviewers activate releases."),
            409: OpenApiResponse(description="Unsigned rules, or the release is already active."),
        },
        tags=["knowledge base"],
    )
    def post(self, request: Request, version: str) -> Response:
        release = release_get(version)
        activation = release_activate(actor=Actor.from_request(request), release=release)
        return Response(
            {
                "version": release.version,
                "digest": release.digest,
                "activated_at": activation.activated_at,
                "activated_by": activation.activated_by_name,
            }
        )


class TuningInput(StrictSerializer):
    department = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The department the tuning is for."
    )
    rule = serializers.CharField(max_length=100, help_text="A rule id of the active release.")
    change = serializers.ChoiceField(choices=list(TuningChange.values))
    level = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="For `raise`: the level to raise the rule to.",
    )
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="For `local-text`."
    )
    reason = serializers.CharField(max_length=2000, help_text="Why the department tunes the rule.")


class TuningSignOffInput(StrictSerializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="The reviewer's comment, shown with the sign-off.",
    )


class TuningSignOffOutput(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=list(SignOffKind.values))
    reviewer = serializers.CharField()
    signed_at = serializers.DateTimeField()
    comment = serializers.CharField(allow_blank=True)


class TuningOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    department = serializers.IntegerField()
    rule = serializers.CharField()
    change = serializers.ChoiceField(choices=list(TuningChange.values))
    level = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()
    proposed_by = serializers.CharField()
    proposed_at = serializers.DateTimeField()
    # A string, not an enum: a second `status` enum would rename the assessments' one.
    status = serializers.CharField(
        help_text="`proposed`, or `in-force` once a consultant anaesthetist and a clinical "
        "pharmacist signed.",
    )
    sign_offs = TuningSignOffOutput(many=True)


def tuning_to_dict(tuning: LocalTuning) -> dict[str, Any]:
    return {
        "id": tuning.pk,
        "department": tuning.department_id,
        "rule": tuning.rule_id,
        "change": tuning.change,
        "level": tuning.level,
        "text": tuning.text,
        "reason": tuning.reason,
        "proposed_by": tuning.proposed_by.get_username(),
        "proposed_at": tuning.proposed_at,
        "status": "in-force" if tuning_in_force(tuning) else "proposed",
        "sign_offs": [
            {
                "kind": sign_off.kind,
                "reviewer": sign_off.reviewer.get_username(),
                "signed_at": sign_off.signed_at,
                "comment": sign_off.comment,
            }
            for sign_off in tuning.sign_offs.all()
        ],
    }


class TuningsApi(APIView):
    """`GET, POST /api/v1/knowledge-base/tunings`: a department's local tunings."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    required_roles = (Role.ADMIN, Role.KB_REVIEWER)

    @extend_schema(
        operation_id="knowledge_base_tunings_list",
        summary="The local tunings of the caller's departments",
        description=(
            "For department administrators and knowledge-base reviewers: every tuning of the "
            "departments they hold either role in, newest first, with its status (`proposed`, "
            "or `in-force` once a consultant anaesthetist and a clinical pharmacist signed it "
            "off) and its sign-offs."
        ),
        responses={
            200: TuningOutput(many=True),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="Neither an administrator nor a reviewer."),
        },
        tags=["knowledge base"],
    )
    def get(self, request: Request) -> Response:
        roles = request_department_roles(request)
        return Response(
            [tuning_to_dict(tuning) for tuning in tunings_visible(request.user, roles=roles)]
        )

    @extend_schema(
        operation_id="knowledge_base_tunings_create",
        summary="Propose a local tuning (department administrators)",
        description=(
            "Raise a rule's level, lower a rule's `monitor` to `none`, or add local text, for "
            "one department. Contraindicated, avoid and adjust are never lowered: such a "
            "proposal is refused with 400 on `change`, naming the rule and the floor. The "
            "tuning applies once it has both sign-offs."
        ),
        request=TuningInput,
        responses={
            201: TuningOutput,
            400: OpenApiResponse(description="Invalid input or a floor: one message per field."),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="Not an administrator of any department."),
            404: OpenApiResponse(description="Not an administrator of that department."),
        },
        tags=["knowledge base"],
    )
    def post(self, request: Request) -> Response:
        serializer = TuningInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The roles the permission check read: the department is looked up once, in them.
        roles = request_department_roles(request)
        department = get_scoped_object_or_404(
            Department.objects.all(),
            request.user,
            roles=[Role.ADMIN],
            department_field="pk",
            known=roles,
            pk=data["department"],
        )
        tuning = tuning_propose(
            user=request.user,
            department=department,
            rule_id=data["rule"],
            change=data["change"],
            level=data.get("level", ""),
            text=data.get("text", ""),
            reason=data["reason"],
            roles=roles,
        )
        tuning = tunings_visible(request.user, ids=[tuning.pk], roles=roles)[0]
        return Response(tuning_to_dict(tuning), status=status.HTTP_201_CREATED)


class TuningSignOffApi(APIView):
    """`POST /api/v1/knowledge-base/tunings/{id}/sign-off`: a reviewer of the department."""

    permission_classes = [IsAuthenticated, HasDepartmentRole]
    required_roles = (Role.KB_REVIEWER,)

    @extend_schema(
        operation_id="knowledge_base_tuning_sign_off",
        summary="Sign off a local tuning (knowledge-base reviewers)",
        description=(
            "Records the caller's sign-off, of the kind their profile's profession gives "
            "(consultant anaesthetist or clinical pharmacist). A tuning needs one of each, by "
            "two different people; with both it is in force for its department. The body is "
            "optional: a `comment` shown with the sign-off."
        ),
        request=TuningSignOffInput,
        responses={
            200: TuningOutput,
            400: OpenApiResponse(
                description="Already signed by the caller, or by the caller's profession, or "
                "the caller's profile records no profession."
            ),
            401: OpenApiResponse(description="Not authenticated."),
            403: OpenApiResponse(description="Not a knowledge-base reviewer."),
            404: OpenApiResponse(description="No such tuning in the caller's departments."),
        },
        tags=["knowledge base"],
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = TuningSignOffInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service refuses (404) a reviewer of another department, as the page's view.
        roles = request_department_roles(request)
        tuning = get_object_or_404(LocalTuning, pk=pk)
        tuning_sign_off(
            user=request.user,
            tuning=tuning,
            comment=serializer.validated_data.get("comment", ""),
            roles=roles,
        )
        tuning = tunings_visible(request.user, ids=[tuning.pk], roles=roles)[0]
        return Response(tuning_to_dict(tuning))
