"""An amended assessment is marked as superseded wherever it is listed, and the patient page
shows the current plans by default."""

import pytest

from periop.assessments.services import (
    assessment_amend,
    assessment_sign,
    caution_acknowledge,
)
from periop.audit.services import Actor
from tests.conftest import client_for
from tests.factories import AssessmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def amended(patient, anesthetist):
    """A signed assessment and the draft that amends it."""
    actor = Actor.from_user(anesthetist)
    original = AssessmentFactory(patient=patient, drugs=["sugammadex"], created_by=anesthetist)
    for item in original.acknowledgement_required:
        caution_acknowledge(
            actor=actor, assessment=original, drug=item["drug"], decision="accepted"
        )
    original = assessment_sign(actor=actor, assessment=original)
    amendment = assessment_amend(actor=actor, assessment=original, reason="Weight corrected.")
    return original, amendment


def test_the_patient_page_shows_current_plans_and_counts_the_superseded(
    anesthetist_browser, patient, amended
):
    original, amendment = amended

    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()

    assert f'href="/assessments/{amendment.pk}/"' in page
    assert f'href="/assessments/{original.pk}/"' not in page
    assert "1 superseded version not shown" in page


def test_all_versions_are_listed_on_request_with_the_superseded_one_marked(
    anesthetist_browser, patient, amended
):
    original, amendment = amended

    page = anesthetist_browser.get(f"/patients/{patient.pk}/?assessments=all").content.decode()

    assert f'href="/assessments/{original.pk}/"' in page
    assert f'<strong>Superseded</strong> by <a href="/assessments/{amendment.pk}/">' in page


def test_the_assessment_page_of_a_superseded_one_names_its_successor(anesthetist_browser, amended):
    original, amendment = amended

    page = anesthetist_browser.get(f"/assessments/{original.pk}/").content.decode()

    assert f'Amended by <a href="/assessments/{amendment.pk}/">' in page


def test_the_api_list_marks_the_superseded_assessment(anesthetist, patient, amended):
    original, amendment = amended

    results = client_for(anesthetist).get("/api/v1/assessments", {"patient": patient.pk}).json()

    marked = {row["id"]: row["superseded_by"] for row in results["results"]}
    assert marked == {original.pk: amendment.pk, amendment.pk: None}
