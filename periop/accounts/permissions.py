"""Role and department checks used by every API view.

The rules of the contract: `401` without authentication, `403` for an authenticated user
without the role, `404` for an object in a department the user cannot see (so its existence
does not leak). A Django superuser may do everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from periop.accounts.models import Membership, Role

M = TypeVar("M", bound=Model)

AnyUser = AbstractBaseUser | AnonymousUser


def user_department_ids(user: AnyUser, roles: Iterable[str] | None = None) -> set[int]:
    """Departments in which the user holds one of `roles` (any role when `roles` is None)."""
    if not user.is_authenticated:
        return set()
    memberships = Membership.objects.filter(user_id=user.pk)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return set(memberships.values_list("department_id", flat=True))


def user_has_role(user: AnyUser, roles: Iterable[str]) -> bool:
    """True for a superuser, or for a user with one of `roles` in any department."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(user_id=user.pk, role__in=list(roles)).exists()


def scope_to_departments(
    queryset: QuerySet[M],
    user: AnyUser,
    *,
    roles: Iterable[str] | None = None,
    department_field: str = "department",
) -> QuerySet[M]:
    """Restricts `queryset` to the departments in which the user holds one of `roles`."""
    if getattr(user, "is_superuser", False):
        return queryset
    department_ids = user_department_ids(user, roles)
    return queryset.filter(**{f"{department_field}__in": department_ids})


def get_scoped_object_or_404(
    queryset: QuerySet[M],
    user: AnyUser,
    *,
    roles: Iterable[str] | None = None,
    department_field: str = "department",
    **lookup: Any,
) -> M:
    """The object, or 404 when it does not exist or lives in a department the user cannot see."""
    scoped = scope_to_departments(queryset, user, roles=roles, department_field=department_field)
    try:
        return scoped.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None


class HasRole(BasePermission):
    """Grants access to users holding one of the view's `required_roles` in any department."""

    message = "Your role does not allow this action."

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles: Iterable[str] = getattr(view, "required_roles", ())
        return user_has_role(request.user, roles)


CLINICAL_ROLES = (Role.ANESTHETIST, Role.ADMIN)
CHECK_ROLES = (Role.PHARMACIST, Role.ANESTHETIST, Role.ADMIN)
AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)
