"""Writes of the reports app: only the audit events that record who viewed or exported what."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from periop.accounts.models import Department
from periop.audit.checkpoints import audit_checkpoints_write
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

logger = logging.getLogger(__name__)


def report_access_record(
    *,
    actor: Actor,
    department: Department,
    period: ReportPeriod,
    report: str,
    output_format: str,
    filters: dict[str, Any] | None = None,
    chain_head: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Records that a report was viewed (query), exported (export) or printed (print), and
    appends a signed checkpoint of the ledger head the report quotes (`chain_head`)."""
    if chain_head is not None:
        report_head_checkpoint(chain_head)
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


def report_head_checkpoint(chain_head: Mapping[str, Any]) -> None:
    """Anchors the head a report quotes outside the database. A report is still served when
    the file cannot be written: the error is logged, and the regular `audit_checkpoint` job
    is the anchor that fails loudly."""
    try:
        heads = chain_head.get("lanes") or [chain_head]
        audit_checkpoints_write((int(head["sequence"]), str(head["hash"])) for head in heads)
    except OSError:
        logger.exception("The audit checkpoint of a report's chain head could not be written.")
