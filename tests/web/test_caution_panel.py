"""How the caution panel reads to a clinician: doses in mg/kg and in mg for the weight used,
and every reference the text cites by id listed under that id."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from periop.assessments.models import Assessment
from periop.assessments.services import assessment_sign, caution_acknowledge
from periop.audit.services import Actor
from periop.web.presenters import weight_display
from tests.factories import AssessmentFactory, PatientConditionFactory
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def myasthenic(patient):
    PatientConditionFactory(
        patient=patient, code="myasthenia-gravis", attributes={"antibody": "achr"}
    )
    return patient


@pytest.fixture
def myasthenic_after_stroke(myasthenic):
    PatientConditionFactory(
        patient=myasthenic,
        code="stroke",
        onset_date=timezone.localdate() - dt.timedelta(days=10),
    )
    return myasthenic


def preview(client, patient, **form):
    response = client.post(
        f"/patients/{patient.pk}/assessments/preview",
        tomorrow_form(**form),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("weight", "shown"),
    [(Decimal("70.00"), "70"), (Decimal("70.50"), "70.5"), ("0.3", "0.3"), (None, "")],
)
def test_a_weight_is_shown_without_trailing_zeros(weight, shown):
    assert weight_display(weight) == shown


def test_the_dose_shows_mg_per_kg_the_weight_and_mg(anesthetist_browser, myasthenic):
    page = preview(anesthetist_browser, myasthenic, drugs=["rocuronium"], weight_kg="70.0")

    assert "0.5 to 0.6 mg/kg \N{MULTIPLICATION SIGN} 70 kg = <strong>35 to 42 mg</strong>" in page


def test_without_a_weight_the_dose_asks_for_it(anesthetist_browser, myasthenic):
    page = preview(anesthetist_browser, myasthenic, drugs=["rocuronium"], weight_kg="")

    assert "0.5 to 0.6 mg/kg (enter the weight for mg)" in page


def test_citations_are_led_by_the_id_the_text_uses(anesthetist_browser, myasthenic):
    page = preview(anesthetist_browser, myasthenic, drugs=["rocuronium"])

    assert '<span class="reference-id">S19</span> Eisenkraft JB' in page


def test_references_cited_only_in_the_text_are_listed_too(
    anesthetist_browser, myasthenic_after_stroke
):
    page = preview(anesthetist_browser, myasthenic_after_stroke, drugs=["succinylcholine"])

    card = page[page.index('id="caution-succinylcholine"') :]
    assert "(S16b)" in card  # the monitoring advice cites it by id...
    # ...and it is listed: since the citation audit of 2026-11-29 the rule cites it itself.
    assert '<span class="reference-id">S16b</span>' in card


def test_the_print_view_labels_the_dose_and_lists_every_cited_reference(
    anesthetist_browser, myasthenic_after_stroke, anesthetist
):
    actor = Actor.from_user(anesthetist)
    assessment = AssessmentFactory(
        patient=myasthenic_after_stroke,
        drugs=["succinylcholine", "rocuronium"],
        weight_kg=Decimal("70.00"),
        created_by=anesthetist,
    )
    caution_acknowledge(
        actor=actor,
        assessment=assessment,
        drug="succinylcholine",
        decision="overridden",
        reason_code="no-alternative",
    )
    assessment_sign(actor=actor, assessment=assessment)

    page = anesthetist_browser.get(f"/assessments/{assessment.pk}/print").content.decode()

    assert '<th scope="row">Weight</th><td>70 kg</td>' in page
    assert "<strong>Dose:</strong> Findings pull in opposite directions" in page
    assert "[S16b] " in page
    assert "[S24] " in page
    assert "[S25] " in page


def test_a_contraindicated_card_leads_with_do_not_give_and_keeps_titration_for_an_override(
    anesthetist_browser, myasthenic_after_stroke
):
    # §4.2, stroke with motor deficit: SUX CI from 72 hours; §5, MG x SUX: DA. The card says
    # first what to do instead; the dose, monitoring and reversal sit under "Only if given after
    # an override", never beside "Do not give" on their own.
    page = preview(
        anesthetist_browser, myasthenic_after_stroke, drugs=["succinylcholine"], weight_kg="70"
    )

    card = page[page.index('id="caution-succinylcholine"') :]
    card = card[: card.index("</article>")]
    instead = card.index("Do not give succinylcholine (suxamethonium).")
    override = card.index("Only if given after an override")
    assert instead < card.index('class="caution-card__summary"') < override
    assert card.index("<strong>Monitoring:</strong>") > override
    assert "titrate" not in card[:override].lower()
    # The myasthenic resistance (adjust) is a milder finding: it applies only if given.
    milder = card.index("Milder findings, which apply if it is given")
    assert override < milder < card.index("Myasthenia gravis: resistance to succinylcholine")


def test_an_adjust_card_shows_the_dose_for_this_patient_without_an_override_label(
    anesthetist_browser, myasthenic
):
    # §5, MG generalised x AMINO: DA (A: S19; B: S24; C: S28).
    page = preview(anesthetist_browser, myasthenic, drugs=["rocuronium"], weight_kg="70")

    card = page[page.index('id="caution-rocuronium"') :]
    card = card[: card.index("</article>")]
    assert "Dose for this patient" in card
    assert "Only if given after an override" not in card
    assert "caution-card__instead" not in card


def test_a_stored_caution_without_findings_is_shown_and_says_the_record_lacks_them(
    anesthetist_browser, myasthenic_after_stroke, anesthetist
):
    assessment = AssessmentFactory(
        patient=myasthenic_after_stroke,
        drugs=["succinylcholine", "rocuronium"],
        created_by=anesthetist,
    )
    # The shape older demo data stored (no service writes it): each caution's drug, class,
    # level, conflict and effects, without its findings, summary, dose or monitoring.
    stored = json.loads(assessment.cautions_snapshot)
    keep = ("drug", "drug_class", "level", "conflict", "effects")
    abbreviated = {
        "seeded": True,
        "knowledge_base": stored["knowledge_base"],
        "cautions": [{key: caution[key] for key in keep} for caution in stored["cautions"]],
    }
    Assessment.objects.filter(pk=assessment.pk).update(cautions_snapshot=json.dumps(abbreviated))
    draft = anesthetist_browser.get(f"/assessments/{assessment.pk}/")
    actor = Actor.from_user(anesthetist)
    caution_acknowledge(
        actor=actor,
        assessment=assessment,
        drug="succinylcholine",
        decision="accepted",
    )
    assessment_sign(actor=actor, assessment=assessment)
    signed = anesthetist_browser.get(f"/assessments/{assessment.pk}/")
    # The paper shows the signed plan's cards, evaluated with their findings.
    assert anesthetist_browser.get(f"/assessments/{assessment.pk}/print").status_code == 200

    for response in (draft, signed):
        assert response.status_code == 200
        page = response.content.decode()
        cards = {card.drug: card for card in response.context["panel"].cards}
        assert cards["rocuronium"].findings == ()
        assert cards["rocuronium"].findings_missing
        assert page.count("The stored record of this caution holds no findings") == len(cards)
    card = next(c for c in draft.context["panel"].cards if c.drug == "succinylcholine")
    assert card.level == "contraindicated"
    assert draft.context["panel"].highest_level == "contraindicated"
    assert "Receptor state:</strong> not stored with this record" in draft.content.decode()
