"""CSV and PDF output of the reports. CSV is streamed row by row, so an export of any size
runs in constant memory; PDF is rendered by WeasyPrint from the same HTML as the page."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from periop.audit.models import AuditEvent
from periop.reports.periods import ReportPeriod

CHUNK_SIZE = 2000
STYLESHEET = Path(__file__).resolve().parent / "static" / "reports" / "report.css"


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """Neutralises spreadsheet formulas: a text cell starting with =, +, - or @ is prefixed
    with an apostrophe, so opening an export never runs what someone typed."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def csv_response(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    stream = (writer.writerow([_cell(value) for value in row]) for row in rows)
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def department_report_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    """The report's figures in long form: section, group, item, measure, value."""
    yield ["section", "group", "item", "measure", "value"]
    department, period, head = report["department"], report["period"], report["audit_chain_head"]
    yield ["report", "department", department["code"], "name", department["name"]]
    yield ["report", "period", "", "from", period["from"]]
    yield ["report", "period", "", "to", period["to"]]
    yield ["report", "period", "", "time_zone", period["time_zone"]]
    yield ["report", "generated", "", "at", report["generated_at"]]
    yield ["report", "audit_chain_head", "", "sequence", head["sequence"]]
    yield ["report", "audit_chain_head", "", "hash", head["hash"]]
    # A ledger in several lanes: every other lane's head, the lane in the item column.
    for lane in head.get("lanes", ()):
        if lane["lane"] != 0:
            item = f"lane {lane['lane']}"
            yield ["report", "audit_chain_head", item, "sequence", lane["sequence"]]
            yield ["report", "audit_chain_head", item, "hash", lane["hash"]]
    read_from = report["read_from"]
    yield ["report", "read_from", "", "database", read_from["database"]]
    yield ["report", "read_from", "", "replica_lag_seconds", read_from["replica_lag_seconds"]]
    assessments = report["assessments"]
    yield ["assessments", "total", "", "count", assessments["total"]]
    for status, count in assessments["by_status"].items():
        yield ["assessments", "status", status, "count", count]
    yield ["assessments", "amendments", "", "count", assessments["amendments"]]
    for level, count in assessments["by_highest_level"].items():
        yield ["assessments", "highest_level", level, "count", count]
    for point in assessments["series"]:
        for measure in ("total", "signed", "needing_acknowledgement"):
            yield [
                "assessments",
                assessments["series_unit"],
                point["date"],
                measure,
                point[measure],
            ]
    cautions = report["cautions"]
    yield ["cautions", "total", "", "count", cautions["total"]]
    yield ["cautions", "conflicts", "", "count", cautions["conflicts"]]
    for level, count in cautions["by_level"].items():
        yield ["cautions", "level", level, "count", count]
    for kind, key in (("drug", "drug"), ("drug_class", "drug_class"), ("condition", "code")):
        source = {"drug": "by_drug", "drug_class": "by_drug_class", "condition": "by_condition"}
        for entry in cautions[source[kind]]:
            for level, count in entry["by_level"].items():
                yield ["cautions", kind, entry[key], level, count]
    overrides = report["overrides"]
    yield ["overrides", "total", "", "count", overrides["total"]]
    for entry in overrides["by_reason"]:
        yield ["overrides", "reason", entry["reason_code"], "count", entry["count"]]
    for entry in overrides["by_level"]:
        for measure in ("cautions", "accepted", "overridden", "override_rate"):
            value = entry[measure]
            yield ["overrides", "level", entry["level"], measure, "" if value is None else value]
    for entry in overrides["by_drug"]:
        yield ["overrides", "drug", entry["drug"], "count", entry["count"]]
    for rule in report["rules"]["by_rule"]:
        name = rule["rule"]
        for measure in ("fired", "assessments", "locally_tuned"):
            yield ["rules", "rule", name, measure, rule[measure]]
        for level, count in rule["by_level"].items():
            yield ["rules", "rule", name, f"fired_{level}", count]
        for measure in ("accepted", "overridden", "override_rate"):
            value = rule[measure]
            yield ["rules", "rule", name, measure, "" if value is None else value]
        for reason in rule["override_reasons"]:
            yield ["rules", "rule", name, f"overridden_{reason['reason_code']}", reason["count"]]
    for person in report["clinicians"]:
        for measure, value in person.items():
            if measure not in {"user_id", "username"}:
                yield ["clinicians", "user", person["username"], measure, value]
    stale = report["stale_drafts"]
    yield ["stale_drafts", "total", "", f"older_than_{stale['threshold_hours']}h", stale["count"]]
    for draft in stale["oldest"]:
        yield ["stale_drafts", "assessment", draft["assessment"], "created_at", draft["created_at"]]
    for version in report["knowledge_base_versions"]:
        yield [
            "knowledge_base",
            "version",
            version["version"],
            "assessments",
            version["assessments"],
        ]
        yield ["knowledge_base", "version", version["version"], "digest", version["digest"]]


AUDIT_LOG_COLUMNS = (
    "sequence",
    "occurred_at",
    "data_time",
    "patient_id",
    "actor_user_id",
    "actor_username",
    "actor_kind",
    "action",
    "resource_type",
    "resource_id",
    "data_category",
    "outcome",
    "request_id",
    "department_id",
    "payload",
    "hash",
)


# Beside the ledger's own columns: the patient's MRN (for the department's own patients), and
# what each override was about (ONC: overrides come with their reason and comment).
AUDIT_LOG_EXTRA_COLUMNS = (
    "patient_mrn",
    "override_drug",
    "override_assessment",
    "override_revision",
    "override_reason",
    "override_comment",
)


def audit_log_rows(events: QuerySet[AuditEvent], period: ReportPeriod) -> Iterator[list[Any]]:
    """The audit log, one row per event, times in the department's zone, read in chunks.
    `events` carries the `patient_mrn` annotation (`audit_log_with_mrns`)."""
    zone = period.zone
    yield [*AUDIT_LOG_COLUMNS, *AUDIT_LOG_EXTRA_COLUMNS]
    rows = events.values_list(*AUDIT_LOG_COLUMNS, "patient_mrn").iterator(chunk_size=CHUNK_SIZE)
    for row in rows:
        values = list(row[:-1])
        for index in (1, 2):
            if values[index] is not None:
                values[index] = values[index].astimezone(zone).isoformat()
        override = override_details(values[7], values[14])
        yield [
            *("" if value is None else value for value in values),
            row[-1] or "",
            *override,
        ]


class OverrideDetails(NamedTuple):
    """What an override event overrode: the drug, in which assessment and revision, and why."""

    drug: str = ""
    assessment: str = ""
    revision: str = ""
    reason: str = ""
    comment: str = ""


def override_details(action: str, payload: str) -> OverrideDetails:
    """The drug, assessment, reason code and comment of an override event; empty otherwise."""
    if action != "override":
        return OverrideDetails()
    try:
        data = json.loads(payload)
    except ValueError:
        return OverrideDetails()
    return OverrideDetails(
        drug=str(data.get("drug", "")),
        assessment=str(data.get("assessment", "")),
        revision=str(data.get("revision", "")),
        reason=str(data.get("reason_code", "")),
        comment=str(data.get("comment", "")),
    )


@lru_cache(maxsize=1)
def _stylesheet_text() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


class _NoFetching:
    """WeasyPrint URL fetcher that fetches nothing: the report embeds everything it shows,
    and a PDF renderer must never be made to reach the network or the file system."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError("Reports load no external resources.")


def pdf_bytes(html: str) -> bytes:
    """The PDF of a report page's HTML."""
    # Imported here: WeasyPrint loads Pango and fonts, which only PDF requests need.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]

    document = HTML(string=html, url_fetcher=_NoFetching())
    result = document.write_pdf(stylesheets=[CSS(string=_stylesheet_text())])
    return bytes(result or b"")
