"""docs/api.md is the project's own contract page: it lists every endpoint of the schema and
every code of the knowledge base, so that it is complete without any other document."""

from __future__ import annotations

from pathlib import Path

import pytest

from periop.drugs.engine import EFFECT_TAGS, RECEPTOR_STATES, Level
from periop.drugs.registry import get_knowledge_base

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
METHODS = ("get", "post", "patch", "put", "delete")


@pytest.mark.django_db
def test_it_documents_every_endpoint_of_the_schema(pharmacist_client):
    schema = pharmacist_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        if not path.startswith("/api/v1/schema")
        for method in operations
        if method in METHODS and f"`{method.upper()} {path}`" not in PAGE
    ]

    assert missing == []


def test_it_lists_every_condition_code_and_attribute():
    for code, condition in get_knowledge_base().conditions.items():
        assert f"`{code}`" in PAGE, code
        for name in condition.attributes:
            assert f"`{name}`" in PAGE, (code, name)


def test_it_lists_every_drug_code_and_synonym():
    for code, drug in get_knowledge_base().drugs.items():
        assert f"`{code}`" in PAGE, code
        assert f"`{drug.drug_class}`" in PAGE, code
        for synonym in drug.synonyms:
            assert f"`{synonym}`" in PAGE, (code, synonym)


def test_it_lists_every_level_effect_tag_and_receptor_state():
    for word in (*(level.code for level in Level), *EFFECT_TAGS, *RECEPTOR_STATES):
        assert f"`{word}`" in PAGE, word


@pytest.mark.parametrize(
    "status", ["400", "401", "403", "404", "409", "412", "413", "422", "428", "503"]
)
def test_it_documents_every_error_status(status):
    assert f"| `{status}` |" in PAGE


def test_it_marks_the_v1_1_additions_as_additive():
    assert "## v1.1 (additive)" in PAGE
    assert "`suxamethonium`" in PAGE


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_v1_1_fields(pharmacist_client):
    schema = pharmacist_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    assert "synonyms" in components["CheckInputRequest"]["properties"]["drugs"]["description"]
    assert "synonym" in components["MedicationInputRequest"]["properties"]["code"]["description"]
    attributes = components["ConditionInputRequest"]["properties"]["attributes"]["description"]
    assert "serum_mg_mmol_l" in attributes
    assert "serum_potassium_mmol_l" in attributes
    assert "canonical" in components["CautionOutput"]["properties"]["drug"]["description"]
    knowledge_base = schema["paths"]["/api/v1/knowledge-base"]["get"]["description"]
    assert "synonyms" in knowledge_base
    assert "conversions" in knowledge_base
