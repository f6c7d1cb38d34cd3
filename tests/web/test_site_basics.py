"""What every page needs and nobody asks for: an icon, an answer to HEAD, and links that
lead somewhere (never to Django's "page not found" with its list of URL patterns)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import Resolver404, resolve

from periop.assessments.services import assessment_sign, caution_acknowledge
from periop.audit.services import Actor
from tests.factories import AssessmentFactory, PatientConditionFactory, PatientMedicationFactory

pytestmark = pytest.mark.django_db

STYLESHEET = Path(finders.find("periop/periop.css"))
HREF = re.compile(r'href="([^"]*)"')


def test_every_page_names_the_local_icon(anesthetist_browser):
    page = anesthetist_browser.get("/").content.decode()

    assert '<link rel="icon" href="/static/periop/favicon.svg" type="image/svg+xml">' in page


def test_the_icon_is_a_local_svg_in_the_pages_colours():
    icon = Path(finders.find("periop/favicon.svg")).read_text()
    root = STYLESHEET.read_text().split(":root {", 1)[1].split("}", 1)[0]

    assert icon.startswith("<svg ")
    assert "http://www.w3.org/2000/svg" in icon  # its namespace, not a download
    assert "href" not in icon
    colours = set(re.findall(r"#[0-9a-fA-F]{6}", icon))
    assert colours
    assert colours <= set(re.findall(r"#[0-9a-fA-F]{6}", root))


def test_favicon_ico_leads_to_the_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/periop/favicon.svg"


def test_head_is_answered_on_the_start_and_login_pages(client):
    assert client.head("/").status_code == 302
    assert client.head("/login").status_code == 200


def internal_links_resolve(page: str) -> list[str]:
    """Every href of the page: absolute web addresses, fragments, or paths of this site that
    a URL pattern answers. Returns the ones that are none of these."""
    broken = []
    for href in HREF.findall(page):
        if href.startswith(("https://", "http://", "#", "?")):
            continue  # another site, or this page (a fragment, other filters)
        if not href.startswith("/"):
            broken.append(href)
            continue
        path = href.split("#")[0].split("?")[0]
        if path.startswith("/static/"):
            continue
        try:
            resolve(path)
        except Resolver404:
            broken.append(href)
    return broken


def test_no_link_of_the_clinical_pages_leads_to_a_page_that_does_not_exist(
    anesthetist_browser, patient, anesthetist
):
    # Many cautions, so that many references (PMIDs, DOIs, web addresses) are cited.
    PatientConditionFactory(patient=patient, code="myasthenia-gravis", attributes={})
    PatientConditionFactory(patient=patient, code="burn", attributes={"tbsa_percent": 30})
    PatientMedicationFactory(patient=patient, code="pyridostigmine")
    assessment = AssessmentFactory(
        patient=patient,
        drugs=["succinylcholine", "rocuronium", "sugammadex", "gentamicin", "magnesium-sulfate"],
        created_by=anesthetist,
    )
    actor = Actor.from_user(anesthetist)
    for item in assessment.acknowledgement_required:
        caution_acknowledge(
            actor=actor, assessment=assessment, drug=item["drug"], decision="accepted"
        )
    assessment.refresh_from_db()
    assessment_sign(actor=actor, assessment=assessment)

    pages = {
        url: anesthetist_browser.get(url).content.decode()
        for url in (
            "/",
            f"/patients/{patient.pk}/",
            f"/assessments/{assessment.pk}/",
            f"/assessments/{assessment.pk}/print",
            f"/patients/{patient.pk}/assessments/new",
        )
    }

    assert "Open source" in pages[f"/assessments/{assessment.pk}/"]
    # Among them, identifiers that used to be relative links (doi:..., PMID ...).
    assert 'href="https://doi.org/10.' in pages[f"/assessments/{assessment.pk}/"]
    for url, page in pages.items():
        assert internal_links_resolve(page) == [], url


def test_no_link_of_the_report_pages_leads_to_a_page_that_does_not_exist(
    auditor_browser, department, patient, anesthetist
):
    AssessmentFactory(patient=patient, created_by=anesthetist)
    for url in (
        "/reports/",
        f"/reports/departments/{department.pk}/",
        f"/reports/departments/{department.pk}/audit-log/",
    ):
        page = auditor_browser.get(url).content.decode()
        assert internal_links_resolve(page) == [], url
