"""The signed plan, walked in a real Chromium as an anaesthetist would: a burn, myasthenia
gravis and pyridostigmine; five planned drugs; the interacting drugs withheld so that
rocuronium needs no override; the plan signed, printed on at most two pages, and amended.
Every page of the walk is checked with axe-core: no serious or critical violation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from periop.assessments.models import Assessment
from tests.e2e.pdf_text import page_texts
from tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e]

DRUG_LABELS = {
    "succinylcholine": "Succinylcholine (suxamethonium)",
    "rocuronium": "Rocuronium",
    "sugammadex": "Sugammadex",
    "gentamicin": "Gentamicin",
    "magnesium-sulfate": re.compile("^Magnesium sulfate"),
}


# What Chromium says when a script runs while the page it was given is being replaced.
NAVIGATING = ("Execution context was destroyed", "reading 'documentElement'")


def no_serious_violations(page: Page, name: str) -> None:
    """axe-core (shipped in the package) on the page once it has loaded.

    A caller waits for the page it expects before it asks (a heading, a message); should a
    navigation still be under way, axe is run again on the page that loads, never skipped."""
    for attempt in range(3):
        page.wait_for_load_state("load")
        try:
            results = Axe().run(page)
            break
        except PlaywrightError as error:
            if attempt == 2 or not any(sign in str(error) for sign in NAVIGATING):
                raise
    serious = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in {"serious", "critical"}
    ]
    assert serious == [], (name, [(v["id"], v["help"]) for v in serious])


def decide(page: Page, drug: str, decision: str) -> None:
    form = page.locator(f"#caution-{drug} .acknowledge-form")
    form.get_by_label(decision).check()
    form.get_by_role("button", name=re.compile("Record decision")).click()
    expect(page.get_by_text("Decision recorded.")).to_be_visible()


def level_of(page: Page, drug: str) -> str:
    return (page.locator(f"#plan-{drug} .level").text_content() or "").strip()


def test_the_plan_from_record_to_amendment(
    live_server: Any, signed_in: Any, anesthetist: Any, department: Any, artifacts: Any
) -> None:
    patient = PatientFactory(department=department, name="Grace Hopper", mrn="PLAN-0001")
    page = signed_in(anesthetist)
    page.set_default_timeout(15_000)
    today = timezone.localdate()
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    no_serious_violations(page, "patient page")

    # A burn five days old (35 %), generalised AChR myasthenia, pyridostigmine for two years.
    page.get_by_label("Condition", exact=True).select_option(label="Burn injury")
    page.get_by_label("Total body surface area burned").fill("35")
    page.get_by_label("Onset: date").fill((today - dt.timedelta(days=5)).isoformat())
    page.get_by_role("button", name="Record burn injury").click()
    expect(page.get_by_text("Burn injury recorded.")).to_be_visible()
    page.get_by_label("Condition", exact=True).select_option(label="Myasthenia gravis")
    page.get_by_label("Antibody").select_option(label="AChR")
    page.get_by_label("Onset: date").fill((today - dt.timedelta(days=900)).isoformat())
    page.get_by_role("button", name="Record myasthenia gravis").click()
    expect(page.get_by_text("Myasthenia gravis recorded.")).to_be_visible()
    page.get_by_role("combobox", name=re.compile("^Medication")).select_option(
        label="Pyridostigmine"
    )
    page.get_by_label("Started: date").fill((today - dt.timedelta(days=730)).isoformat())
    page.get_by_role("button", name="Record medication").click()
    expect(page.get_by_text("Medication recorded.")).to_be_visible()

    # Plan five drugs.
    page.get_by_role("link", name="Start an assessment").click()
    page.get_by_label("Planned: date").fill((today + dt.timedelta(days=1)).isoformat())
    page.get_by_label("Planned: time").fill("08:00")
    page.get_by_label("Planned procedure").fill("Excision and grafting")
    page.get_by_label("Weight (kg)").fill("70")
    for label in DRUG_LABELS.values():
        page.get_by_label(label).check()
    no_serious_violations(page, "assessment form")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft assessment saved.")).to_be_visible()
    assert level_of(page, "rocuronium") == "Avoid"
    page.screenshot(path=str(artifacts / "plan-before-decisions.png"), full_page=True)
    no_serious_violations(page, "draft assessment")

    # Withholding gentamicin and magnesium takes their interaction out of the plan: rocuronium
    # drops from avoid to adjust and needs no override.
    decide(page, "gentamicin", "Withhold: will not be given")
    decide(page, "magnesium-sulfate", "Withhold: will not be given")
    assert level_of(page, "rocuronium") == "Adjust dose"
    expect(page.locator("#plan-rocuronium")).to_contain_text("Was avoid")
    decide(page, "succinylcholine", "Withhold: will not be given")
    decide(page, "rocuronium", "Give adjusted (dose and monitoring from the card)")
    # A decision made can be changed until signing: the card shows it and a filled form.
    decide(page, "sugammadex", "Give as planned")
    card = page.locator("#caution-sugammadex")
    card.locator("summary", has_text="Change decision").click()
    change = card.locator(".acknowledge-form--change")
    expect(change.get_by_label("Give as planned")).to_be_checked()
    change.get_by_label("Give adjusted (dose and monitoring from the card)").check()
    change.get_by_role("button", name=re.compile("Change decision")).click()
    expect(page.get_by_text("Decision changed.")).to_be_visible()
    expect(page.locator("#plan-sugammadex")).to_contain_text("Give, adjusted")
    expect(page.locator("#caution-sugammadex")).to_contain_text("Earlier decisions, replaced")
    no_serious_violations(page, "a decision changed")
    page.screenshot(path=str(artifacts / "plan-decided.png"), full_page=True)

    # Sign.
    page.get_by_role("button", name="Sign assessment").click()
    expect(page.get_by_text("Assessment signed.")).to_be_visible()
    no_serious_violations(page, "signed assessment")
    signed = Assessment.objects.get(status="signed")
    assert signed.acknowledgements.filter(drug="rocuronium", decision="give-adjusted").exists()
    assert not signed.acknowledgements.filter(decision="overridden").exists()

    # Print: at most two A4 pages, each naming the patient.
    page.get_by_role("link", name="Print view").click()
    expect(
        page.get_by_role("heading", name="Pre-operative neuromuscular assessment")
    ).to_be_visible()
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (artifacts / "plan-print.pdf").write_bytes(pdf)
    pages = page_texts(pdf)
    assert len(pages) <= 2
    for number, text in enumerate(pages, start=1):
        compact = "".join(text.split())
        assert "GraceHopper" in compact
        assert "MRNPLAN-0001" in compact
        assert f"Page{number}of{len(pages)}" in compact
    page.emulate_media(media="screen")

    # Amend: the signed plan is marked superseded, and the patient page shows the new one.
    page.go_back()
    page.get_by_label("Reason for amending").fill("Weight re-measured.")
    page.get_by_role("button", name="Amend this assessment").click()
    expect(page.get_by_text("Amendment started: edit this draft, then sign it.")).to_be_visible()
    amendment = Assessment.objects.get(supersedes=signed)
    page.goto(f"{live_server.url}/assessments/{signed.pk}/")
    expect(page.get_by_text(f"Amended by assessment {amendment.pk}")).to_be_visible()
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    expect(page.get_by_text("1 superseded version not shown")).to_be_visible()
    page.screenshot(path=str(artifacts / "plan-amended-patient.png"), full_page=True)
    no_serious_violations(page, "patient page after the amendment")
