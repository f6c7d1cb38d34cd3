"""Login, lockout after repeated failures, logout, and login-required pages."""

import pytest
from django.test import Client

from tests.factories import TEST_PASSWORD
from tests.web.conftest import events

pytestmark = pytest.mark.django_db


def test_a_page_redirects_to_the_login_page_when_not_logged_in(client, patient):
    for url in ("/patients/", f"/patients/{patient.pk}/", "/department"):
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith("/login?next=")


def test_the_login_page_has_labelled_fields(client):
    response = client.get("/login")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">Username' in page
    assert '<label for="id_password">Password' in page


def test_logging_in_goes_to_the_start_page_and_is_audited(client, anesthetist):
    response = client.post(
        "/login", {"username": "dr-anesthetist", "password": TEST_PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "Main theatres: today and the next days" in response.content.decode()
    (event,) = events("login")
    assert event.actor_username == "dr-anesthetist"


def test_a_wrong_password_is_explained_and_the_username_kept(client, anesthetist):
    response = client.post("/login", {"username": "dr-anesthetist", "password": "wrong-one-1234"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "That username and password do not match." in page
    assert 'value="dr-anesthetist"' in page
    assert "wrong-one-1234" not in page


def test_an_empty_login_form_says_which_fields_are_missing(client):
    response = client.post("/login", {"username": "", "password": ""})

    assert response.context["form"].errors == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_five_failures_lock_the_account_and_the_lockout_is_audited(client, anesthetist):
    for _ in range(4):
        client.post("/login", {"username": "dr-anesthetist", "password": "wrong-one-1234"})

    locked = client.post("/login", {"username": "dr-anesthetist", "password": "wrong-one-1234"})
    after = client.post("/login", {"username": "dr-anesthetist", "password": TEST_PASSWORD})

    assert locked.status_code == 429
    assert "locked on this workstation after 5 failed logins; try again in 15 minutes" in (
        locked.content.decode()
    )
    assert after.status_code == 429
    assert not events("login")
    lockouts = [event for event in events("login-failed") if '"lockout":true' in event.payload]
    assert lockouts
    assert lockouts[0].actor_username == "dr-anesthetist"


def test_logout_needs_a_post_and_ends_the_session(anesthetist_browser):
    assert anesthetist_browser.get("/logout").status_code == 405

    response = anesthetist_browser.post("/logout")

    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert anesthetist_browser.get("/patients/").status_code == 302


def test_forms_are_refused_without_a_csrf_token(anesthetist, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(anesthetist)

    response = client.post(f"/patients/{patient.pk}/conditions/new", {"code": "stroke"})

    assert response.status_code == 403


def test_pages_send_a_strict_content_security_policy(anesthetist_browser, patient):
    response = anesthetist_browser.get(f"/patients/{patient.pk}/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_pages_carry_no_inline_script_or_style(anesthetist_browser, patient):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()

    assert "<script>" not in page
    assert "style=" not in page
    assert "<style" not in page
    assert 'src="/static/periop/htmx.min.js"' in page
    assert '<meta name="csrf-token"' in page
