"""The department a user works in for this session, and the page decorators built on it.

A user with roles in several departments chooses one (the department switcher); every page
then shows and changes only that department's patients and assessments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from periop.accounts.models import Department, Membership, Role
from periop.accounts.permissions import AUDIT_ROLES, CHECK_ROLES, CLINICAL_ROLES

SESSION_KEY = "periop_department_id"


@dataclass(frozen=True, slots=True)
class Workplace:
    """The chosen department, the user's role in it, and every department they may choose."""

    department: Department
    role: str
    choices: tuple[tuple[Department, str], ...]

    @property
    def can_write(self) -> bool:
        return self.role in CLINICAL_ROLES

    @property
    def can_check(self) -> bool:
        """Whether the user may run a patient's drug check (as the API's patient check)."""
        return self.role in CHECK_ROLES

    @property
    def can_audit(self) -> bool:
        """Whether the department's reports are open to the user (auditors and admins)."""
        return self.role in AUDIT_ROLES

    @property
    def can_tune(self) -> bool:
        """Whether the user proposes the department's local tunings (administrators)."""
        return self.role == Role.ADMIN

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


def department_choices(user: Any) -> tuple[tuple[Department, str], ...]:
    """(department, role) for every department the user may work in, by name (one query)."""
    if getattr(user, "is_superuser", False):
        return tuple((department, Role.ADMIN) for department in Department.objects.order_by("name"))
    # A knowledge-base reviewer's membership opens no department's patients.
    memberships = (
        Membership.objects.filter(user_id=user.pk)
        .exclude(role=Role.KB_REVIEWER)
        .select_related("department")
        .order_by("department__name", "department_id")
    )
    return tuple((membership.department, membership.role) for membership in memberships)


def workplace_for(request: HttpRequest) -> Workplace | None:
    """The session's department; a user with a single department needs no choice."""
    choices = department_choices(request.user)
    chosen = request.session.get(SESSION_KEY)
    for department, role in choices:
        if department.pk == chosen:
            return Workplace(department=department, role=role, choices=choices)
    if len(choices) == 1:
        department, role = choices[0]
        request.session[SESSION_KEY] = department.pk
        return Workplace(department=department, role=role, choices=choices)
    return None


def department_choose(request: HttpRequest, department_id: int) -> bool:
    """Stores the chosen department in the session if the user may work there."""
    if any(department.pk == department_id for department, _ in department_choices(request.user)):
        request.session[SESSION_KEY] = department_id
        return True
    return False


View = Callable[..., HttpResponse]


def department_page(view: View) -> View:
    """Login required, then a chosen department: sets `request.workplace` for the view."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        workplace = workplace_for(request)
        if workplace is None:
            if not department_choices(request.user):
                # A knowledge-base reviewer's work is the releases, in no department.
                if Membership.objects.filter(
                    user_id=request.user.pk, role=Role.KB_REVIEWER
                ).exists():
                    return redirect("web:knowledge-releases")
                return render(request, "web/no_department.html", status=403)
            target = reverse("web:department") + "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        request.workplace = workplace  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def clinical_page(view: View) -> View:
    """As `department_page`, and the user's role in the department must allow writing
    (anaesthetist or department administrator): 403 otherwise."""

    @functools.wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not workplace(request).can_write:
            raise PermissionDenied("Your role in this department does not allow changes.")
        return view(request, *args, **kwargs)

    return department_page(check_role)


def check_page(view: View) -> View:
    """As `department_page`, and the user's role must allow drug checks (pharmacist,
    anaesthetist or department administrator, as in the API): 403 otherwise."""

    @functools.wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not workplace(request).can_check:
            raise PermissionDenied("Your role in this department does not allow drug checks.")
        return view(request, *args, **kwargs)

    return department_page(check_role)


def workplace(request: HttpRequest) -> Workplace:
    found: Workplace = request.workplace  # type: ignore[attr-defined]
    return found
