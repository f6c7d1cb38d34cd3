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


def _operations(pharmacist_client):
    schema = pharmacist_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_documents_the_503_of_an_unavailable_database(pharmacist_client):
    operations = list(_operations(pharmacist_client))

    assert operations
    for path, method, operation in operations:
        assert "503" in operation["responses"], (method, path)
        assert "Retry-After" in operation["responses"]["503"]["headers"], (method, path)
        if method in {"post", "put", "patch"}:
            assert "413" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/api/v1/patients/{patient_id}/conditions", {"200", "400", "401", "403", "404"}),
        ("/api/v1/patients/{patient_id}/medications", {"200", "400", "401", "403", "404"}),
        ("/api/v1/audit/events", {"200", "400", "401", "403", "404"}),
        ("/api/v1/reports/departments/{department_id}", {"200", "400", "401", "403", "404"}),
    ],
)
def test_the_lists_and_reports_document_every_status_they_return(pharmacist_client, path, statuses):
    # Review F18: these returned 400 and 404 that the schema did not mention.
    operations = {(p, m): o for p, m, o in _operations(pharmacist_client)}

    assert statuses <= set(operations[(path, "get")]["responses"])


def test_the_audit_log_is_documented_as_the_paginated_envelope_it_returns(pharmacist_client):
    operations = {(p, m): o for p, m, o in _operations(pharmacist_client)}
    ok = operations[("/api/v1/audit/events", "get")]["responses"]["200"]

    reference = ok["content"]["application/json"]["schema"]["$ref"]
    assert reference.endswith("/PaginatedEventOutputList")
