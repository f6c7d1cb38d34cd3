"""The issue's whole flow in a real Chromium: from login to the print view of a signed
assessment, with the caution panel updating live as drugs are chosen."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from periop.assessments.models import Assessment
from periop.audit.models import AuditEvent
from tests.e2e.pdf_text import page_texts
from tests.factories import TEST_PASSWORD, years_ago

pytestmark = [pytest.mark.e2e]


def test_an_anaesthetist_gets_a_signed_printable_assessment_with_the_right_cautions(
    live_server: Any, page: Page, anesthetist: Any, artifacts: Any
) -> None:
    page.set_default_timeout(10_000)
    today = timezone.localdate()

    # Log in.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Log in to Periop")).to_be_visible()
    page.get_by_label("Username").fill("dr-anesthetist")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_role("heading", name="Main theatres: today and the next days")
    ).to_be_visible()

    # Register a patient.
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Medical record number (MRN)").fill("E2E-0001")
    page.get_by_label("Full name").fill("Grace Hopper")
    born = years_ago(46)
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_label("Sex").select_option(label="Female")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()

    # Myasthenia gravis: choosing it loads only its own attribute fields.
    page.get_by_label("Condition", exact=True).select_option(label="Myasthenia gravis")
    expect(page.get_by_label("Antibody")).to_be_visible()
    expect(page.get_by_label("Motor deficit")).to_have_count(0)
    page.get_by_label("Antibody").select_option(label="AChR")
    page.get_by_label("Onset: date").fill("2020-03-01")
    page.get_by_role("button", name="Record myasthenia gravis").click()
    expect(page.get_by_text("Myasthenia gravis recorded.")).to_be_visible()

    # A stroke ten days ago.
    page.get_by_label("Condition", exact=True).select_option(label="Stroke")
    expect(page.get_by_label("Antibody")).to_have_count(0)
    page.get_by_label("Onset: date").fill((today - dt.timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Record stroke").click()
    expect(page.get_by_text("Stroke recorded.")).to_be_visible()

    # Start an assessment; the caution panel follows every change.
    page.screenshot(path=str(artifacts / "patient-page.png"), full_page=True)
    page.get_by_role("link", name="Start an assessment").click()
    page.get_by_label("Planned: date").fill((today + dt.timedelta(days=1)).isoformat())
    page.get_by_label("Planned: time").fill("08:30")
    page.get_by_label("Planned procedure").fill("Thymectomy")
    page.get_by_label("Weight (kg)").fill("70")
    panel = page.locator("#caution-panel")
    page.get_by_label("Succinylcholine (suxamethonium)").check()
    succinylcholine = panel.locator("#caution-succinylcholine")
    expect(succinylcholine.locator(".caution-card__header .level")).to_have_text("Contraindicated")
    page.get_by_label("Rocuronium").check()
    expect(panel.locator("#caution-rocuronium")).to_be_visible()
    expect(succinylcholine).to_contain_text("Condition: Stroke")
    panel.screenshot(path=str(artifacts / "caution-panel.png"))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft assessment saved.")).to_be_visible()

    # Signing is refused until the contraindication is acknowledged.
    sign = page.get_by_role("button", name="Sign assessment")
    expect(sign).to_be_disabled()
    expect(page.locator("#sign-blocked")).to_contain_text("Succinylcholine")
    page.locator("form[action$='/sign']").evaluate("form => form.submit()")
    expect(page.get_by_role("alert")).to_contain_text(
        "Acknowledge the caution for succinylcholine before signing."
    )

    page.screenshot(path=str(artifacts / "assessment-unsigned.png"), full_page=True)

    # The plan: override the contraindicated succinylcholine with a reason, and give
    # rocuronium adjusted. Each drug has its own decision form.
    form = page.locator("#caution-succinylcholine .acknowledge-form")
    form.get_by_label("Override: give the drug despite the caution").check()
    form.get_by_label("Reason").select_option(label="No reasonable alternative")
    form.get_by_label("Comment").fill("Difficult airway; rapid sequence needed.")
    form.get_by_role("button", name=re.compile("Record decision")).click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()
    form = page.locator("#caution-rocuronium .acknowledge-form")
    form.get_by_label("Give adjusted (dose and monitoring from the card)").check()
    form.get_by_role("button", name=re.compile("Record decision")).click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()
    expect(page.locator("#plan-rocuronium")).to_contain_text("Give, adjusted")
    expect(page.locator("#plan-succinylcholine")).to_contain_text("despite the caution")

    # Sign, then print.
    expect(sign).to_be_enabled()
    sign.click()
    expect(page.get_by_text("Assessment signed.")).to_be_visible()
    page.get_by_role("link", name="Print view").click()
    expect(
        page.get_by_role("heading", name="Pre-operative neuromuscular assessment")
    ).to_be_visible()

    page.emulate_media(media="print")
    page.screenshot(path=str(artifacts / "print-view.png"), full_page=True)
    page.emulate_media(media="screen")
    assessment = Assessment.objects.get()
    assert assessment.is_signed
    expect(page.get_by_text(assessment.sign_event_hash)).to_be_visible()
    expect(page.locator(".print-record")).to_contain_text(
        "Succinylcholine (suxamethonium): CONTRAINDICATED"
    )
    expect(page.locator(".print-record")).to_contain_text(
        "Override: given despite the caution by dr-anesthetist"
    )
    assert AuditEvent.objects.filter(action="print", resource_id=str(assessment.pk)).exists()

    # On A4 paper: at most two pages, each naming the patient and its place in the print.
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (artifacts / "print-view.pdf").write_bytes(pdf)
    pages = page_texts(pdf)
    print(f"The print runs to {len(pages)} A4 pages.")
    assert len(pages) <= 2
    for number, text in enumerate(pages, start=1):
        compact = "".join(text.split())
        assert "GraceHopper" in compact
        assert "MRNE2E-0001" in compact
        assert f"born{born:%-d%b%Y}" in compact
        assert f"Page{number}of{len(pages)}" in compact
    # The plan and what it rests on open the first page; the details follow.
    first = "".join(pages[0].split())
    assert "Theplan:onelineperdrug" in first
    assert "Whattheplanrestson" in first
