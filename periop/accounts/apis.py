"""`GET /api/v1/me`: who the caller is and which roles they hold where."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.accounts.models import Membership


class MembershipOutput(serializers.Serializer[Membership]):
    department_id = serializers.IntegerField()
    department_code = serializers.CharField()
    department_name = serializers.CharField()
    role = serializers.CharField()


class MeOutput(serializers.Serializer[object]):
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()
    memberships = MembershipOutput(many=True)


class MeApi(APIView):
    @extend_schema(
        summary="The authenticated user and their department roles",
        responses={200: MeOutput},
        tags=["accounts"],
    )
    def get(self, request: Request) -> Response:
        memberships = Membership.objects.filter(user_id=request.user.pk or 0).select_related(
            "department"
        )
        return Response(
            {
                "username": request.user.get_username(),
                "is_superuser": bool(getattr(request.user, "is_superuser", False)),
                "memberships": [
                    {
                        "department_id": membership.department.id,
                        "department_code": membership.department.code,
                        "department_name": membership.department.name,
                        "role": membership.role,
                    }
                    for membership in memberships
                ],
            }
        )
