"""`GET /api/v1/me`: who the caller is and which roles they hold where."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from periop.accounts.models import Membership


class MeApi(APIView):
    class MembershipOutput(serializers.Serializer[Membership]):
        department_id = serializers.IntegerField(source="department.id")
        department_code = serializers.CharField(source="department.code")
        department_name = serializers.CharField(source="department.name")
        role = serializers.CharField()

    class Output(serializers.Serializer[object]):
        username = serializers.CharField()
        is_superuser = serializers.BooleanField()
        memberships = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        summary="The authenticated user and their department roles",
        responses={200: Output},
        tags=["accounts"],
    )
    def get(self, request: Request) -> Response:
        memberships = Membership.objects.filter(user_id=request.user.pk).select_related(
            "department"
        )
        return Response(
            {
                "username": request.user.get_username(),
                "is_superuser": bool(getattr(request.user, "is_superuser", False)),
                "memberships": self.MembershipOutput(memberships, many=True).data,
            }
        )
