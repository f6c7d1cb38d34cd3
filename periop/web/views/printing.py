"""The print view of a signed assessment: the plan first, then what it rests on (the
recorded conditions and medications it was evaluated on), the signature, and the cautions in
detail. Every printed page names the patient and its place in the print (see periop.css)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from periop.assessments.models import Assessment
from periop.assessments.presenters import assessment_plan_data
from periop.assessments.selectors import age_in_years, assessment_acknowledgements
from periop.assessments.services.common import CATEGORY_ASSESSMENT
from periop.assessments.services.plan import assessment_knowledge_base
from periop.assessments.services.plausibility import assessment_warnings
from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.web.plan_view import plan_highest, plan_rows
from periop.web.presenters import caution_panel, panel_references, time_point_display
from periop.web.print_view import plan_basis
from periop.web.views.common import assessment_here, page, time_zone
from periop.web.workplace import department_page


@department_page
@require_GET
def assessment_print(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """The signed record on A4, readable in black and white. Printing is audited."""
    assessment = assessment_here(request, assessment_id)
    if not assessment.is_signed:
        messages.error(request, "Only a signed assessment can be printed.")
        return redirect("web:assessment", assessment_id=assessment.pk)
    knowledge_base = assessment_knowledge_base(assessment)
    every_revision = assessment_acknowledgements(assessment=assessment)
    acknowledgements = [
        ack
        for ack in every_revision
        if ack.revision == assessment.revision and ack.replaced_at is None
    ]
    required = [item["drug"] for item in assessment.acknowledgement_required]
    plan, _ = assessment_plan_data(assessment=assessment, acknowledgements=every_revision)
    # The paper gives the detail of what will be given, as the plan evaluated it (withheld
    # drugs and their interactions are gone); a withheld drug keeps its line in the plan.
    evaluation = json.loads(assessment.cautions_snapshot)
    plan_cards = [line["card"] for line in plan if line.get("card")]
    withheld = {line["drug"] for line in plan if line.get("decision") == "withhold"}
    evaluation["cautions"] = plan_cards or [
        card for card in evaluation["cautions"] if card["drug"] not in withheld
    ]
    panel = caution_panel(knowledge_base, evaluation, required, assessment.weight_kg)
    by_drug = {ack.drug: ack for ack in acknowledgements}
    for card in panel.cards:
        card.acknowledgement = by_drug.get(card.drug)
    # A paper copy outlives the screen: it must say when a later amendment replaced it.
    superseded_by = (
        Assessment.objects.filter(supersedes_id=assessment.pk)
        .only("pk", "status", "signed_at", "supersedes_id")
        .first()
    )
    zone = time_zone(request)
    audit_event_append(
        actor=Actor.from_request(request),
        action=Action.PRINT,
        resource_type="assessment",
        resource_id=assessment.pk,
        data_category=CATEGORY_ASSESSMENT,
        patient_id=assessment.patient_id,
        department_id=assessment.department_id,
        data_time=assessment.planned_at,
        payload={"sign_event_hash": assessment.sign_event_hash},
    )
    signer = assessment.signed_by
    rows = plan_rows(knowledge_base, plan)
    # On paper a card's summary is left out where it only repeats one of its findings.
    repeated_summaries = {
        card.drug
        for card in panel.cards
        if card.summary in {finding.summary for finding in card.findings}
    }
    return page(
        request,
        "web/assessment_print.html",
        {
            "assessment": assessment,
            "patient": assessment.patient,
            "age_at_planned": age_in_years(
                assessment.patient.birth_date, assessment.planned_at.astimezone(zone).date()
            ),
            "planned": time_point_display(assessment.planned_at, zone),
            "signed_at": time_point_display(assessment.signed_at, zone),
            "signed_by": (signer.get_full_name() or signer.get_username()) if signer else "",
            "signed_by_username": signer.get_username() if signer else "",
            "panel": panel,
            # The same warnings as the assessment's page (an implausible weight for the age).
            "warnings": assessment_warnings(assessment),
            "plan_rows": rows,
            "plan_highest": plan_highest(rows),
            "basis": plan_basis(knowledge_base, json.loads(assessment.inputs_snapshot), zone),
            "acknowledgements": acknowledgements,
            "superseded_by": superseded_by,
            "superseded_signed_at": time_point_display(superseded_by.signed_at, zone)
            if superseded_by and superseded_by.signed_at
            else "",
            "printed_by": request.user.get_username(),
            "references": panel_references(panel),
            "repeated_summaries": repeated_summaries,
        },
    )
