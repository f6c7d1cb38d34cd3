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
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from periop.accounts.models import Membership, Role
from periop.fixed_sql import per_vendor, prepared_cursor

M = TypeVar("M", bound=Model)

AnyUser = AbstractBaseUser | AnonymousUser


def user_department_ids(user: AnyUser, roles: Iterable[str] | None = None) -> set[int]:
    """Departments in which the user holds one of `roles` (any role when `roles` is None)."""
    if not user.is_authenticated:
        return set()
    wanted = None if roles is None else [str(role) for role in roles]
    if wanted == []:
        return set()
    # Every API request asks this: one fixed statement (building the ORM query, with the
    # model's ordering over two joined tables, cost ten times running it).
    connection = connections[router.db_for_read(Membership) or DEFAULT_DB_ALIAS]
    statement = _department_ids_statement(connection, None if wanted is None else len(wanted))
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement, [user.pk, *(wanted or [])])
        return {int(row[0]) for row in cursor.fetchall()}


@per_vendor
def _department_ids_statement(connection: BaseDatabaseWrapper, roles: int | None) -> str:
    """The departments of a user, holding one of `roles` roles (any role when None); built
    from model metadata only, never from input."""
    quote = connection.ops.quote_name
    fields = Membership._meta
    statement = (
        f"SELECT {quote(fields.get_field('department').column)} "  # noqa: S608
        f"FROM {quote(fields.db_table)} WHERE {quote(fields.get_field('user').column)} = %s"
    )
    if roles is not None:
        statement += f" AND {quote(fields.get_field('role').column)} IN "
        statement += f"({', '.join(['%s'] * roles)})"
    return statement


def user_has_role(user: AnyUser, roles: Iterable[str]) -> bool:
    """True for a superuser, or for a user with one of `roles` in any department."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(user_department_ids(user, roles))


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
