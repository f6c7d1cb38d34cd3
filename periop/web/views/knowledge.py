"""The knowledge-base reviewers' pages: the stored releases, a candidate's diff against the
active release with each rule's review status and comments, sign-off, comment and activation.

Open to knowledge-base reviewers (and superusers); no patient data appears here.
"""

from __future__ import annotations

import csv
import functools
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from periop.accounts.models import Role
from periop.accounts.permissions import user_department_ids
from periop.accounts.services import profession_of
from periop.api import DomainError
from periop.assessments.apis.common import READ_ROLES
from periop.assessments.services.impact import DEFAULT_DAYS, impact_csv_rows, impact_report
from periop.audit.services import Actor
from periop.drugs.models import KnowledgeBaseRelease, SignOffKind
from periop.drugs.releases import active_release, release_activate, release_knowledge_base
from periop.drugs.reviews import is_reviewer, release_diff, rule_comment, rule_sign_off
from periop.web.forms import add_domain_error
from periop.web.views.common import page
from periop.web.workplace import View


def reviewer_page(view: View) -> View:
    """Login required, then the kb-reviewer role (or a superuser): 403 otherwise."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_reviewer(request.user):
            raise PermissionDenied("Only knowledge-base reviewers review releases.")
        return view(request, *args, **kwargs)

    return wrapper


class SignOffForm(forms.Form):
    rule = forms.CharField(max_length=100, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    rule = forms.CharField(max_length=100, widget=forms.HiddenInput)
    text = forms.CharField(
        label="Comment", max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ActivateForm(forms.Form):
    """No fields: activation takes the release as it is."""


@reviewer_page
@require_safe
def release_list(request: HttpRequest) -> HttpResponse:
    active = active_release()
    releases = list(KnowledgeBaseRelease.objects.select_related("imported_by"))
    return page(
        request,
        "web/knowledge_releases.html",
        {"releases": releases, "active": active, "kb_review": True},
    )


@reviewer_page
@require_http_methods(["GET", "POST"])
def release_review(request: HttpRequest, version: str) -> HttpResponse:
    release = KnowledgeBaseRelease.objects.filter(version=version).first()
    if release is None:
        raise Http404
    # The page's error summary: a bound form with no fields, so services' errors can be added.
    problem = forms.Form(data={})
    problem.is_valid()
    action = request.POST.get("action") if request.method == "POST" else None
    try:
        if action == "sign-off":
            form: forms.Form = SignOffForm(request.POST)
            if form.is_valid():
                rule_sign_off(user=request.user, release=release, rule_id=form.cleaned_data["rule"])
                messages.success(request, f"You signed off {form.cleaned_data['rule']}.")
                return redirect(request.path + f"#rule-{form.cleaned_data['rule']}")
        elif action == "comment":
            form = CommentForm(request.POST)
            if form.is_valid():
                rule_comment(
                    user=request.user,
                    release=release,
                    rule_id=form.cleaned_data["rule"],
                    text=form.cleaned_data["text"],
                )
                messages.success(request, f"Comment added to {form.cleaned_data['rule']}.")
                return redirect(request.path + f"#rule-{form.cleaned_data['rule']}")
        elif action == "activate":
            release_activate(actor=Actor.from_request(request), release=release)
            messages.success(request, f"Release {release.version} is now active.")
            return redirect("web:knowledge-release", version=release.version)
        elif action is not None:
            problem.add_error(None, "Unknown action.")
        if action in {"sign-off", "comment"} and form.errors:
            for name, errors in form.errors.items():
                for error in errors:
                    label = form.fields[name].label or name if name in form.fields else ""
                    problem.add_error(None, f"{label}: {error}" if label else error)
    except DomainError as error:
        add_domain_error(problem, error, {})
    active = active_release()
    is_active = active is not None and active.pk == release.pk
    changes = [] if is_active else release_diff(release, active)
    profession = profession_of(request.user)
    return page(
        request,
        "web/knowledge_release.html",
        {
            "release": release,
            "active": active,
            "is_active": is_active,
            "rows": [
                {
                    "change": change,
                    "can_sign": bool(profession)
                    and profession in change.missing
                    and all(
                        sign_off.reviewer_id != request.user.pk for sign_off in change.sign_offs
                    ),
                    "missing": [kind.label for kind in change.missing],
                }
                for change in changes
            ],
            "counts": {
                what: sum(1 for change in changes if change.change == what)
                for what in ("added", "removed", "changed")
            },
            "level_changes": sum(1 for change in changes if change.level_changed),
            "unsigned": sum(1 for change in changes if not change.signed),
            "problem": problem,
            "kb_review": True,
            "profession": SignOffKind(profession).label if profession else "",
        },
        status=400 if problem.errors else 200,
    )


class ImpactForm(forms.Form):
    days = forms.IntegerField(
        label="Days",
        min_value=1,
        max_value=3650,
        initial=DEFAULT_DAYS,
        help_text="Signed assessments of this many days back are replayed on the release.",
    )


@reviewer_page
@require_safe
def release_impact(request: HttpRequest, version: str, as_csv: bool = False) -> HttpResponse:
    """What the release would have changed in the signed assessments of the reviewer's
    departments (all of them for a superuser) over the last N days; examples link to the
    assessment only where the reviewer may read patients, and are de-identified elsewhere."""
    release = KnowledgeBaseRelease.objects.filter(version=version).first()
    if release is None:
        raise Http404
    form = ImpactForm(request.GET if "days" in request.GET else {"days": DEFAULT_DAYS})
    if not form.is_valid():
        return page(
            request,
            "web/knowledge_impact.html",
            {"release": release, "form": form, "impact": None, "kb_review": True},
            status=400,
        )
    superuser = bool(getattr(request.user, "is_superuser", False))
    scope = None if superuser else user_department_ids(request.user, [Role.KB_REVIEWER])
    readable = None if superuser else user_department_ids(request.user, READ_ROLES)
    impact = impact_report(
        actor=Actor.from_request(request),
        kb=release_knowledge_base(release),
        department_ids=scope,
        now=timezone.now(),
        days=form.cleaned_data["days"],
    )
    examples = [
        {
            "example": example,
            "link": reverse("web:assessment", args=[example.assessment_id])
            if readable is None or example.department_id in readable
            else None,
        }
        for example in impact.examples
    ]
    if as_csv:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="impact-{release.version}-{impact.days}d.csv"'
        )
        writer = csv.writer(response)
        writer.writerows(impact_csv_rows(impact))
        writer.writerow([])
        writer.writerow(
            ["example", "assessment", "drug", "recorded", "replayed", "rules", "conditions"]
        )
        for number, example in enumerate(impact.examples, 1):
            linked = readable is None or example.department_id in readable
            writer.writerow(
                [
                    number,
                    example.assessment_id if linked else "",
                    example.drug,
                    example.recorded,
                    example.replayed,
                    " ".join(example.rules),
                    " ".join(example.conditions),
                ]
            )
        return response
    return page(
        request,
        "web/knowledge_impact.html",
        {
            "release": release,
            "form": form,
            "impact": impact,
            "examples": examples,
            "kb_review": True,
            "csv_url": reverse("web:knowledge-impact-csv", args=[release.version])
            + f"?days={impact.days}",
        },
    )
