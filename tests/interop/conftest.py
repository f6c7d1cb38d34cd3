"""CDS Hooks clients, their keys and signed JWTs, and request bodies for the tests.

Keys are generated at the start of the run (EC P-384 for ES384, RSA for RS384); nothing secret
is kept in the repository.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from django.utils import timezone

from periop.audit.services import Actor
from periop.interop.models import CdsClient
from periop.interop.services import cds_client_save

ISSUER = "https://ehr.hospital.example/"
RSA_ISSUER = "https://pharmacy.hospital.example/"
BASE = "http://testserver"
SERVICE_URL = f"{BASE}/cds-services/periop-nmj"
DISCOVERY_URL = f"{BASE}/cds-services"
FEEDBACK_URL = f"{SERVICE_URL}/feedback"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def public_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def other_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def cds_client(department: Any, ec_key: Any) -> CdsClient:
    client = CdsClient(issuer=ISSUER, public_key_pem=public_pem(ec_key), department=department)
    return cds_client_save(actor=Actor.system("test"), client=client)


@pytest.fixture
def rsa_cds_client(department: Any, rsa_key: Any) -> CdsClient:
    client = CdsClient(issuer=RSA_ISSUER, public_key_pem=public_pem(rsa_key), department=department)
    return cds_client_save(actor=Actor.system("test"), client=client)


def make_token(
    key: Any,
    *,
    aud: str | list[str] = SERVICE_URL,
    iss: str = ISSUER,
    alg: str = "ES384",
    lifetime: int = 300,
    jti: str | None = None,
    headers: dict[str, Any] | None = None,
    drop: Iterable[str] = (),
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti or str(uuid.uuid4()),
    }
    for name in drop:
        claims.pop(name, None)
    header = {"kid": "ehr-key-1", "typ": "JWT", **(headers or {})}
    return jwt.encode(claims, key, algorithm=alg, headers=header)


@pytest.fixture
def token(ec_key: Any) -> Callable[..., str]:
    """A fresh ES384 token of the registered client for the given audience."""

    def build(aud: str = SERVICE_URL, **options: Any) -> str:
        return make_token(ec_key, aud=aud, **options)

    return build


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def call(cds_client: CdsClient, token: Callable[..., str]) -> Callable[..., Any]:
    """POSTs a hook request to the service with a valid token."""

    def post(body: Any, *, path: str = "/cds-services/periop-nmj") -> Any:
        response = Client().post(
            path,
            data=body,
            content_type="application/json",
            **bearer(token(aud=f"{BASE}{path}")),
        )
        if response.status_code == 200:
            # Every answer of every test obeys the response rules, no null or empty included.
            assert_valid_response(response.json())
        return response

    return post


def days_ago(days: float) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


def order(order_id: str, *codings: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {
        "coding": [{"system": system, "code": code} for system, code in codings]
    }
    if text:
        concept["text"] = text
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": "Patient/pat-1"},
    }


def condition(
    condition_id: str,
    *codings: tuple[str, str],
    onset: str | None = None,
    abatement: str | None = None,
    status: str = "active",
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code} for system, code in codings]},
        "subject": {"reference": "Patient/pat-1"},
    }
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    return resource


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
    }
    if resources:
        bundle["entry"] = [{"resource": resource} for resource in resources]
    return bundle


PATIENT = {"resourceType": "Patient", "id": "pat-1", "birthDate": "1980-04-02", "gender": "female"}
MYASTHENIA = condition("c-mg", (SNOMED, "91637004"), onset="2019-03-01")
# A problem-list entry the knowledge base does not know, coded in a local code system.
HYPERTENSION = condition(
    "c-htn", ("http://hospital.example/problem-list", "hypertension"), onset="2015-01-01"
)


def hook_body(
    *orders: dict[str, Any],
    hook: str = "order-sign",
    prefetch: dict[str, Any] | None = None,
    selections: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "PractitionerRole/anaesthetist-1",
        "patientId": "pat-1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": item} for item in orders],
        },
    }
    if selections is not None:
        context["selections"] = selections
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch(*conditions: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    prefetch: dict[str, Any] = {
        "patient": PATIENT,
        "conditions": searchset(*conditions),
        "medicationRequests": searchset(),
        "medicationStatements": searchset(),
        "bodyWeight": searchset(),
        "serumPotassium": searchset(),
        "serumMagnesium": searchset(),
    }
    prefetch.update(overrides)
    return prefetch


def assert_no_null_or_empty(value: Any, where: str = "$") -> None:
    """CDS Hooks 2.0.1: no element is null, "", [] or {} (the empty card list aside)."""
    assert value is not None, where
    if isinstance(value, str):
        assert value.strip(), where
    elif isinstance(value, list):
        assert value, where
        for position, item in enumerate(value):
            assert_no_null_or_empty(item, f"{where}[{position}]")
    elif isinstance(value, dict):
        assert value, where
        for key, item in value.items():
            assert_no_null_or_empty(item, f"{where}.{key}")


def assert_valid_response(answer: dict[str, Any]) -> None:
    """The response rules of standards-reference CDSH-05, and no null or empty anywhere."""
    assert set(answer) == {"cards"}
    for card in answer["cards"]:
        assert_no_null_or_empty(card)
        uuid.UUID(card["uuid"])
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        if "suggestions" in card:
            assert card["selectionBehavior"] in {"at-most-one", "any"}
            for suggestion in card["suggestions"]:
                uuid.UUID(suggestion["uuid"])
                for action in suggestion["actions"]:
                    assert action["description"]
        for reason in card.get("overrideReasons", []):
            assert reason["system"]
            assert reason["code"]
            assert reason["display"]
