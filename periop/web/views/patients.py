"""Patient search, registration and the patient page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from periop.api import DomainError
from periop.assessments.selectors import patient_list, patient_record
from periop.assessments.services import (
    ShownRow,
    condition_release_notices,
    medication_release_notices,
    patient_create,
    patient_data_query,
    patient_data_read,
)
from periop.assessments.services.common import CATEGORY_DEMOGRAPHICS
from periop.audit.services import Actor
from periop.drugs.registry import get_knowledge_base
from periop.web.forms import MedicationForm, PatientForm, PatientSearchForm, add_domain_error
from periop.web.presenters import (
    attributes_display,
    condition_choices,
    receptor_state_view,
    time_point_display,
)
from periop.web.views.common import page, patient_here, time_zone
from periop.web.workplace import clinical_page, department_page, workplace

SEARCH_LIMIT = 50


@department_page
@require_GET
def patient_search(request: HttpRequest) -> HttpResponse:
    """Patients of the chosen department by MRN (exact or prefix) or part of the name."""
    form = PatientSearchForm(request.GET or None)
    patients = None
    if form.is_valid() and form.cleaned_data["q"].strip():
        query = form.cleaned_data["q"].strip()
        patients = list(
            patient_list(user=request.user, query=query).filter(
                department_id=workplace(request).department.pk
            )[:SEARCH_LIMIT]
        )
        patient_data_query(
            actor=Actor.from_request(request),
            resource_type="patient",
            data_category=CATEGORY_DEMOGRAPHICS,
            rows=[ShownRow(patient.department_id, patient.pk) for patient in patients],
            searched_department_ids=[workplace(request).department.pk],
            filters={"q": query, "department": workplace(request).department.pk},
        )
    return page(
        request,
        "web/patient_search.html",
        {"form": form, "patients": patients, "limit": SEARCH_LIMIT},
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_create(
                actor=Actor.from_request(request),
                department=workplace(request).department,
                **form.cleaned_data,
            )
        except DomainError as error:
            add_domain_error(form, error, {})
        else:
            messages.success(request, "Patient registered.")
            return redirect("web:patient", patient_id=patient.pk)
    return page(request, "web/patient_new.html", {"form": form}, status=400 if form.errors else 200)


@department_page
@require_GET
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The record: current conditions and medications, receptor state, assessments."""
    patient = patient_here(request, patient_id)
    knowledge_base = get_knowledge_base()
    zone = time_zone(request)
    record = patient_record(patient=patient, at=timezone.now())
    every_assessment = list(
        patient.assessments.filter(department_id=workplace(request).department.pk)
        .select_related("signed_by", "superseded_by")
        .order_by("-created_at", "-id")
    )
    # Current plans by default: an assessment amended by another is superseded, and shown
    # (marked as such) only on request.
    show_superseded = request.GET.get("assessments") == "all"
    superseded = [a for a in every_assessment if hasattr(a, "superseded_by")]
    assessments = (
        every_assessment
        if show_superseded
        else [a for a in every_assessment if not hasattr(a, "superseded_by")]
    )
    conditions = [
        {
            "row": row,
            "name": knowledge_base.conditions[row.code].name
            if row.code in knowledge_base.conditions
            else row.code,
            "onset": time_point_display(row.onset, zone),
            "resolved": time_point_display(row.resolved, zone) if row.resolved else "",
            "attributes": attributes_display(knowledge_base, row.code, row.attributes or {}),
            "notices": condition_release_notices(row),
        }
        for row in record.conditions
    ]
    medications = [
        {
            "row": row,
            "name": knowledge_base.drugs[row.code].name
            if row.code in knowledge_base.drugs
            else row.code,
            "started": time_point_display(row.started, zone),
            "stopped": time_point_display(row.stopped, zone) if row.stopped else "",
            "dose_text": row.dose_text,
            "notices": medication_release_notices(row),
        }
        for row in record.medications
    ]
    patient_data_read(
        actor=Actor.from_request(request),
        patient=patient,
        resource_type="patient",
        data_category=CATEGORY_DEMOGRAPHICS,
        payload={
            "condition_ids": [row.pk for row in record.conditions],
            "medication_ids": [row.pk for row in record.medications],
            # The override shown, who recorded it and why, is patient data read too.
            "receptor_state_id": record.receptor_state_recorded.pk
            if record.receptor_state_recorded
            else None,
        },
    )
    return page(
        request,
        "web/patient_detail.html",
        {
            "patient": patient,
            "conditions": conditions,
            "medications": medications,
            "assessments": assessments,
            "superseded_count": len(superseded),
            "show_superseded": show_superseded,
            "receptor": receptor_state_view(
                recorded=record.receptor_state_recorded,
                derived=record.receptor_state_derived,
                time_zone=zone,
            ),
            "condition_choices": condition_choices(knowledge_base),
            "medication_form": MedicationForm(knowledge_base=knowledge_base, time_zone=zone),
        },
    )
