"""Who may see a department's reports: its auditors and admins (and superusers)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from periop.accounts.models import Department
from periop.accounts.permissions import (
    AUDIT_ROLES,
    AnyUser,
    get_scoped_object_or_404,
    user_department_ids,
    user_has_role,
)


def report_department_get(*, user: AnyUser, department_id: int) -> Department:
    """The department, if the user audits it. 403 without an audit role anywhere; 404 for a
    department the user does not audit, so another department's existence does not leak."""
    if not user_has_role(user, AUDIT_ROLES):
        raise PermissionDenied("Department reports are for auditors and administrators.")
    return get_scoped_object_or_404(
        Department.objects.all(), user, roles=AUDIT_ROLES, department_field="id", pk=department_id
    )


def report_departments_for(user: AnyUser) -> list[Department]:
    """The departments whose reports the user may open."""
    departments = Department.objects.order_by("name")
    if getattr(user, "is_superuser", False):
        return list(departments)
    return list(departments.filter(id__in=user_department_ids(user, AUDIT_ROLES)))
