import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/schema/", "/api/v1/docs/"])
def test_it_answers_401_without_credentials(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_it_answers_401_for_a_wrong_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = api_client.get("/api/v1/me")

    assert response.status_code == 401


@pytest.mark.django_db
def test_a_pharmacy_system_authenticates_with_its_token(pharmacist_client, department):
    response = pharmacist_client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "username": "pharmacist",
        "is_superuser": False,
        "memberships": [
            {
                "department_id": department.id,
                "department_code": "main-theatres",
                "department_name": "Main theatres",
                "role": "pharmacist",
            }
        ],
    }


@pytest.mark.django_db
def test_a_browser_user_authenticates_with_a_session(client, anesthetist):
    client.force_login(anesthetist)

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == "dr-anesthetist"


@pytest.mark.django_db
def test_session_requests_that_change_state_need_a_csrf_token(anesthetist):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(anesthetist)

    response = client.post("/api/v1/me", {}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.django_db
def test_unknown_api_paths_answer_json_404(pharmacist_client):
    response = pharmacist_client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_every_response_carries_a_request_id(api_client):
    response = api_client.get("/health", HTTP_X_REQUEST_ID="pharmacy-42")

    assert response["X-Request-ID"] == "pharmacy-42"


@pytest.mark.django_db
def test_an_unsafe_request_id_is_replaced(api_client):
    response = api_client.get("/health", HTTP_X_REQUEST_ID="<script>alert(1)</script>")

    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(response["X-Request-ID"]) == 32
