"""Login (with lockout), logout and the department switcher."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from periop.accounts.models import Role
from periop.web.forms import DepartmentForm, LoginForm
from periop.web.workplace import department_choices, department_choose, workplace_for

login_view = LoginView.as_view(
    template_name="web/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
logout_view = LogoutView.as_view()


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def department_view(request: HttpRequest) -> HttpResponse:
    """Choose the department to work in; stored in the session."""
    choices = department_choices(request.user)
    options = [
        (department.pk, f"{department.name} ({role_label(role)})") for department, role in choices
    ]
    current = workplace_for(request) if choices else None
    form = DepartmentForm(
        request.POST or None,
        choices=options,
        initial={"department": current.department.pk if current else None},
    )
    if request.method == "POST" and form.is_valid():
        if department_choose(request, form.cleaned_data["department"]):
            messages.success(request, "Department changed.")
            return redirect(_safe_next(request, "web:patients"))
        form.add_error("department", "Choose one of your departments.")
    status = 400 if form.errors else 200
    return render(
        request,
        "web/department.html",
        {"form": form, "workplace": current, "next": _safe_next(request, "")},
        status=status,
    )


def role_label(role: str) -> str:
    return str(Role(role).label)
