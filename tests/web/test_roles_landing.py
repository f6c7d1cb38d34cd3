"""Each role lands where it works: auditors on the reports, clinicians on the start page;
and the report pages are pages of the app, with its header and a way back."""

import re

import pytest

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_an_auditor_lands_on_the_reports_after_login(client, auditor):
    response = client.post(
        "/login", {"username": "auditor", "password": TEST_PASSWORD}, follow=True
    )

    assert [url for url, _ in response.redirect_chain] == ["/", "/reports/"]
    assert "<h1>Department reports</h1>" in response.content.decode()


def test_the_start_address_takes_an_auditor_to_the_reports(auditor_browser):
    response = auditor_browser.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/reports/"


def test_a_department_administrator_lands_on_the_start_page(client, department_admin):
    client.force_login(department_admin)

    response = client.get("/")

    assert response.status_code == 200
    assert "Main theatres: today and the next days" in response.content.decode()


def shares_the_app_header(page: str) -> None:
    assert '<header class="site-header">' in page
    assert '<a href="/patients/">Patients</a>' in page  # the way back to the clinical pages
    assert '<a href="/reports/">Reports</a>' in page
    assert "Main theatres · Auditor" in page
    assert 'action="/logout"' in page
    assert 'href="/static/periop/periop.css"' in page
    assert '<body class="report-page">' in page
    assert '<footer class="site-footer">' in page


@pytest.mark.parametrize(
    "path",
    [
        "/reports/",
        "/reports/departments/{department}/",
        "/reports/departments/{department}/audit-log/",
        "/reports/departments/{department}/?from=2026-12-01&to=2026-11-01",
    ],
)
def test_the_report_pages_share_the_apps_header_and_look(auditor_browser, department, path):
    response = auditor_browser.get(path.format(department=department.pk))

    assert response.status_code in (200, 400)
    shares_the_app_header(response.content.decode())


def test_an_anaesthetist_who_opens_the_reports_has_the_way_back(anesthetist_browser):
    page = anesthetist_browser.get("/reports/").content.decode()

    assert "You audit no department." in page
    assert '<a href="/patients/">Patients</a>' in page
    assert '<a href="/reports/">Reports</a>' not in page  # not offered to a non-auditor


def test_the_report_pdf_keeps_its_own_page_without_the_apps_header(auditor_browser, department):
    response = auditor_browser.get(f"/reports/departments/{department.pk}/", {"format": "pdf"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    # Nothing of the screen header reaches the PDF: no navigation links were embedded.
    assert not re.search(rb"/URI\s*\(/patients/\)", response.content)
