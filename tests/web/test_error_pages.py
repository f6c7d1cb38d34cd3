"""The 403 and 404 pages show the signed-in user's department and role in the header, as every
other page does; the API keeps its own answers."""

import pytest

from periop.accounts.models import Role
from tests.factories import MembershipFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = '<li class="nav__department">'


def test_an_unknown_address_shows_the_department_in_the_header(anesthetist_browser):
    response = anesthetist_browser.get("/no-such-page")

    page = response.content.decode()
    assert response.status_code == 404
    assert HEADER in page
    assert "Main theatres · Anesthetist" in page
    assert "There is no such page in Main theatres." in page


def test_a_patient_of_another_department_is_not_found_in_this_one(
    anesthetist_browser, other_department
):
    elsewhere = PatientFactory(department=other_department)

    response = anesthetist_browser.get(f"/patients/{elsewhere.pk}/")

    assert response.status_code == 404
    assert "Main theatres · Anesthetist" in response.content.decode()


def test_a_refused_change_shows_the_department_and_role(auditor_browser, patient):
    response = auditor_browser.get(f"/patients/{patient.pk}/conditions/new")

    page = response.content.decode()
    assert response.status_code == 403
    assert "Main theatres · Auditor" in page
    assert "Your role in Main theatres (Auditor) does not allow this." in page


def test_the_first_page_of_a_session_may_be_an_error_page(client, anesthetist):
    # No page has chosen the department yet: the error page finds it like any page would.
    client.force_login(anesthetist)

    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert "Main theatres · Anesthetist" in response.content.decode()


def test_a_user_who_has_not_chosen_among_departments_sees_no_department(
    client, department, other_department
):
    user = UserFactory(username="dr-two")
    MembershipFactory(user=user, department=department, role=Role.ANESTHETIST)
    MembershipFactory(user=user, department=other_department, role=Role.AUDITOR)
    client.force_login(user)

    response = client.get("/no-such-page")

    page = response.content.decode()
    assert response.status_code == 404
    assert HEADER not in page
    assert "There is no such page in your chosen department." in page


def test_an_anonymous_visitor_gets_the_plain_page(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert HEADER not in response.content.decode()


def test_the_api_still_answers_json(anesthetist_client):
    response = anesthetist_client.get("/api/v1/no-such-endpoint")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
