import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_is_openapi_3_for_authenticated_users(pharmacist_client):
    response = pharmacist_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me" in schema["paths"]


def test_the_schema_generates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"

    # --fail-on-warn turns any serializer drf-spectacular cannot describe into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))

    assert output.read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_the_docs_page_serves_swagger_ui_from_local_static_files(pharmacist_client):
    response = pharmacist_client.get("/api/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    # Hospital networks are closed: nothing may come from a CDN.
    assert "cdn." not in page
    assert "unpkg" not in page
