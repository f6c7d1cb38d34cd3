"""The report pages: HTML with SVG charts, CSV and PDF downloads, and the audit-log report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zlib
import zoneinfo

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import CaptureQueriesContext

from periop.accounts.models import Role
from periop.audit.checkpoints import audit_checkpoints_read
from periop.audit.models import AuditChainHead, AuditEvent
from tests.factories import (
    MembershipFactory,
    UserFactory,
)
from tests.integration.test_reports_figures import add_overridden_assessments, build_october

pytestmark = pytest.mark.django_db

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    # The first page stores the user's department in the session (the shared header shows
    # it); later pages only read it.
    client.get("/reports/")
    return client


def page(department) -> str:
    return f"/reports/departments/{department.pk}/"


def log(department) -> str:
    return f"/reports/departments/{department.pk}/audit-log/"


@pytest.fixture
def october(department, anesthetist):
    return build_october(department, anesthetist)


def pdf_text(data: bytes) -> str:
    """The text of a PDF made by WeasyPrint: enough of a reader to check what a page says
    (object streams, Flate, Type0 fonts with ToUnicode maps, Tj and TJ)."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    for match in re.finditer(rb"(\d+) 0 obj\s*(<<.*?>>)\s*stream\r?\n", data, re.S):
        head = match[2]
        length = int(re.search(rb"/Length (\d+)", head)[1])
        raw = data[match.end() : match.end() + length]
        stream = zlib.decompress(raw) if b"/FlateDecode" in head else raw
        objects[int(match[1])] = (head, stream)
    for head, stream in list(objects.values()):
        if b"/ObjStm" not in head or stream is None:
            continue
        count = int(re.search(rb"/N (\d+)", head)[1])
        first = int(re.search(rb"/First (\d+)", head)[1])
        numbers = [int(value) for value in stream[:first].split()]
        pairs = [(numbers[2 * i], numbers[2 * i + 1]) for i in range(count)]
        for index, (number, offset) in enumerate(pairs):
            end = pairs[index + 1][1] if index + 1 < count else len(stream) - first
            objects.setdefault(number, (stream[first + offset : first + end], None))
    for match in re.finditer(rb"(?<![\d])(\d+) 0 obj\s*(<<.*?>>)\s*endobj", data, re.S):
        objects.setdefault(int(match[1]), (match[2], None))

    def cmap_of(number: int) -> dict[bytes, str]:
        stream = objects[number][1] or b""
        mapping: dict[bytes, str] = {}
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for source, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                mapping[bytes.fromhex(source.decode())] = bytes.fromhex(target.decode()).decode(
                    "utf-16-be"
                )
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
            for low, high, target in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
            ):
                width = len(low) // 2
                start = int(target, 16)
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    mapping[code.to_bytes(width, "big")] = chr(start + offset)
        return mapping

    cmaps = {}
    for number, (head, _stream) in objects.items():
        found = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if found:
            cmaps[number] = cmap_of(int(found[1]))
    names: dict[bytes, dict[bytes, str]] = {}
    # Font resources name their fonts "/Name N 0 R"; WeasyPrint's names are unique per file.
    for head, _stream in objects.values():
        for name, number in re.findall(rb"/([^\s/<>\[\]()]+)\s*(\d+) 0 R", head):
            if int(number) in cmaps:
                names[name] = cmaps[int(number)]

    def decode(hex_text: bytes, mapping: dict[bytes, str]) -> str:
        raw = bytes.fromhex(hex_text.decode())
        width = len(next(iter(mapping), b"\0\0")) or 2
        return "".join(mapping.get(raw[i : i + width], "") for i in range(0, len(raw), width))

    text = []
    for head, stream in objects.values():
        if stream is None or b"BT" not in stream or b"/ObjStm" in head:
            continue
        mapping: dict[bytes, str] = {}
        for token in re.finditer(
            rb"/([^\s/<>\[\]]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|(ET)",
            stream,
            re.S,
        ):
            if token[1]:
                mapping = names.get(token[1], {})
            elif token[2] is not None:
                text.extend(
                    decode(part, mapping) for part in re.findall(rb"<([0-9A-Fa-f]*)>", token[2])
                )
            elif token[3] is not None:
                text.append(decode(token[3], mapping))
            else:
                text.append("\n")
    return "".join(text)


def test_the_page_states_the_period_and_draws_labelled_charts(auditor, october):
    response = browser(auditor).get(page(october.department), OCTOBER)

    assert response.status_code == 200
    html = response.content.decode()
    assert "in the department's time zone <strong>America/New_York</strong>" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 4
    assert '<title id="chart-levels-title">Cautions by level</title>' in html
    assert "contraindicated: 2" in html  # the chart's text description
    # Scripts come only from files (the app's header loads them); nothing runs inline.
    assert re.findall(r"<script(?![^>]* src=)", html) == []
    head = AuditEvent.objects.order_by("-sequence").first()
    # The page quotes the head it was made from: the event just before its own view event.
    assert f"sequence <strong>{head.sequence - 1}</strong>" in html


def test_the_pages_are_for_the_departments_auditors_only(
    auditor, anesthetist, department, other_department
):
    assert browser(anesthetist).get(page(department)).status_code == 403
    assert browser(auditor).get(page(other_department)).status_code == 404
    assert browser(auditor).get(log(other_department)).status_code == 404
    two_hats = UserFactory(username="two-hats")
    MembershipFactory(user=two_hats, department=other_department, role=Role.ADMIN)
    assert browser(two_hats).get(page(department)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(department):
    response = Client().get(page(department))
    assert response.status_code == 302


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-02-30"},
        {"from": "2026-10-31", "to": "2026-10-01"},
        {"format": "docx"},
        {"from": "x" * 500},
    ],
)
def test_bad_input_shows_the_form_again_with_a_400(auditor, department, params):
    response = browser(auditor).get(page(department), params)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_csv_download_is_parseable(auditor, october):
    response = browser(auditor).get(page(october.department), {**OCTOBER, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert ["assessments", "total", "", "count", "4"] in rows


def test_the_pdf_contains_the_chain_head(auditor, october):
    client = browser(auditor)
    head = AuditChainHead.objects.get(id=1)

    response = client.get(page(october.department), {**OCTOBER, "format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    squeezed = re.sub(r"\s+", "", text)
    assert "departmentreport" in squeezed
    assert head.hash in squeezed
    assert f"uptoevent{head.sequence}" in squeezed


def test_viewing_exporting_and_printing_are_audited(auditor, october):
    client = browser(auditor)
    for output in ("html", "csv", "pdf"):
        client.get(page(october.department), {**OCTOBER, "format": output})
    client.get(log(october.department), OCTOBER)
    client.get(log(october.department), {**OCTOBER, "format": "csv"})

    events = AuditEvent.objects.filter(
        actor_user_id=auditor.pk, resource_type__in=["department-report", "audit-log"]
    ).order_by("sequence")
    assert [(event.action, event.resource_type) for event in events] == [
        ("query", "department-report"),
        ("export", "department-report"),
        ("print", "department-report"),
        ("query", "audit-log"),
        ("export", "audit-log"),
    ]


def period_of_the_events(department) -> dict[str, str]:
    """The audit-log period, in the department's days, that holds every event written so far.
    `build_october` moves the assessments into October, but their audit events keep the time
    they were written at: whatever the clock says, never a fixed year."""
    times = AuditEvent.objects.filter(department_id=department.pk).aggregate(
        first=Min("occurred_at"), last=Max("occurred_at")
    )
    zone = zoneinfo.ZoneInfo(department.time_zone)
    return {
        "from": times["first"].astimezone(zone).date().isoformat(),
        "to": times["last"].astimezone(zone).date().isoformat(),
    }


def test_the_audit_log_filters_by_patient_user_and_action(auditor, october):
    a3 = october.assessments["a3"]
    client = browser(auditor)
    everything = AuditEvent.objects.filter(department_id=october.department.pk).count()
    period = period_of_the_events(october.department)

    html = client.get(log(october.department), period).content.decode()
    assert f"{everything} events" in html
    overrides = client.get(
        log(october.department), {**period, "action": "override"}
    ).content.decode()
    # Only the two overrides, each with its reason (ONC: overrides come with their reason).
    assert "2 events" in overrides
    assert "no-alternative" in overrides
    assert "benefit-outweighs-risk" in overrides
    mine = client.get(
        log(october.department),
        {
            **period,
            "user": "dr-colleague",
            "patient": a3.patient_id,
        },
    ).content.decode()
    assert "dr-colleague" in mine
    assert "dr-anesthetist (" not in mine


@pytest.mark.parametrize(
    "ordering",
    ["occurred_at", "-occurred_at", "patient", "-patient", "-user", "action", "data_accessed"],
)
def test_the_audit_log_sorts_by_each_astm_field(auditor, october, ordering):
    response = browser(auditor).get(
        log(october.department),
        {**period_of_the_events(october.department), "ordering": ordering, "format": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    column = {
        "occurred_at": "sequence",
        "patient": "patient_id",
        "user": "actor_username",
        "action": "action",
        "data_accessed": "resource_type",
    }[ordering.lstrip("-")]
    values = [row[column] for row in rows]
    if column == "patient_id":
        # Events without a patient come last, whichever the direction and the database.
        assert "" in values  # the log holds events without a patient (report views)
        blanks = values.index("")
        assert all(value == "" for value in values[blanks:])
        values = values[:blanks]
    if column in {"sequence", "patient_id"}:
        values = [int(value) for value in values]
    assert len(values) > 5
    assert values == sorted(values, reverse=ordering.startswith("-"))


def test_the_audit_log_shows_local_times_and_rejects_bad_filters(auditor, october):
    client = browser(auditor)
    html = client.get(log(october.department), OCTOBER).content.decode()
    assert "times in <strong>America/New_York</strong>" in html
    # The period as UTC instants too (ONC (d)(3): a period documented in UTC terms).
    assert "(2026-10-01T00:00:00-04:00 to 2026-11-01T00:00:00-04:00, end excluded" in html
    assert client.get(log(october.department), {"patient": "abc"}).status_code == 400
    assert client.get(log(october.department), {"action": "explode"}).status_code == 400
    assert client.get(log(october.department), {"ordering": "password"}).status_code == 400
    assert client.get(log(october.department), {"format": "pdf"}).status_code == 400


def test_the_index_lists_the_departments_the_user_audits(auditor, department, other_department):
    html = browser(auditor).get("/reports/").content.decode()
    assert department.name in html
    assert other_department.name not in html


def test_both_pages_offer_the_routine_review_periods(auditor, department):
    client = browser(auditor)
    for url in (page(department), log(department)):
        html = client.get(url, {"action": "override"} if url == log(department) else {}).content
        text = html.decode()
        for label in ("Last 7 days", "Last 30 days", "This month", "Last month"):
            assert f">{label}</a>" in text
    # The audit log's shortcuts keep its filters.
    assert "action=override" in client.get(log(department), {"action": "override"}).content.decode()


def _page_queries(client: Client, url: str, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_report_pages_cost_the_same_queries_for_1_and_25_assessments(
    auditor, department, anesthetist
):
    """The department page and the audit log (one page of 50 of the events) each cost the same
    number of queries whatever the number of assessments and events behind them: the session,
    the access checks, the report's nine section queries (or the log's count and page), and the
    page's own audit event."""
    client = browser(auditor)
    today = dt.datetime.now(dt.UTC).date()
    period = {
        "from": (today - dt.timedelta(days=3)).isoformat(),
        "to": (today + dt.timedelta(days=1)).isoformat(),
    }
    add_overridden_assessments(department, anesthetist, 1)
    few = [_page_queries(client, url, period) for url in (page(department), log(department))]
    add_overridden_assessments(department, anesthetist, 24)
    many = [_page_queries(client, url, period) for url in (page(department), log(department))]
    assert many == few


def test_an_auditor_can_log_out_from_a_report(auditor, department):
    client = Client(enforce_csrf_checks=True)
    client.force_login(auditor)
    html = client.get(page(department)).content.decode()
    assert 'action="/logout"' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]

    response = client.post("/logout", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert client.get(page(department)).status_code == 302  # back to the login page


@pytest.mark.parametrize("output_format", ["html", "csv", "pdf"])
def test_each_report_anchors_the_head_it_prints(auditor, october, output_format):
    client = browser(auditor)
    head = AuditChainHead.objects.get(id=1)

    client.get(page(october.department), {**OCTOBER, "format": output_format})
    client.get(log(october.department), {**OCTOBER, "format": "csv"})

    report, audit_log = audit_checkpoints_read().checkpoints
    assert (report.sequence, report.hash) == (head.sequence, head.hash)
    # The audit log was pinned after the report's own event.
    assert audit_log.sequence == head.sequence + 1


def test_a_report_is_served_when_its_checkpoint_cannot_be_written(auditor, october, settings):
    settings.AUDIT_CHECKPOINT_FILE = "/proc/no-such-directory/checkpoints.jsonl"

    response = browser(auditor).get(page(october.department), OCTOBER)

    assert response.status_code == 200
