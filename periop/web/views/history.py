"""The history of a recorded condition: every version, who changed it, when and why."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from periop.assessments.selectors import patient_condition_get
from periop.assessments.services import (
    condition_release_notices,
    patient_condition_history_read,
)
from periop.audit.services import Actor
from periop.drugs.registry import get_knowledge_base
from periop.web.presenters import condition_versions
from periop.web.views.common import page, patient_here, time_zone
from periop.web.workplace import department_page


@department_page
@require_GET
def condition_history(request: HttpRequest, patient_id: int, condition_id: int) -> HttpResponse:
    """Every version of the condition, oldest first, the current one marked. Any version's id
    opens the same history, so a link to a replaced or removed entry still leads here."""
    patient = patient_here(request, patient_id)
    condition = patient_condition_get(patient=patient, condition_id=condition_id)
    rows = patient_condition_history_read(
        actor=Actor.from_request(request), patient=patient, condition=condition
    )
    versions = condition_versions(get_knowledge_base(), rows, time_zone(request))
    latest = versions[-1]
    return page(
        request,
        "web/condition_history.html",
        {
            "patient": patient,
            "versions": versions,
            "latest": latest,
            "current": latest if latest.current else None,
            "several_conditions": len({version.name for version in versions}) > 1,
            "notices": condition_release_notices(rows[-1]),
        },
    )
