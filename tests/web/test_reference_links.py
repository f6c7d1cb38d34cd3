"""Source links on the caution card: only https addresses are links; a source without one is
named by its identifier as text (citation audit 2026-11-29)."""

import re

import pytest

from tests.factories import PatientConditionFactory
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def myasthenic(patient):
    PatientConditionFactory(
        patient=patient, code="myasthenia-gravis", attributes={"antibody": "achr"}
    )
    return patient


def preview(client, patient, **form):
    response = client.post(
        f"/patients/{patient.pk}/assessments/preview",
        tomorrow_form(**form),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    return response.content.decode()


def test_a_doi_is_linked_through_doi_org(anesthetist_browser, myasthenic):
    # clinical-reference.md §10 gives S19 as "doi:10.1007/BF03005579" only.
    page = preview(anesthetist_browser, myasthenic, drugs=["rocuronium"])

    assert 'href="https://doi.org/10.1007/BF03005579"' in page


def test_every_source_link_is_https_and_a_source_without_one_is_named_not_linked(
    anesthetist_browser, myasthenic
):
    # S47a: §10 gives only an http address, so the card shows it as text, not as a link.
    page = preview(anesthetist_browser, myasthenic, drugs=["gentamicin"])

    links = re.findall(r'<a href="([^"]*)" rel="noopener noreferrer" target="_blank">Open', page)
    assert links
    assert all(link.startswith("https://") for link in links), links
    start = page.index('<span class="reference-id">S47a</span>')
    item = page[start : page.index("</li>", start)]
    assert "formularyproductions.com" in item
    assert "<a " not in item
