"""What every page view shares: rendering with the workplace, scoping, the time zone."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from periop.assessments.models import Assessment, Patient
from periop.web.workplace import workplace


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Renders a page with the user's workplace (department, role) for the header."""
    return render(
        request,
        template,
        {"workplace": getattr(request, "workplace", None), **(context or {})},
        status=status,
    )


def time_zone(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """The chosen department's time zone: times are typed and shown in it."""
    return zoneinfo.ZoneInfo(workplace(request).department.time_zone)


def patient_here(request: HttpRequest, patient_id: int) -> Patient:
    """The patient, or 404 unless registered in the chosen department (no leak of others)."""
    patient = (
        Patient.objects.select_related("department")
        .filter(pk=patient_id, department_id=workplace(request).department.pk)
        .first()
    )
    if patient is None:
        raise Http404
    return patient


def assessment_here(request: HttpRequest, assessment_id: int) -> Assessment:
    """The assessment, or 404 unless it belongs to the chosen department."""
    assessment = (
        Assessment.objects.select_related("patient", "department", "created_by", "signed_by")
        .filter(pk=assessment_id, department_id=workplace(request).department.pk)
        .first()
    )
    if assessment is None:
        raise Http404
    return assessment
