"""Knowledge-base governance, walked in a real Chromium: a changed release is imported; a
consultant anaesthetist sees its diff and its impact on the department's signed assessments
and signs it off, a clinical pharmacist signs it off and activates it; the department
administrator proposes a local tuning (a floor refused first), both reviewers sign it off;
then an anaesthetist's new assessment is evaluated on the new release with the tuning marked,
while an assessment signed before still replays identically on its own release. Each new
page is checked with axe-core: no serious or critical violation."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.engine import Level
from periop.drugs.models import LocalTuning
from periop.drugs.releases import active_release, release_bootstrap
from tests.e2e.test_plan_walk import level_of, no_serious_violations
from tests.knowledge_releases import knowledge_copy, set_rule_level, signed_assessments

pytestmark = [pytest.mark.e2e]

RULE = "mg-sugammadex-preferred"
CANDIDATE = "2026.12.1"
LOCAL_TEXT = "Call the on-call neuromuscular specialist, bleep 1234."


def _avoid_rule() -> str:
    return next(r.id for r in registry.get_knowledge_base().rules if r.level == Level.AVOID)


def test_a_changed_release_reviewed_activated_tuned_and_replayed(
    live_server: Any,
    signed_in: Any,
    department: Any,
    anesthetist: Any,
    department_admin: Any,
    consultant_reviewer: Any,
    pharmacist_reviewer: Any,
    artifacts: Any,
    tmp_path: Any,
    registry_restored: None,
) -> None:
    # The department's history: three signed assessments on the release in use, one of them
    # of a myasthenic patient given sugammadex (monitor under `mg-sugammadex-preferred`).
    first = release_bootstrap()
    assert first is not None
    old = signed_assessments(Actor.from_user(anesthetist), department)[0]
    assert old.knowledge_base_version == first.version
    # The candidate: the same knowledge base with that rule at adjust, imported as an
    # operator does.
    directory = knowledge_copy(tmp_path, CANDIDATE)
    set_rule_level(directory, RULE, "monitor", "adjust")
    call_command("knowledge_base", "import", "--path", str(directory), stdout=StringIO())

    # The consultant anaesthetist: the releases, the diff, the impact preview.
    page = signed_in(consultant_reviewer)
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Knowledge-base releases")).to_be_visible()
    page.get_by_role("link", name=CANDIDATE).click()
    rule = page.locator(f"#rule-{RULE}")
    expect(rule).to_contain_text("changed")
    expect(rule.locator(".level-change")).to_have_text("monitor → adjust")
    expect(rule).to_contain_text("Awaiting a consultant anaesthetist's sign-off")
    page.screenshot(path=str(artifacts / "governance-diff.png"), full_page=True)
    no_serious_violations(page, "release diff")

    page.get_by_role("link", name=re.compile("^Impact preview")).click()
    expect(page.get_by_role("heading", name=f"Impact of release {CANDIDATE}")).to_be_visible()
    expect(page.locator("dt:has-text('Would change') + dd")).to_have_text("1")
    expect(page.get_by_role("row", name=re.compile("^sugammadex"))).to_contain_text("monitor")
    # A reviewer without access to the patients sees the example de-identified.
    expect(page.get_by_role("region", name="Examples")).to_contain_text(
        f"sugammadex monitor → adjust (rules {RULE}); conditions: myasthenia-gravis"
    )
    page.screenshot(path=str(artifacts / "governance-impact.png"), full_page=True)
    no_serious_violations(page, "impact preview")

    page.get_by_role("link", name=f"Release {CANDIDATE}").click()
    page.get_by_role("button", name=f"Sign off {RULE} as consultant anaesthetist").click()
    expect(page.get_by_text(f"You signed off {RULE}.")).to_be_visible()
    # Not active yet: the pharmacist's sign-off is missing, and activation says so.
    page.get_by_role("button", name=f"Activate release {CANDIDATE}").click()
    expect(page.locator(".error-summary")).to_contain_text(RULE)
    assert active_release().version == first.version  # type: ignore[union-attr]

    # The clinical pharmacist signs off and activates.
    page = signed_in(pharmacist_reviewer)
    page.goto(f"{live_server.url}/knowledge-base/releases/{CANDIDATE}/")
    page.get_by_role("button", name=f"Sign off {RULE} as clinical pharmacist").click()
    expect(page.get_by_text(f"You signed off {RULE}.")).to_be_visible()
    expect(page.locator(f"#rule-{RULE}")).to_contain_text(
        "Signed off by kb-consultant (consultant anaesthetist)"
    )
    page.get_by_role("button", name=f"Activate release {CANDIDATE}").click()
    expect(page.get_by_text(f"Release {CANDIDATE} is now active.")).to_be_visible()
    assert active_release().version == CANDIDATE  # type: ignore[union-attr]
    assert registry.get_knowledge_base().release.version == CANDIDATE

    # The department administrator proposes a tuning: a floor first, refused on the form.
    page = signed_in(department_admin)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Local tunings").click()
    expect(page.get_by_role("heading", name="Local tunings")).to_be_visible()
    page.get_by_role("link", name="Propose a tuning").click()
    expect(page.get_by_role("heading", name="Propose a local tuning")).to_be_visible()
    no_serious_violations(page, "tuning form")
    avoid_rule = _avoid_rule()
    page.get_by_label("Rule").select_option(value=avoid_rule)
    page.get_by_label("Lower monitor to none").check()
    page.get_by_label("Reason").fill("Fewer alerts.")
    page.get_by_role("button", name="Propose the tuning").click()
    expect(page.locator(".error-summary")).to_contain_text(
        f"Rule {avoid_rule} gives avoid: contraindicated and avoid are never lowered locally."
    )
    expect(page.locator("#id_change_error")).to_contain_text("never lowered locally")
    page.screenshot(path=str(artifacts / "governance-tuning-floor.png"), full_page=True)
    no_serious_violations(page, "tuning form with a floor refused")
    assert not LocalTuning.objects.exists()

    page.get_by_label("Rule").select_option(value=RULE)
    page.get_by_label("Add local text").check()
    page.get_by_label("Local text", exact=True).fill(LOCAL_TEXT)
    page.get_by_label("Reason").fill("Local pathway for myasthenic patients.")
    page.get_by_role("button", name="Propose the tuning").click()
    expect(page.get_by_text(f"Tuning of {RULE} proposed")).to_be_visible()
    tuning = LocalTuning.objects.get()
    card = page.locator(f"#tuning-{tuning.pk}")
    expect(card.locator(".tuning-status")).to_have_text("Proposed")
    no_serious_violations(page, "tuning list")

    # Both reviewers sign it off, with a comment each.
    for reviewer, profession, comment in (
        (consultant_reviewer, "consultant anaesthetist", "Agreed for theatres."),
        (pharmacist_reviewer, "clinical pharmacist", "Pharmacy agrees."),
    ):
        page = signed_in(reviewer)
        page.goto(f"{live_server.url}/knowledge-base/releases/")
        page.get_by_role("link", name="Local tunings").first.click()
        card = page.locator(f"#tuning-{tuning.pk}")
        card.get_by_label("Comment").fill(comment)
        card.get_by_role("button", name=f"Sign off the tuning of {RULE} as {profession}").click()
        expect(page.get_by_text(f"You signed off the tuning of {RULE}.")).to_be_visible()
        expect(page.locator(f"#tuning-{tuning.pk}")).to_contain_text(comment)
    expect(page.locator(f"#tuning-{tuning.pk} .tuning-status")).to_have_text("In force")
    page.screenshot(path=str(artifacts / "governance-tuning-in-force.png"), full_page=True)
    no_serious_violations(page, "tuning in force")

    # The anaesthetist: a new assessment of the same patient uses the new release and shows
    # the tuned finding, marked.
    page = signed_in(anesthetist)
    page.goto(f"{live_server.url}/patients/{old.patient_id}/")
    page.get_by_role("link", name="Start an assessment").click()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page.get_by_label("Planned: date").fill(tomorrow.isoformat())
    page.get_by_label("Planned: time").fill("08:00")
    page.get_by_label("Planned procedure").fill("Laparoscopic cholecystectomy")
    page.get_by_label("Weight (kg)").fill("70")
    page.get_by_label("Sugammadex").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft assessment saved.")).to_be_visible()
    expect(page.locator("dt:has-text('Knowledge base') + dd")).to_have_text(CANDIDATE)
    assert level_of(page, "sugammadex") == "Adjust dose"
    expect(page.locator("#caution-sugammadex .locally-tuned").first).to_have_text(
        f"Local note: {LOCAL_TEXT}"
    )
    expect(page.locator("#caution-sugammadex")).to_contain_text(
        f"Locally tuned: Local pathway for myasthenic patients. ({department_admin.username}"
    )
    page.screenshot(path=str(artifacts / "governance-new-assessment.png"), full_page=True)

    # The assessment signed before still replays identically, on its own release.
    replay = page.request.get(f"{live_server.url}/api/v1/assessments/{old.pk}/replay")
    assert replay.status == 200
    body = replay.json()
    assert body["identical"] is True, body["differences"]
    assert body["differences"] == []
    assert body["knowledge_base"]["version"] == first.version
    assert body["knowledge_base"]["digest"] == first.digest
