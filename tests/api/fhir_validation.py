"""Validation of what the FHIR endpoints emit, with the `fhir.resources` R4B models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome


def references_in(value: Any) -> Iterator[str]:
    """Every `reference` string anywhere in a resource."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from references_in(item)


def validated_bundle(body: dict[str, Any]) -> dict[str, Any]:
    """Validates the whole Bundle and then each entry on its own as its resource type; checks
    that every full URL is unique and every `urn:uuid:` reference resolves inside the Bundle.
    Returns the entries' resources by full URL."""
    Bundle.model_validate(body)
    resources: dict[str, Any] = {}
    for entry in body.get("entry", []):
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] not in resources, "full URLs must be unique (bdl-7)"
        resources[entry["fullUrl"]] = resource
    for resource in resources.values():
        for reference in references_in(resource):
            if reference.startswith("urn:uuid:"):
                assert reference in resources, f"{reference} does not resolve in the Bundle"
    return resources


def of_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return {
        url: resource
        for url, resource in resources.items()
        if resource["resourceType"] == resource_type
    }


def codings(concept: dict[str, Any]) -> dict[str, str]:
    """A CodeableConcept's codes by system."""
    return {item["system"]: item["code"] for item in concept.get("coding", [])}


def validated_outcome(response: Any) -> dict[str, Any]:
    """An error answer: FHIR JSON, a valid OperationOutcome with one issue, which it returns."""
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    OperationOutcome.model_validate(body)
    [issue] = body["issue"]
    return issue  # type: ignore[no-any-return]
