"""The start page: where each role begins its day. Clinicians see the department's
assessments for today and the coming days, their own drafts, and the patients they opened
recently; auditors go to the reports."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_safe

from periop.accounts.models import Role
from periop.assessments.selectors import (
    assessment_drafts_of,
    assessments_planned_between,
    patients_by_ids,
)
from periop.assessments.services import patient_data_query
from periop.assessments.services.common import CATEGORY_DEMOGRAPHICS
from periop.assessments.services.patients import ShownRow
from periop.audit.selectors import audit_patients_recently_read
from periop.audit.services import Actor
from periop.web.forms import PatientSearchForm
from periop.web.presenters import time_point_display
from periop.web.views.common import page, time_zone
from periop.web.workplace import department_page, workplace

# How far ahead the list looks, and how much of each list a start page shows.
UPCOMING_DAYS = 7
UPCOMING_LIMIT = 50
DRAFTS_LIMIT = 20
RECENT_DAYS = 14
RECENT_LIMIT = 10


@department_page
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """`/`: an auditor's work is the reports; everyone else gets the start page. HEAD is
    answered like GET (monitors send it)."""
    here = workplace(request)
    if here.role == Role.AUDITOR:
        return redirect("reports:index")
    zone = time_zone(request)
    now = timezone.now()
    today = now.astimezone(zone).date()
    # Midnight in the department's zone; zoneinfo resolves the day's offset (summer time).
    start = dt.datetime.combine(today, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=UPCOMING_DAYS), dt.time(), tzinfo=zone)
    planned = assessments_planned_between(
        department=here.department, start=start, end=end, limit=UPCOMING_LIMIT
    )
    drafts = assessment_drafts_of(user=request.user, department=here.department, limit=DRAFTS_LIMIT)
    recent = patients_by_ids(
        department=here.department,
        patient_ids=audit_patients_recently_read(
            user_id=request.user.pk,
            department_id=here.department.pk,
            since=now - dt.timedelta(days=RECENT_DAYS),
            limit=RECENT_LIMIT,
        ),
    )
    department_id = here.department.pk
    shown = [ShownRow(department_id, a.patient_id, a.pk) for a in [*planned, *drafts]]
    shown += [ShownRow(department_id, p.pk) for p in recent]
    if shown:
        # The lists name patients: a read of their demographics, recorded like a search, in
        # the department they belong to.
        patient_data_query(
            actor=Actor.from_request(request),
            resource_type="patient",
            data_category=CATEGORY_DEMOGRAPHICS,
            rows=shown,
            searched_department_ids=[department_id],
            filters={"page": "start", "department": department_id},
        )
    days: dict[dt.date, list[dict[str, object]]] = {}
    for assessment in planned:
        local = assessment.planned_at.astimezone(zone)
        days.setdefault(local.date(), []).append(
            {"assessment": assessment, "time": local.strftime("%H:%M")}
        )
    return page(
        request,
        "web/start.html",
        {
            "today": today,
            "days": [
                {
                    "date": day,
                    "label": "Today"
                    if day == today
                    else "Tomorrow"
                    if day == today + dt.timedelta(days=1)
                    else day.strftime("%A"),
                    "rows": rows,
                }
                for day, rows in days.items()
            ],
            "upcoming_days": UPCOMING_DAYS,
            "upcoming_full": len(planned) == UPCOMING_LIMIT,
            "drafts": [
                {"assessment": a, "updated": time_point_display(a.updated_at, zone)} for a in drafts
            ],
            "recent": recent,
            "recent_days": RECENT_DAYS,
            "search_form": PatientSearchForm(),
        },
    )
