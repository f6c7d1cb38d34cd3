"""What protects every endpoint: a bound on request bodies, checked before any parsing
(review F8), and no caching of responses that carry patient data (review F15)."""

import json
from unittest import mock

import pytest
from django.test import Client
from rest_framework.parsers import JSONParser

from tests.conftest import nothing_changes
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ONE_MEGABYTE = 1024 * 1024


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


@pytest.fixture
def anesthetist_browser(anesthetist):
    browser = Client()
    browser.force_login(anesthetist)
    return browser


def padded_check(size: int) -> str:
    """A /checks body of exactly `size` bytes: valid JSON, padded inside a string."""
    skeleton = {"drugs": ["rocuronium"], "conditions": [], "at": "", "padding": ""}
    filler = size - len(json.dumps(skeleton))
    return json.dumps({**skeleton, "padding": "x" * filler})


def test_the_default_limit_is_one_megabyte(settings):
    assert settings.MAX_REQUEST_BODY_BYTES == ONE_MEGABYTE


def test_a_body_over_the_limit_is_413_before_it_is_parsed(pharmacist_client):
    body = padded_check(ONE_MEGABYTE + 1)

    with mock.patch.object(JSONParser, "parse") as parse, nothing_changes():
        response = pharmacist_client.post("/api/v1/checks", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The request body ({ONE_MEGABYTE + 1} bytes) is larger than the limit of "
        f"{ONE_MEGABYTE} bytes.",
        "code": "too-large",
    }
    parse.assert_not_called()


def test_a_body_at_the_limit_is_parsed(pharmacist_client):
    response = pharmacist_client.post(
        "/api/v1/checks", padded_check(ONE_MEGABYTE), content_type="application/json"
    )

    # Parsed and validated: the padding is an unknown field, not a size problem.
    assert response.status_code == 400
    assert "padding" in response.json()


def test_the_limit_is_a_setting(pharmacist_client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100

    response = pharmacist_client.post(
        "/api/v1/checks", padded_check(101), content_type="application/json"
    )

    assert response.status_code == 413


def test_pages_are_limited_too(anesthetist_browser, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100

    with nothing_changes():
        response = anesthetist_browser.post("/patients/new", {"name": "x" * 200})

    assert response.status_code == 413


def test_a_malformed_content_length_is_400(pharmacist_client):
    response = pharmacist_client.post(
        "/api/v1/checks", "{}", content_type="application/json", CONTENT_LENGTH="lots"
    )

    assert response.status_code == 400


def test_a_page_with_patient_data_is_never_stored(anesthetist_browser, patient):
    response = anesthetist_browser.get(f"/patients/{patient.pk}/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_an_api_answer_with_patient_data_is_never_stored(anesthetist_client, patient):
    response = anesthetist_client.get(f"/api/v1/patients/{patient.pk}")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_refusals_are_never_stored_either(anesthetist_client):
    assert "no-store" in anesthetist_client.get("/api/v1/patients/999999")["Cache-Control"]
