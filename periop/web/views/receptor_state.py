"""A clinician's receptor state: record one that overrides the derived state, or clear it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from periop.api import DomainError
from periop.assessments.models import Patient
from periop.assessments.selectors import patient_record
from periop.assessments.services import (
    condition_release_notices,
    medication_release_notices,
    patient_data_read,
    patient_receptor_state_clear,
    patient_receptor_state_record,
)
from periop.assessments.services.common import CATEGORY_RECEPTOR_STATE
from periop.audit.services import Actor
from periop.web.forms import (
    RECEPTOR_STATE_ERROR_FIELDS,
    ReceptorStateClearForm,
    ReceptorStateForm,
    add_domain_error,
)
from periop.web.presenters import ReceptorStateView, receptor_state_view
from periop.web.views.common import page, patient_here, time_zone
from periop.web.workplace import clinical_page

TEMPLATE = "web/receptor_state_form.html"


def _receptor_state_seen(
    request: HttpRequest, patient: Patient
) -> tuple[ReceptorStateView, list[str]]:
    """The state in force, derived and recorded, as the form page shows it beside the form:
    a read of the patient's receptor state, audited as such; with what of the record the
    active knowledge-base release does not know (why no state may be derived)."""
    record = patient_record(patient=patient, at=timezone.now())
    recorded = record.receptor_state_recorded
    patient_data_read(
        actor=Actor.from_request(request),
        patient=patient,
        resource_type="patient-receptor-state",
        resource_id=recorded.pk if recorded else "",
        data_category=CATEGORY_RECEPTOR_STATE,
        payload={
            "condition_ids": [row.pk for row in record.conditions],
            "receptor_state_id": recorded.pk if recorded else None,
        },
    )
    notices = [
        *(notice for row in record.conditions for notice in condition_release_notices(row)),
        *(notice for row in record.medications for notice in medication_release_notices(row)),
    ]
    view = receptor_state_view(
        recorded=recorded, derived=record.receptor_state_derived, time_zone=time_zone(request)
    )
    return view, notices


def _form_page(
    request: HttpRequest, patient: Patient, form: forms.Form, *, clearing: bool, status: int
) -> HttpResponse:
    receptor, notices = _receptor_state_seen(request, patient)
    if form.errors and status == 200:
        status = 400
    # Nothing to clear: said once, in place of the form (which may be unbound).
    nothing_to_clear = clearing and not receptor.overridden and not form.errors
    if nothing_to_clear:
        status = 409
    return page(
        request,
        TEMPLATE,
        {
            "patient": patient,
            "form": form,
            "receptor": receptor,
            "clearing": clearing,
            "nothing_to_clear": nothing_to_clear,
            "notices": notices,
        },
        status=status,
    )


def _submit(
    request: HttpRequest,
    patient_id: int,
    form_class: type[forms.Form],
    change: Callable[[Actor, Patient, dict[str, Any]], object],
    *,
    clearing: bool,
    done: str,
) -> HttpResponse:
    """The form, and on a valid POST the change; the patient page after it, or the form again
    with the service's objection next to its field."""
    patient = patient_here(request, patient_id)
    data = request.POST if request.method == "POST" else None
    form = form_class(data)
    status = 200
    if data is not None and form.is_valid():
        try:
            change(Actor.from_request(request), patient, form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error, RECEPTOR_STATE_ERROR_FIELDS)
            status = error.status_code
        else:
            messages.success(request, done)
            return redirect("web:patient", patient_id=patient.pk)
    return _form_page(request, patient, form, clearing=clearing, status=status)


@clinical_page
@require_http_methods(["GET", "POST"])
def receptor_state_record(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Records a receptor state, with its reason, that new assessments use until cleared; it
    replaces an override already in force."""
    return _submit(
        request,
        patient_id,
        ReceptorStateForm,
        lambda actor, patient, data: patient_receptor_state_record(
            actor=actor, patient=patient, value=data["value"], reason=data["reason"]
        ),
        clearing=False,
        done="Receptor state recorded: new assessments use it until it is cleared.",
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def receptor_state_clear(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Clears the clinician's override: the state derived from the conditions applies again."""
    return _submit(
        request,
        patient_id,
        ReceptorStateClearForm,
        lambda actor, patient, data: patient_receptor_state_clear(
            actor=actor, patient=patient, reason=data["reason"]
        ),
        clearing=True,
        done="Override cleared: the state derived from the conditions applies again.",
    )
