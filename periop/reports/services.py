"""Writes of the reports app: only the audit events that record who viewed or exported what."""

from __future__ import annotations

from typing import Any

from periop.accounts.models import Department
from periop.audit.models import Action, AuditEvent
from periop.audit.services import Actor, audit_event_append
from periop.reports.periods import ReportPeriod

# What the format of a report request means as an ASTM type of action (7.1.8).
FORMAT_ACTIONS = {
    "html": Action.QUERY,
    "json": Action.QUERY,
    "csv": Action.EXPORT,
    "pdf": Action.PRINT,
}


def report_access_record(
    *,
    actor: Actor,
    department: Department,
    period: ReportPeriod,
    report: str,
    output_format: str,
    filters: dict[str, Any] | None = None,
) -> AuditEvent:
    """Records that a report was viewed (query), exported (export) or printed (print)."""
    return audit_event_append(
        actor=actor,
        action=FORMAT_ACTIONS[output_format],
        resource_type=report,
        resource_id=department.pk,
        data_category="audit" if report == "audit-log" else "department-report",
        department_id=department.pk,
        patient_id=(filters or {}).get("patient"),
        payload={
            "format": output_format,
            "period": period.as_dict(),
            "filters": {key: str(value) for key, value in (filters or {}).items()},
        },
    )
