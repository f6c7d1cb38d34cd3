"""The plan in the browser: a decision form per drug, the plan summary, and the same rules
(and messages) as the API."""

import re

import pytest

from periop.assessments.models import Acknowledgement
from tests.api.test_assessment_plan import DRUGS, create, decide, without_caution
from tests.api.test_assessment_plan import patient as plan_patient  # noqa: F401
from tests.conftest import client_for, nothing_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(anesthetist, plan_patient):  # noqa: F811
    return create(client_for(anesthetist), plan_patient)


def post_decision(browser, draft, drug, decision, **fields):
    data = {"drug": drug, "revision": draft["revision"], f"ack-{drug}-decision": decision}
    data.update({f"ack-{drug}-{name}": value for name, value in fields.items()})
    return browser.post(f"/assessments/{draft['id']}/acknowledge", data)


def test_every_undecided_drug_has_a_decision_form_offering_what_its_level_allows(
    anesthetist_browser, draft
):
    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")
    page = response.content.decode()
    cards = {card.drug: card for card in response.context["panel"].cards}

    assert set(cards) == set(DRUGS)
    succinylcholine = [
        value for value, _ in cards["succinylcholine"].form["decision"].field.choices
    ]
    assert succinylcholine == ["withhold", "override"]
    sugammadex = [value for value, _ in cards["sugammadex"].form["decision"].field.choices]
    assert "override" not in sugammadex
    assert "give" in sugammadex
    # The plan summary comes first, one line per drug.
    assert page.index('id="plan-heading"') < page.index('id="cautions-heading"')
    for drug in DRUGS:
        assert f'id="plan-{drug}"' in page


def test_withholding_in_the_browser_lowers_rocuronium_without_an_override(
    anesthetist_browser, draft
):
    assert post_decision(anesthetist_browser, draft, "gentamicin", "withhold").status_code == 302
    assert (
        post_decision(anesthetist_browser, draft, "magnesium-sulfate", "withhold").status_code
        == 302
    )

    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")

    rows = {row.drug: row for row in response.context["plan_rows"]}
    assert rows["rocuronium"].level not in {"contraindicated", "avoid"}
    assert rows["rocuronium"].level_change.startswith("Was avoid: ")
    assert rows["gentamicin"].decision_label.startswith("Withhold")
    assert rows["gentamicin"].dose == "Not given"
    assert "Was avoid: " in response.content.decode()


@pytest.mark.parametrize(
    ("drug", "decision", "fields", "field"),
    [
        ("succinylcholine", "override", {}, "reason_code"),
        ("succinylcholine", "override", {"reason_code": "other-documented"}, "comment"),
        ("sugammadex", "override", {"reason_code": "no-alternative"}, "decision"),
        # With gentamicin and magnesium still planned, vecuronium is avoid in myasthenia.
        ("succinylcholine", "withhold", {"alternative": "vecuronium"}, "alternative"),
        ("sugammadex", "give", {"dose_mg": "200"}, "dose_mg"),
    ],
)
def test_the_form_and_the_api_refuse_the_same_decision_with_the_same_message(
    anesthetist, anesthetist_browser, draft, drug, decision, fields, field
):
    with nothing_changes(reads_allowed=True):
        page = post_decision(anesthetist_browser, draft, drug, decision, **fields)
        api = decide(client_for(anesthetist), draft, drug, decision, **fields)

    assert page.status_code == api.status_code == 400
    card = next(c for c in page.context["panel"].cards if c.drug == drug)
    assert card.form.errors[field] == api.json()[field]
    assert not Acknowledgement.objects.exists()


def test_a_decided_drug_shows_its_decision_and_a_change_form_filled_with_it(
    anesthetist_browser, draft
):
    post_decision(
        anesthetist_browser,
        draft,
        "succinylcholine",
        "override",
        reason_code="other-documented",
        comment="Rapid sequence induction.",
        dose_mg="100",
    )

    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")

    page = response.content.decode()
    card = next(c for c in response.context["panel"].cards if c.drug == "succinylcholine")
    assert "Override: given despite the caution" in page
    assert "Change decision" in page
    assert card.form["decision"].value() == "override"
    assert card.form["reason_code"].value() == "other-documented"
    assert card.form["comment"].value() == "Rapid sequence induction."
    assert card.form["dose_mg"].value() == "100"
    # The change form's radio for the current decision is checked.
    assert re.search(r'name="ack-succinylcholine-decision" value="override"[^>]*checked', page)


def test_changing_a_decision_in_the_browser_replaces_it_and_lists_the_old_one(
    anesthetist_browser, draft
):
    post_decision(anesthetist_browser, draft, "succinylcholine", "withhold")

    changed = post_decision(
        anesthetist_browser,
        draft,
        "succinylcholine",
        "override",
        reason_code="no-alternative",
    )

    assert changed.status_code == 302
    response = anesthetist_browser.get(changed.url)
    page = response.content.decode()
    assert "Decision changed." in page
    rows = {row.drug: row for row in response.context["plan_rows"]}
    assert rows["succinylcholine"].decision == "override"
    assert "Earlier decisions, replaced:" in page
    assert "Withheld: will not be given by dr-anesthetist" in page
    assert Acknowledgement.objects.filter(drug="succinylcholine").count() == 2


def test_an_outdated_decision_says_to_decide_again(anesthetist_browser, draft):
    for drug in ("gentamicin", "magnesium-sulfate"):
        post_decision(anesthetist_browser, draft, drug, "withhold")
    post_decision(anesthetist_browser, draft, "rocuronium", "give-adjusted")
    for drug in ("gentamicin", "magnesium-sulfate"):
        post_decision(anesthetist_browser, draft, drug, "override", reason_code="no-alternative")

    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")

    rows = {row.drug: row for row in response.context["plan_rows"]}
    assert rows["rocuronium"].level == "avoid"
    assert rows["rocuronium"].decision_label.startswith("Decide again before signing")
    assert "Rocuronium" in response.context["pending"]
    # Deciding it again offers what avoid allows.
    card = next(c for c in response.context["panel"].cards if c.drug == "rocuronium")
    assert [value for value, _ in card.form["decision"].field.choices] == [
        "withhold",
        "override",
    ]


def test_a_drug_the_stored_evaluation_lacks_is_named_and_neither_decided_nor_signed(
    anesthetist, anesthetist_browser, draft
):
    without_caution(draft, "gentamicin")
    message = (
        f"The stored evaluation of assessment {draft['id']} holds no caution for gentamicin: "
        "edit the assessment so that its cautions are evaluated and stored again."
    )

    page = anesthetist_browser.get(f"/assessments/{draft['id']}/")
    assert page.status_code == 200
    notice = page.content.decode()
    assert "The stored evaluation holds no caution for Gentamicin." in notice
    assert 'id="plan-gentamicin"' in notice  # its plan line is kept
    with nothing_changes(reads_allowed=True):
        refused = post_decision(anesthetist_browser, draft, "gentamicin", "withhold")
        api = decide(client_for(anesthetist), draft, "gentamicin", "withhold")
        signed = anesthetist_browser.post(
            f"/assessments/{draft['id']}/sign", {"revision": draft["revision"]}
        )

    assert refused.status_code == api.status_code == 400
    # No card to show the form in: the service's message heads the page.
    assert refused.context["page_errors"] == [message] == api.json()["drug"]
    assert signed.status_code == 409
    assert signed.context["sign_error"] == message
    assert not Acknowledgement.objects.exists()
