"""Recording a patient's conditions and medications: add, correct or resolve, remove."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from periop.api import DomainError
from periop.assessments.models import Patient, PatientCondition
from periop.assessments.selectors import (
    patient_condition_get,
    patient_medication_get,
)
from periop.assessments.services import (
    condition_release_notices,
    medication_release_notices,
    patient_condition_correct,
    patient_condition_record,
    patient_condition_remove,
    patient_data_read,
    patient_medication_record,
    patient_medication_remove,
)
from periop.assessments.services.common import CATEGORY_DEMOGRAPHICS
from periop.assessments.services.records import DuplicateConditionError, time_point_ago
from periop.assessments.time_points import TimePoint
from periop.audit.services import Actor
from periop.drugs.registry import get_knowledge_base
from periop.web.forms import (
    CONDITION_ERROR_FIELDS,
    MEDICATION_ERROR_FIELDS,
    ConditionForm,
    MedicationForm,
    RemoveForm,
    add_domain_error,
    time_point_initial,
)
from periop.web.presenters import condition_choices, time_point_display
from periop.web.views.common import page, patient_here, time_zone
from periop.web.workplace import clinical_page


def _seen(request: HttpRequest, patient: Patient) -> None:
    """A form page names the patient: that is a read of their demographics."""
    patient_data_read(
        actor=Actor.from_request(request),
        patient=patient,
        resource_type="patient",
        data_category=CATEGORY_DEMOGRAPHICS,
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def condition_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Step 1 picks the condition; step 2 shows only that condition's attribute fields.
    With htmx the picker loads step 2 in place; without JavaScript it is a plain GET."""
    patient = patient_here(request, patient_id)
    knowledge_base = get_knowledge_base()
    data = request.POST if request.method == "POST" else None
    code = (request.POST.get("code") if data else request.GET.get("code")) or ""
    if code not in knowledge_base.conditions:
        if request.htmx:  # type: ignore[attr-defined]
            return page(request, "web/partials/condition_fields.html", {"form": None})
        if code or data:
            messages.error(request, "Choose a condition from the list.")
        _seen(request, patient)
        return page(
            request,
            "web/condition_pick.html",
            {"patient": patient, "condition_choices": condition_choices(knowledge_base)},
            status=400 if (code or data) else 200,
        )
    form = ConditionForm(
        data, knowledge_base=knowledge_base, code=code, time_zone=time_zone(request)
    )
    if request.htmx and data is None:  # type: ignore[attr-defined]
        return page(
            request, "web/partials/condition_fields.html", {"form": form, "patient": patient}
        )
    duplicates: list[PatientCondition] = []
    if data is not None and form.is_valid():
        try:
            patient_condition_record(
                actor=Actor.from_request(request),
                patient=patient,
                code=code,
                onset=_onset(form, patient, time_zone(request)),
                resolved=form.resolved,
                attributes=form.attributes,
                duplicate_confirmed=data.get("duplicate_confirmed") == "yes",
            )
        except DuplicateConditionError as error:
            # Recording an ongoing condition twice is usually a mistake: warn, link to the
            # entry already there, and record only once the clinician confirms another episode.
            duplicates = error.duplicates
        except DomainError as error:
            add_domain_error(form, error, CONDITION_ERROR_FIELDS)
        else:
            messages.success(request, f"{form.definition.name} recorded.")
            return redirect("web:patient", patient_id=patient.pk)
    _seen(request, patient)
    return page(
        request,
        "web/condition_form.html",
        {"patient": patient, "form": form, "correcting": None, "duplicates": duplicates},
        status=400 if form.errors else 409 if duplicates else 200,
    )


def _onset(form: ConditionForm, patient: Patient, zone: zoneinfo.ZoneInfo) -> TimePoint | None:
    """The onset as typed: a date (and time), or "N days/hours ago" converted by the records
    service (a DomainError on the form's field when out of range)."""
    if form.onset_ago is None:
        return form.onset
    amount, unit = form.onset_ago
    return time_point_ago(patient=patient, amount=amount, unit=unit, time_zone=zone)


@clinical_page
@require_http_methods(["GET", "POST"])
def condition_correct(request: HttpRequest, patient_id: int, condition_id: int) -> HttpResponse:
    """Correct or resolve a current condition: a new version replaces it."""
    patient = patient_here(request, patient_id)
    condition = patient_condition_get(patient=patient, condition_id=condition_id)
    if not condition.is_current and request.method != "POST":
        # An old link (a bookmark, another tab): show the history, where the current version
        # is marked, rather than a form for an entry that can no longer change.
        messages.warning(
            request, "That entry was already corrected or removed; its current version is marked."
        )
        return redirect("web:condition-history", patient_id=patient.pk, condition_id=condition.pk)
    zone = time_zone(request)
    knowledge_base = get_knowledge_base()
    data = request.POST if request.method == "POST" else None
    notices = condition_release_notices(condition)
    code = condition.code
    if code not in knowledge_base.conditions:
        # The active release no longer knows the recorded condition (renamed, say): the
        # clinician chooses it as the release names it, and corrects the entry to that.
        code = (data.get("code") if data is not None else request.GET.get("code")) or ""
        if code not in knowledge_base.conditions:
            if data is not None:
                messages.error(request, notices[0] if notices else "Choose a condition.")
            _seen(request, patient)
            return page(
                request,
                "web/condition_pick.html",
                {
                    "patient": patient,
                    "correcting": condition,
                    "notices": notices,
                    "condition_choices": condition_choices(knowledge_base),
                },
                status=400 if data is not None else 200,
            )
    initial = {
        "code": code,
        **time_point_initial("onset", condition.onset, zone),
        **time_point_initial("resolved", condition.resolved, zone),
        **{
            f"attribute_{name}": ("true" if value else "false")
            if isinstance(value, bool)
            else value
            for name, value in (condition.attributes or {}).items()
        },
    }
    form = ConditionForm(
        data,
        initial=initial,
        knowledge_base=knowledge_base,
        code=code,
        time_zone=zone,
        correcting=True,
    )
    status = 200
    if not condition.is_current:
        form.add_error(None, "This entry was already corrected or removed; open the current one.")
        status = 409
    elif data is not None and form.is_valid():
        try:
            patient_condition_correct(
                actor=Actor.from_request(request),
                condition=condition,
                code=code,
                onset=_onset(form, patient, zone),
                resolved=form.resolved,
                attributes=form.attributes,
                reason=form.cleaned_data.get("reason", ""),
            )
        except DomainError as error:
            add_domain_error(form, error, CONDITION_ERROR_FIELDS)
            status = error.status_code
        else:
            messages.success(request, f"{form.definition.name} corrected.")
            return redirect("web:patient", patient_id=patient.pk)
    if form.errors and status == 200:
        status = 400
    _seen(request, patient)
    return page(
        request,
        "web/condition_form.html",
        {
            "patient": patient,
            "form": form,
            "correcting": condition,
            "notices": notices,
            # Recorded attributes the release no longer defines: the form has no field for
            # them, so saving leaves them out (the current version stays in the history).
            "left_out": sorted(set(condition.attributes or {}) - set(form.definition.attributes)),
        },
        status=status,
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def condition_remove(request: HttpRequest, patient_id: int, condition_id: int) -> HttpResponse:
    """Removing a condition changes every caution that rests on it: a page of its own asks
    for the reason and confirmation."""
    patient = patient_here(request, patient_id)
    condition = patient_condition_get(patient=patient, condition_id=condition_id)
    knowledge_base = get_knowledge_base()
    definition = knowledge_base.conditions.get(condition.code)
    zone = time_zone(request)
    return _remove_page(
        request,
        patient,
        what="condition",
        name=definition.name if definition else condition.code,
        details=[
            ("Onset", time_point_display(condition.onset, zone)),
            ("Resolved", time_point_display(condition.resolved, zone) or "Ongoing"),
        ],
        remove=lambda reason: patient_condition_remove(
            actor=Actor.from_request(request), condition=condition, reason=reason
        ),
        record_id=condition.pk,
        notices=condition_release_notices(condition),
    )


def _remove_page(
    request: HttpRequest,
    patient: Patient,
    *,
    what: str,
    name: str,
    details: list[tuple[str, str]],
    remove: Callable[[str], object],
    record_id: int,
    notices: list[str],
) -> HttpResponse:
    form = RemoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            remove(form.cleaned_data["reason"])
        except DomainError as error:
            add_domain_error(form, error, {"reason": "reason"})
        else:
            messages.success(request, f"{name} removed from the record.")
            return redirect("web:patient", patient_id=patient.pk)
    _seen(request, patient)
    return page(
        request,
        "web/record_remove.html",
        {
            "patient": patient,
            "form": form,
            "what": what,
            "name": name,
            "details": details,
            "action": request.path,
            "record_id": record_id,
            "notices": notices,
        },
        status=400 if form.errors else 200,
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def medication_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = patient_here(request, patient_id)
    knowledge_base = get_knowledge_base()
    data = request.POST if request.method == "POST" else None
    form = MedicationForm(data, knowledge_base=knowledge_base, time_zone=time_zone(request))
    if data is not None and form.is_valid():
        try:
            patient_medication_record(
                actor=Actor.from_request(request),
                patient=patient,
                code=form.cleaned_data["code"],
                started=form.started,
                stopped=form.stopped,
                dose_text=form.cleaned_data.get("dose_text") or "",
            )
        except DomainError as error:
            add_domain_error(form, error, MEDICATION_ERROR_FIELDS)
        else:
            messages.success(request, "Medication recorded.")
            return redirect("web:patient", patient_id=patient.pk)
    _seen(request, patient)
    return page(
        request,
        "web/medication_form.html",
        {"patient": patient, "form": form},
        status=400 if form.errors else 200,
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def medication_remove(request: HttpRequest, patient_id: int, medication_id: int) -> HttpResponse:
    patient = patient_here(request, patient_id)
    medication = patient_medication_get(patient=patient, medication_id=medication_id)
    definition = get_knowledge_base().drugs.get(medication.code)
    zone = time_zone(request)
    return _remove_page(
        request,
        patient,
        what="medication",
        name=definition.name if definition else medication.code,
        details=[
            ("Started", time_point_display(medication.started, zone)),
            ("Stopped", time_point_display(medication.stopped, zone) or "Ongoing"),
        ],
        remove=lambda reason: patient_medication_remove(
            actor=Actor.from_request(request), medication=medication, reason=reason
        ),
        record_id=medication.pk,
        notices=medication_release_notices(medication),
    )
