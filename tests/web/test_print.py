"""The printed record: the plan first, then what it rests on (from the inputs as evaluated,
not today's record), the signature, and a banner on a superseded copy."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from periop.assessments.models import Assessment
from periop.assessments.services import assessment_amend, assessment_sign, caution_acknowledge
from periop.audit.services import Actor
from tests.factories import AssessmentFactory, PatientConditionFactory, PatientMedicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(patient, anesthetist):
    """Myasthenia gravis since 1 Mar 2020 (AChR) and a burn at an exact instant, on
    pyridostigmine since 1 Jul 2015; succinylcholine withheld, then signed."""
    PatientConditionFactory(
        patient=patient,
        code="myasthenia-gravis",
        onset_date=dt.date(2020, 3, 1),
        attributes={"antibody": "achr"},
    )
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=None,
        onset_at=dt.datetime(2026, 11, 26, 22, 0, tzinfo=dt.UTC),
        attributes={"tbsa_percent": 32},
    )
    PatientMedicationFactory(
        patient=patient, code="pyridostigmine", started_date=dt.date(2015, 7, 1)
    )
    assessment = AssessmentFactory(
        patient=patient,
        drugs=["succinylcholine", "rocuronium"],
        planned_at=timezone.now() + dt.timedelta(days=1),
        created_by=anesthetist,
    )
    actor = Actor.from_user(anesthetist)
    caution_acknowledge(
        actor=actor, assessment=assessment, drug="succinylcholine", decision="accepted"
    )
    return assessment_sign(actor=actor, assessment=Assessment.objects.get(pk=assessment.pk))


def printed(client, assessment):
    response = client.get(f"/assessments/{assessment.pk}/print")
    assert response.status_code == 200
    return response.content.decode()


def test_the_print_lists_the_conditions_and_medications_with_their_dates(
    anesthetist_browser, signed
):
    page = printed(anesthetist_browser, signed)

    basis = page[page.index("What the plan rests on") : page.index("Signature</h2>")]
    assert '<th scope="row">Myasthenia gravis<br>' in basis
    assert "Antibody: AChR" in basis
    assert "<td>01 Mar 2020</td><td>Current</td>" in basis
    # An exact instant is shown in the department's time zone (London: GMT in November).
    assert '<th scope="row">Burn injury<br>' in basis
    assert "<td>26 Nov 2026 22:00 GMT</td>" in basis
    assert '<th scope="row">Pyridostigmine</th><td>01 Jul 2015</td><td>Ongoing</td>' in basis


def test_the_print_shows_the_record_as_evaluated_not_as_changed_since(
    anesthetist_browser, signed, patient
):
    PatientMedicationFactory(patient=patient, code="phenytoin")

    page = printed(anesthetist_browser, signed)

    assert "Pyridostigmine" in page
    assert "Phenytoin" not in page


def test_the_plan_comes_before_what_it_rests_on_the_signature_and_the_details(
    anesthetist_browser, signed
):
    page = printed(anesthetist_browser, signed)

    order = ["<h2>Plan</h2>", "What the plan rests on", "Signature</h2>", "Cautions in detail"]
    assert [page.index(heading) for heading in order] == sorted(
        page.index(heading) for heading in order
    )


def test_the_signature_block_names_the_signer_the_time_and_the_sign_event_hash(
    anesthetist_browser, signed, anesthetist
):
    anesthetist.first_name, anesthetist.last_name = "Mary", "Seacole"
    anesthetist.save()

    page = printed(anesthetist_browser, signed)

    block = page[page.index("Signature</h2>") : page.index("Cautions in detail")]
    assert '<th scope="row">Signed by</th><td>Mary Seacole (dr-anesthetist)</td>' in block
    local = signed.signed_at.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert local.strftime("%d %b %Y %H:%M") in block
    assert signed.sign_event_hash in block


def test_the_print_gives_the_age_on_the_planned_day(anesthetist_browser, signed, patient):
    planned_day = signed.planned_at.astimezone(zoneinfo.ZoneInfo("Europe/London")).date()
    years = planned_day.year - patient.birth_date.year
    if (planned_day.month, planned_day.day) < (patient.birth_date.month, patient.birth_date.day):
        years -= 1

    page = printed(anesthetist_browser, signed)

    assert f"born {patient.birth_date:%-d %b %Y} (aged {years}), " in page


def test_every_printed_page_carries_the_patient(anesthetist_browser, signed, patient):
    page = printed(anesthetist_browser, signed)

    assert (
        '<p class="print-running-header" aria-hidden="true">Ada Lovelace · MRN MRN0000042 · '
        f"born {patient.birth_date:%-d %b %Y} · signed assessment {signed.pk}</p>"
    ) in page


def test_a_current_print_has_no_superseded_banner(anesthetist_browser, signed):
    assert "Superseded:" not in printed(anesthetist_browser, signed)


def test_a_superseded_print_names_its_successor(anesthetist_browser, signed, anesthetist):
    amendment = assessment_amend(
        actor=Actor.from_user(anesthetist), assessment=signed, reason="New potassium result."
    )

    page = printed(anesthetist_browser, signed)

    assert (
        f"<strong>Superseded:</strong> this plan was amended by assessment {amendment.pk}, "
        f"a draft not yet signed. Do not use this copy: use assessment {amendment.pk}."
    ) in page
    assert f'href="/assessments/{amendment.pk}/">Open assessment {amendment.pk}</a>' in page
    # The banner comes before the plan.
    assert page.index("Superseded:") < page.index("<h2>Plan</h2>")


def test_a_withheld_drug_is_in_the_plan_but_has_no_detailed_card(anesthetist_browser, signed):
    page = printed(anesthetist_browser, signed)

    assert 'id="plan-succinylcholine"' in page
    assert "Succinylcholine (suxamethonium): CONTRAINDICATED" not in page
    assert "Rocuronium: " in page


def test_a_summary_that_only_repeats_a_finding_is_printed_once(
    anesthetist_browser, patient, anesthetist
):
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=None,
        onset_at=timezone.now() - dt.timedelta(days=4),
        attributes={"tbsa_percent": 32},
    )
    assessment = AssessmentFactory(
        patient=patient,
        drugs=["succinylcholine"],
        planned_at=timezone.now() + dt.timedelta(days=1),
        created_by=anesthetist,
    )
    actor = Actor.from_user(anesthetist)
    caution_acknowledge(
        actor=actor,
        assessment=assessment,
        drug="succinylcholine",
        decision="overridden",
        reason_code="no-alternative",
    )
    signed = assessment_sign(actor=actor, assessment=Assessment.objects.get(pk=assessment.pk))
    page = printed(anesthetist_browser, signed)

    card = page[page.index("Succinylcholine (suxamethonium): CONTRAINDICATED") :]
    card = card[: card.index("</section>")]
    summary = "risk of lethal hyperkalaemia"
    assert card.count(summary) == 1


def test_the_header_separates_the_caution_before_decisions_from_the_plans(
    anesthetist_browser, signed
):
    page = printed(anesthetist_browser, signed)

    header = page[page.index('class="record-table record-table--facts"') : page.index("<h2>Plan")]
    # Succinylcholine (burn) set the first evaluation at contraindicated; it is withheld, so
    # the plan's highest caution is rocuronium's in myasthenia.
    assert '<th scope="row">Highest caution before decisions</th><td>Contraindicated</td>' in header
    assert (
        '<th scope="row">Highest caution in the plan</th><td>Adjust dose (drugs given)</td>'
        in header
    )
    assert '<th scope="row">Highest caution</th>' not in header


def test_the_signed_page_separates_the_caution_before_decisions_from_the_plans(
    anesthetist_browser, signed
):
    response = anesthetist_browser.get(f"/assessments/{signed.pk}/")
    page = response.content.decode()

    summary = page[page.index('class="panel-summary"') : page.index("Receptor state:")]
    assert "Highest caution before decisions:</strong>" in summary
    assert 'level--contraindicated">Contraindicated</span>' in summary
    assert "Highest caution in the plan</strong>" in summary
    assert 'level--adjust">Adjust dose</span>' in summary
