"""The report pages for auditors: the department report (HTML with SVG charts, CSV, PDF) and
the audit-log report (HTML, streamed CSV). Viewing, exporting and printing are audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from periop.accounts.models import Department
from periop.audit import lanes
from periop.audit.selectors import (
    audit_events_filter,
    audit_events_of_department,
    audit_events_visible_to,
)
from periop.audit.services import Actor
from periop.replica import primary_wal_position, read_source_choose, report_reads
from periop.reports.access import report_department_get, report_departments_for
from periop.reports.charts import LEVEL_COLOURS, bar_chart, column_chart
from periop.reports.exports import (
    audit_log_rows,
    csv_response,
    department_report_rows,
    override_details,
    pdf_bytes,
)
from periop.reports.forms import AUDIT_LOG_FORMATS, FORMATS, AuditLogFilterForm
from periop.reports.periods import (
    PeriodError,
    ReportPeriod,
    local_today,
    report_period_parse,
    report_period_shortcuts,
)
from periop.reports.selectors import (
    audit_chain_head,
    audit_head_lanes,
    audit_log_with_mrns,
    department_report,
)
from periop.reports.services import report_access_record

AUDIT_LOG_PAGE_SIZE = 50


@login_required
def reports_index(request: HttpRequest) -> HttpResponse:
    departments = report_departments_for(request.user)
    return render(request, "reports/index.html", {"departments": departments})


def _today(department: Department) -> dt.date:
    return local_today(department.time_zone, timezone.now())


def _period(request: HttpRequest, department: Department) -> ReportPeriod:
    return report_period_parse(
        first=request.GET.get("from"),
        last=request.GET.get("to"),
        time_zone=department.time_zone,
        today=_today(department),
    )


def _shortcuts(department: Department, request: HttpRequest) -> list[dict[str, str]]:
    """Links to the ready-made review periods, keeping the page's other filters."""
    links = []
    for label, first_day, last_day in report_period_shortcuts(today=_today(department)):
        query = request.GET.copy()
        for key in ("from", "to", "page", "format"):
            query.pop(key, None)
        query["from"], query["to"] = first_day.isoformat(), last_day.isoformat()
        links.append({"label": label, "query": query.urlencode()})
    return links


def _error_page(
    request: HttpRequest, department: Department, errors: dict[str, str]
) -> HttpResponse:
    """Bad input is the user's to fix: the form again with the message, status 400."""
    context = {"department": department, "errors": errors, "values": request.GET}
    return render(request, "reports/input_error.html", context, status=400)


@login_required
def department_report_page(request: HttpRequest, department_id: int) -> HttpResponseBase:
    department = report_department_get(user=request.user, department_id=department_id)
    output_format = request.GET.get("format", "html") or "html"
    if output_format not in FORMATS:
        return _error_page(request, department, {"format": "Choose html, csv or pdf."})
    try:
        period = _period(request, department)
    except PeriodError as error:
        return _error_page(request, department, {error.field: error.message})
    # The head is pinned on the primary, then the figures are read from the replica when it
    # has caught up to it (or lags within the bound).
    head = audit_chain_head()
    with report_reads(primary_wal_position()) as source:
        report = department_report(
            department=department, period=period, head=head, read_source=source
        )
    report_access_record(
        actor=Actor.from_request(request),
        department=department,
        period=period,
        report="department-report",
        output_format=output_format,
        chain_head=report["audit_chain_head"],
    )
    stem = f"periop-{department.code}-{period.first_day}-{period.last_day}"
    if output_format == "csv":
        return csv_response(department_report_rows(report), f"{stem}.csv")
    context = _report_context(department, period, report)
    if output_format == "pdf":
        html = render_to_string("reports/department_report.html", {**context, "printing": True})
        response = HttpResponse(pdf_bytes(html), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    context["shortcuts"] = _shortcuts(department, request)
    return render(request, "reports/department_report.html", context)


def _report_context(
    department: Department, period: ReportPeriod, report: dict[str, Any]
) -> dict[str, Any]:
    cautions, overrides = report["cautions"], report["overrides"]
    unit = report["assessments"]["series_unit"]
    charts = {
        "series": column_chart(
            chart_id="chart-series",
            title=f"Assessments per {unit}",
            columns=[(point["date"], point["total"]) for point in report["assessments"]["series"]],
        ),
        "levels": bar_chart(
            chart_id="chart-levels",
            title="Cautions by level",
            bars=list(cautions["by_level"].items())[:-1],
            colours=LEVEL_COLOURS,
        ),
        "reasons": bar_chart(
            chart_id="chart-reasons",
            title="Overrides by reason",
            bars=[(entry["label"], entry["count"]) for entry in overrides["by_reason"]],
        ),
        "override_drugs": bar_chart(
            chart_id="chart-override-drugs",
            title="Overrides by drug",
            bars=[(entry["drug"], entry["count"]) for entry in overrides["by_drug"][:12]],
        ),
    }
    return {
        "department": department,
        "period": period,
        "report": report,
        "charts": charts,
        "levels": list(report["cautions"]["by_level"]),
        # The rules whose cautions someone accepted or overrode, for the decisions table.
        "rules_decided": [
            row for row in report["rules"]["by_rule"] if row["accepted"] or row["overridden"]
        ],
        "printing": False,
    }


@login_required
def audit_log_page(request: HttpRequest, department_id: int) -> HttpResponseBase:
    department = report_department_get(user=request.user, department_id=department_id)
    output_format = request.GET.get("format", "html") or "html"
    if output_format not in AUDIT_LOG_FORMATS:
        return _error_page(request, department, {"format": "Choose html or csv."})
    form = AuditLogFilterForm(request.GET)
    if not form.is_valid():
        errors = {name: " ".join(map(str, messages)) for name, messages in form.errors.items()}
        return _error_page(request, department, errors)
    try:
        period = _period(request, department)
    except PeriodError as error:
        return _error_page(request, department, {error.field: error.message})
    filters = form.filters()
    ordering = form.cleaned_data.get("ordering") or "occurred_at"
    # The log is pinned to the ledger's head before this view's own event is appended, so
    # the count, the pages and the export all describe the same history.
    head = audit_chain_head()
    # The log lists every event up to that head: only a replica that has replayed all of
    # them will do (lag 0), else the primary.
    source = read_source_choose(primary_wal_position(), max_lag_seconds=0.0)
    events = audit_events_filter(
        audit_events_visible_to(request.user),
        occurred_from=period.start,
        # The selector's upper bound is inclusive; the period's end is not.
        occurred_to=period.end - dt.timedelta(microseconds=1),
        patient_id=filters.get("patient"),
        user=filters.get("user"),
        action=filters.get("action"),
        ordering=ordering,
    )
    events = audit_log_with_mrns(
        audit_events_of_department(events, department.pk).filter(
            lanes.pinned(audit_head_lanes(head))
        ),
        department_id=department.pk,
    ).using(source.alias)
    report_access_record(
        actor=Actor.from_request(request),
        department=department,
        period=period,
        report="audit-log",
        output_format=output_format,
        filters={**filters, "ordering": ordering},
        chain_head=head,
    )
    if output_format == "csv":
        name = f"periop-audit-{department.code}-{period.first_day}-{period.last_day}.csv"
        return csv_response(audit_log_rows(events, period), name)
    page = Paginator(events, AUDIT_LOG_PAGE_SIZE).get_page(form.cleaned_data.get("page") or 1)
    zone = period.zone
    rows = [
        {
            "event": event,
            "occurred_at": event.occurred_at.astimezone(zone),
            "data_time": event.data_time.astimezone(zone) if event.data_time else None,
            "override": override_details(event.action, event.payload),
        }
        for event in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    query.pop("ordering", None)
    context = {
        "department": department,
        "period": period,
        "form": form,
        "page": page,
        "rows": rows,
        "ordering": ordering,
        "head": head,
        "read_from": source,
        "query": query.urlencode(),
        "shortcuts": _shortcuts(department, request),
        "sort_columns": [
            ("occurred_at", "Time"),
            ("patient", "Patient"),
            ("user", "User"),
            ("action", "Action"),
            ("data_accessed", "Data accessed"),
            ("outcome", "Outcome"),
        ],
    }
    return render(request, "reports/audit_log.html", context)
