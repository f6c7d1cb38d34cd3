"""Role and department checks used by every API view.

The rules of the contract: `401` without authentication, `403` for an authenticated user
without the role, `404` for an object in a department the user cannot see (so its existence
does not leak). A Django superuser may do everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    statement = department_ids_statement(connection, None if wanted is None else len(wanted))
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement, [user.pk, *(wanted or [])])
        return {int(row[0]) for row in cursor.fetchall()}


@per_vendor
def department_ids_statement(connection: BaseDatabaseWrapper, roles: int | None) -> str:
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


@dataclass(frozen=True, slots=True)
class DepartmentRoles:
    """The roles a user holds, by department, read once for a request (`department_roles`).

    The permission check reads them, and the view passes the same object to the services, so
    that a request asks the database for the user's departments once however many checks it
    makes. The answers are those of `user_department_ids` and `user_has_role`."""

    user_id: Any
    is_superuser: bool
    by_department: Mapping[int, frozenset[str]]

    def department_ids(self, roles: Iterable[str] | None = None) -> set[int]:
        """As `user_department_ids`: the departments in which the user holds one of `roles`
        (any role when None); a superuser's too are only their memberships."""
        if roles is None:
            return set(self.by_department)
        wanted = {str(role) for role in roles}
        return {pk for pk, held in self.by_department.items() if held & wanted}

    def has_role(self, roles: Iterable[str]) -> bool:
        """As `user_has_role`: a superuser, or one of `roles` in some department."""
        return self.is_superuser or bool(self.department_ids(roles))

    def holds(self, department_id: int, roles: Iterable[str]) -> bool:
        """A superuser, or one of `roles` in that department."""
        return self.is_superuser or department_id in self.department_ids(roles)

    def of(self, user: AnyUser) -> DepartmentRoles:
        """Itself, when it is `user`'s: a service given another user's roles refuses to go on
        (a programming error, never a permission)."""
        if self.user_id != user.pk or self.is_superuser != bool(
            getattr(user, "is_superuser", False)
        ):
            raise ValueError("These department roles are not the user's.")
        return self


def department_roles(user: AnyUser) -> DepartmentRoles:
    """Every role the user holds, by department: one fixed statement (none when anonymous)."""
    superuser = bool(getattr(user, "is_superuser", False))
    if not user.is_authenticated:
        return DepartmentRoles(user_id=user.pk, is_superuser=superuser, by_department={})
    connection = connections[router.db_for_read(Membership) or DEFAULT_DB_ALIAS]
    held: dict[int, set[str]] = {}
    with prepared_cursor(connection) as cursor:
        cursor.execute(_department_roles_statement(connection), [user.pk])
        for department_id, role in cursor.fetchall():
            held.setdefault(int(department_id), set()).add(str(role))
    return DepartmentRoles(
        user_id=user.pk,
        is_superuser=superuser,
        by_department={pk: frozenset(roles) for pk, roles in held.items()},
    )


@per_vendor
def _department_roles_statement(connection: BaseDatabaseWrapper) -> str:
    """A user's departments with the role held in each; built from model metadata only."""
    quote = connection.ops.quote_name
    fields = Membership._meta
    return (
        f"SELECT {quote(fields.get_field('department').column)}, "  # noqa: S608
        f"{quote(fields.get_field('role').column)} "
        f"FROM {quote(fields.db_table)} WHERE {quote(fields.get_field('user').column)} = %s"
    )


_REQUEST_ROLES = "_periop_department_roles"


def request_department_roles(request: Any) -> DepartmentRoles:
    """The request's user's `department_roles`, read at the first call (the permission check)
    and the same object at every later one (the view, which passes it to the services)."""
    known = getattr(request, _REQUEST_ROLES, None)
    if isinstance(known, DepartmentRoles) and known.user_id == request.user.pk:
        return known
    loaded = department_roles(request.user)
    setattr(request, _REQUEST_ROLES, loaded)
    return loaded


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
    known: DepartmentRoles | None = None,
) -> QuerySet[M]:
    """Restricts `queryset` to the departments in which the user holds one of `roles`
    (`known`: the user's roles already read for the request, so not asked again)."""
    if getattr(user, "is_superuser", False):
        return queryset
    department_ids = known_department_ids(user, roles, known)
    return queryset.filter(**{f"{department_field}__in": department_ids})


def known_department_ids(
    user: AnyUser, roles: Iterable[str] | None, known: DepartmentRoles | None
) -> set[int]:
    """`user_department_ids`, from `known` (the user's roles already read for the request)
    when there is one, instead of asking the database again."""
    if known is not None:
        return known.of(user).department_ids(roles)
    return user_department_ids(user, roles)


def get_scoped_object_or_404(
    queryset: QuerySet[M],
    user: AnyUser,
    *,
    roles: Iterable[str] | None = None,
    department_field: str = "department",
    known: DepartmentRoles | None = None,
    **lookup: Any,
) -> M:
    """The object, or 404 when it does not exist or lives in a department the user cannot see."""
    scoped = scope_to_departments(
        queryset, user, roles=roles, department_field=department_field, known=known
    )
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


class HasDepartmentRole(HasRole):
    """`HasRole`, reading all the user's roles at once and keeping them on the request: the view
    passes `request_department_roles(request)` on to the services, which ask nothing again."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        roles: Iterable[str] = getattr(view, "required_roles", ())
        if not request.user.is_authenticated:
            return False
        return request_department_roles(request).has_role(roles)


CLINICAL_ROLES = (Role.ANESTHETIST, Role.ADMIN)
CHECK_ROLES = (Role.PHARMACIST, Role.ANESTHETIST, Role.ADMIN)
AUDIT_ROLES = (Role.AUDITOR, Role.ADMIN)
