"""The local-tuning pages: department administrators propose, knowledge-base reviewers sign off.

The same services as the API (`periop.drugs.tunings`) decide: the floors, the department a
proposal or a sign-off may concern, the two professions. The pages hold the same roles as the
API: administrators and reviewers see their departments' tunings (403 for anyone else); a
proposal for a department the user does not administer, or a sign-off of another department's
tuning, is not found (404).

Each request reads the user's roles once (`tuning_page`), and the view passes them on to the
services; a proposal's department is read once, from the departments the user administers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from periop.accounts.models import Department, Role
from periop.accounts.permissions import DepartmentRoles, request_department_roles
from periop.accounts.services import profession_of
from periop.api import DomainError
from periop.drugs.engine import Level
from periop.drugs.engine.tuning import rule_levels
from periop.drugs.models import LocalTuning, SignOffKind, TuningChange
from periop.drugs.registry import get_knowledge_base
from periop.drugs.tunings import tuning_propose, tuning_sign_off, tunings_visible
from periop.web.forms import add_domain_error
from periop.web.views.common import page
from periop.web.workplace import View, workplace_for

TUNING_ROLES = (Role.ADMIN, Role.KB_REVIEWER)


def tuning_page(*roles: str) -> Callable[[View], View]:
    """Login required, then one of `roles` in some department (or a superuser): 403 otherwise,
    as the API's role check. Sets the workplace, when the user has one, for the header. The
    roles read here are the view's `request_department_roles(request)`: read once."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request_department_roles(request).has_role(roles):
                raise PermissionDenied("Your role does not allow this action.")
            here = workplace_for(request)
            if here is not None:
                request.workplace = here  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _departments(held: DepartmentRoles, roles: Iterable[str]) -> list[Department]:
    """The departments in which the user holds one of `roles` (every one for a superuser)."""
    rows = Department.objects.order_by("name", "pk")
    if held.is_superuser:
        return list(rows)
    return list(rows.filter(pk__in=held.department_ids(roles)))


class TuningForm(forms.Form):
    """The shape of a proposal, as the API's `TuningInput`; the service decides the rest."""

    department = forms.IntegerField(label="Department", min_value=1, widget=forms.Select)
    rule = forms.CharField(
        label="Rule",
        max_length=100,
        widget=forms.Select,
        help_text="A rule of the active knowledge base, with the levels it gives.",
    )
    change = forms.ChoiceField(
        label="Change", choices=TuningChange.choices, widget=forms.RadioSelect
    )
    level = forms.CharField(
        label="Raise to",
        max_length=20,
        required=False,
        widget=forms.Select,
        help_text="Only when raising the level.",
    )
    text = forms.CharField(
        label="Local text",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only when adding local text: shown with the rule's findings.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the department tunes this rule; the reviewers read it.",
    )

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].widget.choices = [(d.pk, d.name) for d in departments]
        if len(departments) == 1:
            self.fields["department"].initial = departments[0].pk
        rules = sorted(get_knowledge_base().rules, key=lambda rule: rule.id)
        self.fields["rule"].widget.choices = [("", "Choose a rule")] + [
            (
                rule.id,
                f"{rule.id} ({', '.join(level.code for level in sorted(rule_levels(rule)))})",
            )
            for rule in rules
        ]
        self.fields["level"].widget.choices = [("", "Not raising")] + [
            (level.code, level.code) for level in Level if level > Level.NONE
        ]


class SignOffForm(forms.Form):
    comment = forms.CharField(
        label="Comment",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: shown with your sign-off.",
    )


def _status(tuning: LocalTuning) -> tuple[str, str, list[str]]:
    """(status code, label, the professions still to sign)."""
    signed = {sign_off.kind for sign_off in tuning.sign_offs.all()}
    missing = [str(kind.label) for kind in SignOffKind if kind.value not in signed]
    if not signed:
        return "proposed", "Proposed", missing
    if missing:
        return "signed", "Signed once", missing
    return "in-force", "In force", missing


def _list_page(
    request: HttpRequest,
    *,
    problem: forms.Form | None = None,
    failed: tuple[int, SignOffForm] | None = None,
) -> HttpResponse:
    user = request.user
    held = request_department_roles(request)
    profession = profession_of(user)
    reviewing = None if held.is_superuser else held.department_ids([Role.KB_REVIEWER])
    rows = []
    for tuning in tunings_visible(user, roles=held):
        status, label, missing = _status(tuning)
        sign_offs = list(tuning.sign_offs.all())
        can_sign = (
            bool(profession)
            and (reviewing is None or tuning.department_id in reviewing)
            and all(sign_off.kind != profession for sign_off in sign_offs)
            and all(sign_off.reviewer_id != user.pk for sign_off in sign_offs)
        )
        form = (
            failed[1] if failed and failed[0] == tuning.pk else SignOffForm(prefix=f"t{tuning.pk}")
        )
        rows.append(
            {
                "tuning": tuning,
                "status": status,
                "status_label": label,
                "missing": missing,
                "sign_offs": sign_offs,
                "can_sign": can_sign,
                "form": form,
            }
        )
    return page(
        request,
        "web/knowledge_tunings.html",
        {
            "rows": rows,
            "can_propose": held.has_role([Role.ADMIN]),
            "kb_review": held.has_role([Role.KB_REVIEWER]),
            "profession": SignOffKind(profession).label if profession else "",
            "problem": problem,
        },
        status=400 if problem is not None and problem.errors else 200,
    )


@tuning_page(*TUNING_ROLES)
@require_safe
def tuning_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@tuning_page(*TUNING_ROLES)
@require_http_methods(["GET", "POST"])
def tuning_new(request: HttpRequest) -> HttpResponse:
    held = request_department_roles(request)
    # The one read of the departments: the form's choices, and the one a proposal names.
    departments = _departments(held, [Role.ADMIN])
    context = {"kb_review": held.has_role([Role.KB_REVIEWER])}
    if request.method != "POST":
        if not departments:
            raise PermissionDenied("Only a department's administrator proposes local tunings.")
        form = TuningForm(departments=departments)
        return page(request, "web/knowledge_tuning_form.html", {"form": form, **context})
    form = TuningForm(request.POST, departments=departments)
    if form.is_valid():
        data = form.cleaned_data
        # As the API: a department the user does not administer is not found.
        department = next((d for d in departments if d.pk == data["department"]), None)
        if department is None:
            raise Http404("No such department among those you administer.")
        try:
            tuning = tuning_propose(
                user=request.user,
                department=department,
                rule_id=data["rule"],
                change=data["change"],
                level=data["level"],
                text=data["text"],
                reason=data["reason"],
                roles=held,
            )
        except DomainError as error:
            add_domain_error(form, error, {})
        else:
            messages.success(
                request,
                f"Tuning of {tuning.rule_id} proposed: it applies once a consultant "
                "anaesthetist and a clinical pharmacist have signed it off.",
            )
            return redirect(reverse("web:knowledge-tunings") + f"#tuning-{tuning.pk}")
    return page(request, "web/knowledge_tuning_form.html", {"form": form, **context}, status=400)


@tuning_page(Role.KB_REVIEWER)
@require_POST
def tuning_sign_off_view(request: HttpRequest, tuning_id: int) -> HttpResponse:
    # The service refuses (404) a reviewer of another department, as it does for the API.
    tuning = get_object_or_404(LocalTuning, pk=tuning_id)
    form = SignOffForm(request.POST, prefix=f"t{tuning.pk}")
    problem = forms.Form(data={})
    problem.is_valid()
    if form.is_valid():
        try:
            tuning_sign_off(
                user=request.user,
                tuning=tuning,
                comment=form.cleaned_data["comment"],
                roles=request_department_roles(request),
            )
        except DomainError as error:
            add_domain_error(problem, error, {})
        else:
            messages.success(request, f"You signed off the tuning of {tuning.rule_id}.")
            return redirect(reverse("web:knowledge-tunings") + f"#tuning-{tuning.pk}")
    for name, messages_of_field in form.errors.items():
        for message in messages_of_field:
            problem.add_error(None, f"{form.fields[name].label}: {message}")
    return _list_page(request, problem=problem, failed=(tuning.pk, form))
