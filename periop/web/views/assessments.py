"""New and edited assessments with the live caution panel; acknowledgements, signing and
amendment. The print view is in `printing`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zoneinfo
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from periop.api import DomainError, PreconditionFailed
from periop.assessments.models import ACKNOWLEDGED_LEVELS, Assessment, Patient
from periop.assessments.presenters import assessment_plan_data, plan_notices
from periop.assessments.selectors import (
    assessment_acknowledgements,
    assessment_last_weight,
    assessment_versions,
)
from periop.assessments.services import (
    assessment_amend,
    assessment_create,
    assessment_sign,
    assessment_update,
    patient_check_run,
    patient_data_read,
    plan_decide,
)
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.assessments.services.plan import (
    assessment_knowledge_base,
    decision_levels,
    decisions_in_force,
    snapshot_missing,
    stored_evaluation,
)
from periop.assessments.services.plausibility import assessment_warnings
from periop.audit.services import Actor
from periop.drugs.registry import get_knowledge_base
from periop.web.forms import (
    ACKNOWLEDGE_ERROR_FIELDS,
    ASSESSMENT_ERROR_FIELDS,
    AcknowledgeForm,
    AmendForm,
    AssessmentForm,
    PreviewForm,
    add_domain_error,
    decision_initial,
    time_point_initial,
)
from periop.web.plan_view import alternative_choices, plan_highest, plan_rows
from periop.web.presenters import (
    CautionPanel,
    caution_panel,
    drug_groups,
    time_point_display,
)
from periop.web.print_view import plan_basis
from periop.web.views.common import assessment_here, page, patient_here, time_zone
from periop.web.workplace import check_page, clinical_page, department_page, workplace

# A new assessment is planned for the next morning list unless the clinician says otherwise.
MORNING_LIST = dt.time(8, 0)

STALE_MESSAGE = (
    "Someone changed this assessment after you opened it. Your entries are kept below: "
    "check the cautions, which may have changed, and submit again."
)


# --- the form and its live panel ---------------------------------------------------------


def next_morning(now: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The next 08:00 in the department's time zone: today's if it is still to come."""
    local = now.astimezone(zone)
    day = local.date() if local.time() < MORNING_LIST else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, MORNING_LIST, tzinfo=zone)


def _preview(
    request: HttpRequest, patient: Patient, data: Mapping[str, Any]
) -> tuple[CautionPanel | None, list[str]]:
    """Evaluates the form as typed against the patient's record without saving anything.
    The evaluation is audited as a read of the patient, like the pharmacy check."""
    knowledge_base = get_knowledge_base()
    form = PreviewForm(data, knowledge_base=knowledge_base, time_zone=time_zone(request))
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    drugs = [] if "drugs" in form.errors else list(cleaned.get("drugs") or [])
    planned_at = getattr(form, "planned_at", None)
    missing: list[str] = []
    if planned_at is None:
        # A date the form refused (a year outside the clinical bound) says why.
        out_of_range = form.has_error("planned_date", "out_of_range")
        missing.extend(
            [str(message) for message in form.errors["planned_date"]]
            if out_of_range
            else ["Enter the planned date and time."]
        )
    if not drugs:
        missing.append("Choose at least one planned drug.")
    if missing:
        return None, missing
    weight = None if "weight_kg" in form.errors else cleaned.get("weight_kg")
    try:
        body = patient_check_run(
            actor=Actor.from_request(request),
            patient=patient,
            drugs=drugs,
            at=planned_at,  # type: ignore[arg-type]
            weight_kg=weight,
        )
    except DomainError as error:
        return None, [error.message]
    required = [c["drug"] for c in body["cautions"] if c["level"] in ACKNOWLEDGED_LEVELS]
    panel = caution_panel(knowledge_base, body, required, weight)
    if weight is not None:
        # The check's own weight warning (on its release's growth chart), as the API gives it.
        warning = " ".join(str(warning["message"]) for warning in body.get("warnings", []))
        panel = dataclasses.replace(panel, weight_warning=warning)
    return panel, []


def _form_page(
    request: HttpRequest,
    *,
    patient: Patient,
    form: AssessmentForm,
    assessment: Assessment | None = None,
    panel: CautionPanel | None = None,
    missing: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    chosen = form["drugs"].value() or []
    return page(
        request,
        "web/assessment_form.html",
        {
            "patient": patient,
            "form": form,
            "assessment": assessment,
            "drug_groups": drug_groups(get_knowledge_base(), chosen),
            "panel": panel,
            "missing": missing or [],
            "preview_url": reverse("web:assessment-preview", args=[patient.pk]),
        },
        status=status,
    )


def _read(request: HttpRequest, assessment: Assessment) -> None:
    patient_data_read(
        actor=Actor.from_request(request),
        patient=assessment.patient,
        resource_type="assessment",
        resource_id=assessment.pk,
        data_category=CATEGORY_ASSESSMENT,
        department_id=assessment.department_id,
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def assessment_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A new draft. "Check cautions" (for browsers without JavaScript) shows the panel
    without saving; "Save draft" creates the assessment."""
    patient = patient_here(request, patient_id)
    knowledge_base = get_knowledge_base()
    if request.method == "GET":
        zone = time_zone(request)
        last = assessment_last_weight(patient=patient)
        form = AssessmentForm(
            initial={
                **time_point_initial("planned", next_morning(timezone.now(), zone), zone),
                "weight_kg": last.weight_kg if last else None,
            },
            knowledge_base=knowledge_base,
            time_zone=zone,
        )
        if last is not None:
            # Offered, not assumed: the clinician sees where the weight came from.
            form.fields["weight_kg"].help_text = (
                f"Last recorded: {last.weight_kg.normalize():f} kg for the assessment planned "
                f"{time_point_display(last.planned_at, zone)}. Weigh again if it may have changed."
            )
        patient_data_read(
            actor=Actor.from_request(request),
            patient=patient,
            resource_type="patient",
            data_category="demographics",
        )
        return _form_page(request, patient=patient, form=form)
    form = AssessmentForm(request.POST, knowledge_base=knowledge_base, time_zone=time_zone(request))
    if "check" in request.POST:
        panel, missing = _preview(request, patient, request.POST)
        return _form_page(request, patient=patient, form=form, panel=panel, missing=missing)
    if form.is_valid() and form.planned_at is not None:
        try:
            assessment = assessment_create(
                actor=Actor.from_request(request),
                patient=patient,
                department=workplace(request).department,
                planned_at=form.planned_at,
                procedure=form.cleaned_data["procedure"],
                weight_kg=form.cleaned_data["weight_kg"],
                drugs=form.cleaned_data["drugs"],
            )
        except DomainError as error:
            add_domain_error(form, error, ASSESSMENT_ERROR_FIELDS)
        else:
            messages.success(request, "Draft assessment saved.")
            return redirect("web:assessment", assessment_id=assessment.pk)
    panel, missing = _preview(request, patient, request.POST)
    return _form_page(request, patient=patient, form=form, panel=panel, missing=missing, status=400)


@check_page
@require_POST
def assessment_preview(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The caution panel for the form as typed (htmx): evaluates, saves nothing."""
    patient = patient_here(request, patient_id)
    panel, missing = _preview(request, patient, request.POST)
    return page(
        request,
        "web/partials/caution_panel.html",
        {"panel": panel, "missing": missing, "live": True},
    )


@clinical_page
@require_http_methods(["GET", "POST"])
def assessment_edit(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_here(request, assessment_id)
    knowledge_base = get_knowledge_base()
    zone = time_zone(request)
    if assessment.is_signed:
        messages.error(request, "A signed assessment cannot be edited: amend it instead.")
        return redirect("web:assessment", assessment_id=assessment.pk)
    if request.method == "GET":
        form = AssessmentForm(
            initial={
                **time_point_initial("planned", assessment.planned_at, zone),
                "procedure": assessment.procedure,
                "weight_kg": assessment.weight_kg,
                "drugs": list(assessment.drugs),
                "revision": assessment.revision,
            },
            knowledge_base=knowledge_base,
            time_zone=zone,
        )
        _read(request, assessment)
        panel = caution_panel(
            knowledge_base,
            json.loads(assessment.cautions_snapshot),
            [item["drug"] for item in assessment.acknowledgement_required],
            assessment.weight_kg,
        )
        return _form_page(
            request, patient=assessment.patient, form=form, assessment=assessment, panel=panel
        )
    form = AssessmentForm(request.POST, knowledge_base=knowledge_base, time_zone=zone)
    if "check" not in request.POST and form.is_valid() and form.planned_at is not None:
        try:
            updated = assessment_update(
                actor=Actor.from_request(request),
                assessment=assessment,
                expected_revision=form.cleaned_data["revision"] or assessment.revision,
                planned_at=form.planned_at,
                procedure=form.cleaned_data["procedure"],
                weight_kg=form.cleaned_data["weight_kg"],
                drugs=form.cleaned_data["drugs"],
            )
        except PreconditionFailed:
            form.add_error(None, STALE_MESSAGE)
        except DomainError as error:
            add_domain_error(form, error, ASSESSMENT_ERROR_FIELDS)
        else:
            messages.success(request, "Assessment updated; acknowledge its cautions again.")
            return redirect("web:assessment", assessment_id=updated.pk)
    preview, missing = _preview(request, assessment.patient, request.POST)
    return _form_page(
        request,
        patient=assessment.patient,
        form=form,
        assessment=assessment,
        panel=preview,
        missing=missing,
        status=200 if "check" in request.POST else 400,
    )


# --- the assessment page: acknowledgements, signing, amendment ---------------------------


def _detail_page(
    request: HttpRequest,
    assessment: Assessment,
    *,
    failed_form: tuple[str, AcknowledgeForm] | None = None,
    sign_error: str = "",
    amend_form: AmendForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The assessment with its cautions. A failed form is shown again in its card, with what
    was typed; an error about a caution that has no form any more is shown at the top. A
    signed record names its drugs and conditions by its own release; a draft the active
    release cannot evaluate says why, and offers no decision until it is edited."""
    knowledge_base = assessment_knowledge_base(assessment)
    notices = plan_notices(assessment)
    acknowledgements = assessment_acknowledgements(assessment=assessment)
    versions = assessment_versions(assessment=assessment)
    plan, pending = assessment_plan_data(assessment=assessment, acknowledgements=acknowledgements)
    required = [item["drug"] for item in assessment.acknowledgement_required]
    panel = caution_panel(
        knowledge_base, stored_evaluation(assessment), required, assessment.weight_kg
    )
    current = decisions_in_force(assessment=assessment, decisions=acknowledgements)
    can_act = workplace(request).can_write and not assessment.is_signed and not notices
    levels = decision_levels(assessment=assessment, decisions=acknowledgements) if can_act else {}
    for card in panel.cards:
        card.acknowledgement = current.get(card.drug)
        # The decisions this revision's decision in force replaced, newest first.
        card.extra["replaced"] = [
            ack
            for ack in reversed(acknowledgements)
            if ack.drug == card.drug
            and ack.revision == assessment.revision
            and ack.replaced_at is not None
        ]
        if can_act:
            # Every planned drug gets its decision, offered as its level in the plan allows;
            # a decided one can be changed until signing, its form filled with the decision.
            if failed_form and failed_form[0] == card.drug:
                card.form = failed_form[1]
            else:
                card.form = AcknowledgeForm(
                    prefix=f"ack-{card.drug}",
                    level=levels.get(card.drug, ""),
                    alternatives=alternative_choices(knowledge_base, card.drug, assessment.drugs),
                    initial=decision_initial(card.acknowledgement),
                )
    names = {card.drug: card.drug_name for card in panel.cards}
    page_errors: list[str] = []
    if failed_form and not any(card.form is failed_form[1] for card in panel.cards):
        page_errors = [str(error) for errors in failed_form[1].errors.values() for error in errors]
    superseded_by = next((v for v in versions if v.supersedes_id == assessment.pk), None)
    rows = plan_rows(knowledge_base, plan)
    _read(request, assessment)
    zone = time_zone(request)
    return page(
        request,
        "web/assessment_detail.html",
        {
            "assessment": assessment,
            "patient": assessment.patient,
            "planned": time_point_display(assessment.planned_at, zone),
            "signed_at": time_point_display(assessment.signed_at, zone)
            if assessment.signed_at
            else "",
            "panel": panel,
            "warnings": assessment_warnings(assessment),
            "plan_rows": rows,
            "unevaluated": [
                drug.name if drug else code
                for code in snapshot_missing(assessment)
                for drug in [knowledge_base.drugs.get(code)]
            ],
            "plan_highest": plan_highest(rows),
            "basis": plan_basis(knowledge_base, json.loads(assessment.inputs_snapshot), zone),
            "pending": [names.get(drug, drug) for drug in pending],
            "plan_notices": notices,
            "acknowledgements": acknowledgements,
            "versions": versions,
            "superseded_by": superseded_by,
            "sign_error": sign_error,
            "page_errors": page_errors,
            "amend_form": amend_form or AmendForm(),
            "can_write": workplace(request).can_write,
        },
        status=status,
    )


@department_page
@require_GET
def assessment_detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    return _detail_page(request, assessment_here(request, assessment_id))


def _posted_revision(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return None


@clinical_page
@require_POST
def assessment_acknowledge(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_here(request, assessment_id)
    drug = request.POST.get("drug", "")
    form = AcknowledgeForm(
        request.POST,
        prefix=f"ack-{drug}",
        alternatives=alternative_choices(get_knowledge_base(), drug, assessment.drugs),
    )
    if form.is_valid():
        try:
            decided = plan_decide(
                actor=Actor.from_request(request),
                assessment=assessment,
                drug=drug,
                decision=form.cleaned_data["decision"],
                reason_code=form.cleaned_data["reason_code"],
                comment=form.cleaned_data["comment"],
                alternative=form.cleaned_data["alternative"],
                dose_mg=form.cleaned_data["dose_mg"],
                expected_revision=_posted_revision(request),
            )
        except PreconditionFailed:
            form.add_error(None, STALE_MESSAGE)
        except DomainError as error:
            add_domain_error(form, error, ACKNOWLEDGE_ERROR_FIELDS)
        else:
            changed = decided.replaces_id is not None
            messages.success(request, "Decision changed." if changed else "Decision recorded.")
            return redirect(reverse("web:assessment", args=[assessment.pk]) + f"#caution-{drug}")
    return _detail_page(request, assessment, failed_form=(drug, form), status=400)


@clinical_page
@require_POST
def assessment_sign_view(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_here(request, assessment_id)
    try:
        signed = assessment_sign(
            actor=Actor.from_request(request),
            assessment=assessment,
            expected_revision=_posted_revision(request),
        )
    except PreconditionFailed:
        return _detail_page(request, assessment, sign_error=STALE_MESSAGE, status=412)
    except DomainError as error:
        return _detail_page(request, assessment, sign_error=error.message, status=409)
    messages.success(request, "Assessment signed.")
    return redirect("web:assessment", assessment_id=signed.pk)


@clinical_page
@require_POST
def assessment_amend_view(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_here(request, assessment_id)
    form = AmendForm(request.POST)
    if form.is_valid():
        try:
            draft = assessment_amend(
                actor=Actor.from_request(request),
                assessment=assessment,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            form.add_error("reason", error.message)
        else:
            messages.success(request, "Amendment started: edit this draft, then sign it.")
            return redirect("web:assessment", assessment_id=draft.pk)
    return _detail_page(request, assessment, amend_form=form, status=400)
