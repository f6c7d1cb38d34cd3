"""The department switcher: the chosen department scopes every page."""

import pytest

from periop.accounts.models import Role
from tests.factories import MembershipFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_department_browser(client, department, other_department):
    user = UserFactory(username="dr-two")
    MembershipFactory(user=user, department=department, role=Role.ANESTHETIST)
    MembershipFactory(user=user, department=other_department, role=Role.AUDITOR)
    client.force_login(user)
    return client


def test_a_user_of_one_department_works_there_without_choosing(anesthetist_browser):
    response = anesthetist_browser.get("/patients/")

    assert response.status_code == 200
    assert "Main theatres · Anesthetist" in response.content.decode()


def test_a_user_of_several_departments_chooses_first(two_department_browser):
    response = two_department_browser.get("/patients/")

    assert response.status_code == 302
    assert response["Location"] == "/department?next=%2Fpatients%2F"
    page = two_department_browser.get(response["Location"]).content.decode()
    assert "Main theatres (Anesthetist)" in page
    assert "Day surgery (Auditor)" in page


def test_the_chosen_department_scopes_patients_and_the_role(
    two_department_browser, department, other_department
):
    here = PatientFactory(department=department, name="Main Patient")
    there = PatientFactory(department=other_department, name="Day Patient")

    response = two_department_browser.post(
        "/department", {"department": other_department.pk, "next": "/patients/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    search = two_department_browser.get("/patients/?q=Patient").content.decode()
    assert "Day Patient" in search
    assert "Main Patient" not in search
    assert two_department_browser.get(f"/patients/{here.pk}/").status_code == 404
    assert two_department_browser.get(f"/patients/{there.pk}/").status_code == 200
    # An auditor there: reads, but may not register.
    assert two_department_browser.get("/patients/new").status_code == 403


def test_a_department_the_user_has_no_role_in_cannot_be_chosen(
    anesthetist_browser, other_department
):
    response = anesthetist_browser.post("/department", {"department": other_department.pk})

    assert response.status_code == 400
    assert "Select a valid choice." in response.context["form"].errors["department"][0]


def test_an_unsafe_next_address_is_ignored(two_department_browser, department):
    response = two_department_browser.post(
        "/department", {"department": department.pk, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/patients/"


def test_a_user_without_any_department_is_told_so(client, roleless_user):
    client.force_login(roleless_user)

    response = client.get("/patients/")

    assert response.status_code == 403
    assert "no role in any department" in response.content.decode()


def test_the_reports_link_shows_only_where_the_user_audits(anesthetist_browser, auditor_browser):
    link = '<a href="/reports/">Reports</a>'

    assert link in auditor_browser.get("/patients/").content.decode()
    assert link not in anesthetist_browser.get("/patients/").content.decode()
