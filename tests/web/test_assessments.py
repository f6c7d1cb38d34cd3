"""The assessment form and its live panel, acknowledgements, signing, amendment, printing."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.models import Acknowledgement, Assessment
from periop.audit.services import Actor
from tests.conftest import nothing_changes
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
)
from tests.web.conftest import events, tomorrow_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def myasthenic_after_stroke(patient):
    """Myasthenia gravis, and a stroke ten days ago: succinylcholine is contraindicated."""
    PatientConditionFactory(patient=patient, code="myasthenia-gravis", attributes={})
    PatientConditionFactory(
        patient=patient,
        code="stroke",
        onset_date=timezone.localdate() - dt.timedelta(days=10),
        attributes={},
    )
    return patient


@pytest.fixture
def draft(myasthenic_after_stroke, anesthetist):
    return AssessmentFactory(
        patient=myasthenic_after_stroke,
        drugs=["succinylcholine", "rocuronium"],
        created_by=anesthetist,
    )


def override(client, assessment, drug, **fields):
    data = {
        "drug": drug,
        "revision": assessment.revision,
        f"ack-{drug}-decision": "override",
        f"ack-{drug}-reason_code": "no-alternative",
        f"ack-{drug}-comment": "Rapid sequence needed.",
    }
    data.update(fields)
    return client.post(f"/assessments/{assessment.pk}/acknowledge", data)


def test_the_form_groups_planned_drugs_by_class(anesthetist_browser, patient):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    order = [
        "Depolarising neuromuscular blockers",
        "Non-depolarising neuromuscular blockers",
        "Antibiotics",
        "Magnesium",
        "Reversal agents",
        "Chronic neuromuscular-junction drugs",
    ]
    positions = [page.index(f"<legend>{label}</legend>") for label in order]
    assert positions == sorted(positions)
    assert f'hx-post="/patients/{patient.pk}/assessments/preview"' in page


def test_the_preview_shows_cautions_live_without_saving(
    anesthetist_browser, myasthenic_after_stroke
):
    response = anesthetist_browser.post(
        f"/patients/{myasthenic_after_stroke.pk}/assessments/preview",
        tomorrow_form(),
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="caution-succinylcholine"' in page
    assert "Contraindicated" in page
    assert "Condition: Stroke" in page
    # The contraindicated card never offers the myasthenic 1.5-2 mg/kg (105 to 140 mg) dose.
    assert "105 to 140 mg" not in page
    assert 'href="https://' in page  # references link to their sources
    assert not Assessment.objects.exists()
    (event,) = events("read", resource_type="patient")
    assert '"succinylcholine":"contraindicated"' in event.payload


def test_an_auditor_cannot_run_a_drug_check_through_the_preview(
    auditor_browser, myasthenic_after_stroke
):
    # Auditors read records; they do not check drugs, here as in the API (review F16).
    with nothing_changes():
        response = auditor_browser.post(
            f"/patients/{myasthenic_after_stroke.pk}/assessments/preview",
            tomorrow_form(),
            headers={"HX-Request": "true"},
        )

    assert response.status_code == 403
    assert 'id="caution-succinylcholine"' not in response.content.decode()


def test_a_pharmacist_runs_the_preview_as_in_the_api(pharmacist, myasthenic_after_stroke):
    browser = Client()
    browser.force_login(pharmacist)

    response = browser.post(
        f"/patients/{myasthenic_after_stroke.pk}/assessments/preview", tomorrow_form()
    )

    assert response.status_code == 200
    assert 'id="caution-succinylcholine"' in response.content.decode()


def test_a_patient_of_another_department_cannot_get_an_assessment_filed_here(
    pharmacist, patient, other_department
):
    # Review F5 on the pages: a pharmacist of the patient's department who is an anaesthetist
    # elsewhere cannot file the patient's assessment from either department.
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ANESTHETIST)
    browser = Client()
    browser.force_login(pharmacist)
    path = f"/patients/{patient.pk}/assessments/new"

    browser.post("/department", {"department": other_department.pk})
    with nothing_changes(reads_allowed=True):
        elsewhere = browser.post(path, tomorrow_form())
    browser.post("/department", {"department": patient.department_id})
    with nothing_changes(reads_allowed=True):
        at_home = browser.post(path, tomorrow_form())

    assert (elsewhere.status_code, at_home.status_code) == (404, 403)
    assert not Assessment.objects.exists()


def test_the_preview_says_what_is_missing(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/assessments/preview", {"planned_date": "", "drugs": []}
    )

    page = response.content.decode()
    assert "Enter the planned date and time." in page
    assert "Choose at least one planned drug." in page
    assert not events("read")


def test_without_javascript_the_cautions_are_checked_without_saving(
    anesthetist_browser, myasthenic_after_stroke
):
    response = anesthetist_browser.post(
        f"/patients/{myasthenic_after_stroke.pk}/assessments/new",
        tomorrow_form(check="1"),
    )

    assert response.status_code == 200
    assert 'id="caution-succinylcholine"' in response.content.decode()
    assert not Assessment.objects.exists()


def test_saving_a_draft_opens_it_with_its_cautions(anesthetist_browser, myasthenic_after_stroke):
    response = anesthetist_browser.post(
        f"/patients/{myasthenic_after_stroke.pk}/assessments/new", tomorrow_form()
    )

    assessment = Assessment.objects.get()
    assert response["Location"] == f"/assessments/{assessment.pk}/"
    assert assessment.drugs == ["succinylcholine", "rocuronium"]
    assert assessment.planned_at.astimezone(dt.UTC).hour in {8, 7}  # 08:30 in London


def test_form_errors_are_next_to_their_fields_and_nothing_typed_is_lost(
    anesthetist_browser, patient
):
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            f"/patients/{patient.pk}/assessments/new",
            tomorrow_form(weight_kg="700", procedure="", planned_time="", drugs=["rocuronium"]),
        )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["weight_kg"] == ["Weight must be between 0.3 and 400 kg."]
    assert errors["procedure"] == ["This field is required."]
    assert errors["planned_time"] == ["Give the planned time."]
    page = response.content.decode()
    assert 'value="700"' in page
    assert 'value="rocuronium" id="drug-rocuronium" checked' in page
    assert not Assessment.objects.exists()


def test_no_planned_drug_is_explained(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/assessments/new", tomorrow_form(drugs=[])
    )

    assert response.context["form"].errors == {"drugs": ["Choose at least one planned drug."]}


def test_signing_is_disabled_until_every_caution_is_acknowledged(anesthetist_browser, draft):
    page = anesthetist_browser.get(f"/assessments/{draft.pk}/").content.decode()

    assert "Signing is not possible yet." in page
    assert 'disabled aria-describedby="sign-blocked"' in page
    assert "<li>Succinylcholine (suxamethonium)</li>" in page
    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            f"/assessments/{draft.pk}/sign", {"revision": draft.revision}
        )
    assert response.status_code == 409
    assert "Acknowledge the caution for succinylcholine before signing." in (
        response.content.decode()
    )


def test_an_override_needs_a_reason_shown_next_to_the_reason(anesthetist_browser, draft):
    response = override(
        anesthetist_browser, draft, "succinylcholine", **{"ack-succinylcholine-reason_code": ""}
    )

    assert response.status_code == 400
    card = next(c for c in response.context["panel"].cards if c.drug == "succinylcholine")
    assert card.form.errors == {"reason_code": ["Give a reason code to override a caution."]}
    assert "Rapid sequence needed." in response.content.decode()
    assert not Acknowledgement.objects.exists()


def test_a_reason_that_needs_a_comment_says_so(anesthetist_browser, draft):
    response = override(
        anesthetist_browser,
        draft,
        "succinylcholine",
        **{
            "ack-succinylcholine-reason_code": "other-documented",
            "ack-succinylcholine-comment": "",
        },
    )

    card = next(c for c in response.context["panel"].cards if c.drug == "succinylcholine")
    assert card.form.errors == {
        "comment": ["Explain in a comment why the reason is 'other-documented'."]
    }


def test_a_caution_that_needs_no_acknowledgement_is_refused_plainly(anesthetist_browser, draft):
    response = override(anesthetist_browser, draft, "rocuronium")

    assert response.status_code == 400
    assert "an override is only for a contraindicated or avoid caution" in (
        response.content.decode()
    )


def test_override_sign_print_and_amend(anesthetist_browser, draft):
    assert override(anesthetist_browser, draft, "succinylcholine").status_code == 302
    assert events("override")

    signed = anesthetist_browser.post(f"/assessments/{draft.pk}/sign", {"revision": 1})
    assert signed.status_code == 302
    draft.refresh_from_db()
    assert draft.is_signed

    printed = anesthetist_browser.get(f"/assessments/{draft.pk}/print")
    page = printed.content.decode()
    assert printed.status_code == 200
    assert draft.sign_event_hash in page
    assert draft.knowledge_base_digest in page
    assert "Ada Lovelace, MRN MRN0000042" in page
    assert "Override: given despite the caution</strong> by dr-anesthetist" in page
    assert "<h2>References</h2>" in page
    (event,) = events("print")
    assert event.resource_id == str(draft.pk)

    amended = anesthetist_browser.post(f"/assessments/{draft.pk}/amend", {"reason": "New labs."})
    amendment = Assessment.objects.get(supersedes=draft)
    assert amended["Location"] == f"/assessments/{amendment.pk}/"


def test_amending_needs_a_reason(anesthetist_browser, draft, anesthetist):
    from periop.assessments.services import assessment_sign, caution_acknowledge

    actor = Actor.from_user(anesthetist)
    caution_acknowledge(actor=actor, assessment=draft, drug="succinylcholine", decision="accepted")
    assessment_sign(actor=actor, assessment=draft)

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(f"/assessments/{draft.pk}/amend", {"reason": ""})

    assert response.status_code == 400
    assert "Say why the signed assessment is being amended." in response.content.decode()


def test_a_draft_cannot_be_printed(anesthetist_browser, draft):
    response = anesthetist_browser.get(f"/assessments/{draft.pk}/print", follow=True)

    assert "Only a signed assessment can be printed." in response.content.decode()
    assert not events("print")


def test_editing_a_draft_re_evaluates_it(anesthetist_browser, draft):
    form = anesthetist_browser.get(f"/assessments/{draft.pk}/edit")
    assert 'value="succinylcholine" id="drug-succinylcholine" checked' in form.content.decode()

    response = anesthetist_browser.post(
        f"/assessments/{draft.pk}/edit", tomorrow_form(drugs=["rocuronium"], revision=1)
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.revision == 2
    assert draft.acknowledgement_required == []


def test_an_edit_of_a_stale_revision_keeps_what_was_typed(anesthetist_browser, draft):
    anesthetist_browser.post(f"/assessments/{draft.pk}/edit", tomorrow_form(revision=1))

    with nothing_changes(reads_allowed=True):
        response = anesthetist_browser.post(
            f"/assessments/{draft.pk}/edit", tomorrow_form(procedure="Sternotomy", revision=1)
        )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone changed this assessment after you opened it." in page
    assert 'value="Sternotomy"' in page


def test_an_auditor_reads_but_cannot_act(auditor_browser, draft):
    page = auditor_browser.get(f"/assessments/{draft.pk}/").content.decode()
    assert "Record decision" not in page

    for url in ("edit", "sign", "amend", "acknowledge"):
        assert auditor_browser.post(f"/assessments/{draft.pk}/{url}").status_code == 403
    assert auditor_browser.get(f"/patients/{draft.patient_id}/assessments/new").status_code == 403


def test_an_assessment_of_another_department_is_not_found(anesthetist_browser, other_department):
    elsewhere = AssessmentFactory(patient=PatientFactory(department=other_department))

    for url in ("", "edit", "print"):
        assert anesthetist_browser.get(f"/assessments/{elsewhere.pk}/{url}").status_code == 404
    with nothing_changes(reads_allowed=True):
        assert anesthetist_browser.post(f"/assessments/{elsewhere.pk}/sign").status_code == 404


def test_reading_an_assessment_is_audited(anesthetist_browser, draft):
    anesthetist_browser.get(f"/assessments/{draft.pk}/")

    (event,) = events("read", resource_type="assessment")
    assert event.resource_id == str(draft.pk)


def test_the_live_panel_opens_with_one_line_per_drug(anesthetist_browser, myasthenic_after_stroke):
    # At tablet width the cards sit far below the form: the lines at the top of the panel say
    # for each drug its level and what to do, linking to its card.
    response = anesthetist_browser.post(
        f"/patients/{myasthenic_after_stroke.pk}/assessments/preview",
        tomorrow_form(),
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    lines = page[page.index('class="plan-summary panel-lines"') : page.index("</table>")]
    assert lines.index("#caution-succinylcholine") < lines.index("#caution-rocuronium")
    assert "Do not give succinylcholine" in lines
    assert page.index("panel-lines") < page.index('id="caution-succinylcholine"')
