"""Crafted JSON to the CDS Hooks endpoints gets the REST API's answer (security review F10): a
400 naming `body`, never a 500, and nothing checked, stored or recorded but the refusal. The
endpoints read their bodies themselves, so the API parser's rules must hold here too."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from django.test import Client

from periop.interop.models import CdsCard
from periop.parsers import MAX_FHIR_JSON_DEPTH
from tests.conftest import nothing_changes
from tests.interop.conftest import (
    ATC,
    FEEDBACK_URL,
    MYASTHENIA,
    bearer,
    full_prefetch,
    hook_body,
    order,
)

pytestmark = pytest.mark.django_db

SERVICE = "/cds-services/periop-nmj"
FEEDBACK = "/cds-services/periop-nmj/feedback"


def _nested(depth: int) -> str:
    """JSON text of lists nested `depth` deep (deeper than `json.dumps` itself can write)."""
    return "[" * depth + "]" * depth


def _with_deep(body: dict, depth: int) -> str:
    """`body` as JSON text with `depth`-deep lists under the prefetch key `deep`."""
    body["prefetch"]["deep"] = "DEEP"
    return json.dumps(body).replace('"DEEP"', _nested(depth))


def _hook_with(**prefetch_extra) -> dict:
    body = hook_body(
        order("mr-gent", (ATC, "J01GB03"), text="gentamicin"),
        prefetch=full_prefetch(MYASTHENIA),
    )
    body["prefetch"].update(prefetch_extra)
    return body


def _post(path: str, text: str | bytes, token) -> object:
    audience = FEEDBACK_URL if path == FEEDBACK else None
    signed = token(aud=audience) if audience else token()
    return Client(raise_request_exception=False).post(
        path, data=text, content_type="application/json", **bearer(signed)
    )


CRAFTED = {
    # A lone surrogate is valid JSON (an escape) but no Unicode text: it can be neither
    # stored nor sent back in a card.
    "a lone surrogate in an order's text": json.dumps(
        hook_body(order("mr-x", (ATC, "Z99ZZ99"), text="x\ud800y"))
    ),
    "a lone surrogate in a key": json.dumps(_hook_with(**{"\udfff": 1})),
    "JSON nested past the parser's own limit": _with_deep(_hook_with(), 5_000),
    "JSON nested one past the FHIR limit": _with_deep(_hook_with(), MAX_FHIR_JSON_DEPTH - 1),
    "not JSON": "{'hook': 'order-sign'}",
    "not UTF-8": b"\xff\xfe{}",
}


@pytest.mark.parametrize("text", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_hook_call_is_400_naming_the_body(cds_client, token, text):
    with nothing_changes():
        response = _post(SERVICE, text, token)

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert CdsCard.objects.count() == 0


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"feedback": [{"card": "x", "overrideReason": {"userComment": "\ud800"}}]}),
        '{"feedback": [{"card": "x", "overrideReason": ' + _nested(5_000) + "}]}",
    ],
    ids=["a lone surrogate in a comment", "deep nesting"],
)
def test_crafted_feedback_is_400_naming_the_body(cds_client, token, text):
    with nothing_changes():
        response = _post(FEEDBACK, text, token)

    assert response.status_code == 400
    assert list(response.json()) == ["body"]


def test_nesting_within_the_limit_is_read(cds_client, token):
    """The limit refuses only what is deeper: an unknown prefetch key nested up to the limit is
    read (and ignored) like any other. FHIR resources nest deeper than the REST API's inputs,
    so the REST API's own limit would refuse real ones."""
    # The body is an object and `prefetch` another: the lists start at the third level.
    response = _post(SERVICE, _with_deep(_hook_with(), MAX_FHIR_JSON_DEPTH - 2), token)

    assert response.status_code == 200
    assert [card["indicator"] for card in response.json()["cards"]] == ["critical"]


FHIR = "https://fhir.hospital.example/r4"


@respx.mock
@pytest.mark.parametrize(
    "content",
    [
        b'{"resourceType": "Bundle", "type": "searchset", "entry": '
        + _nested(5_000).encode()
        + b"}",
        b'{"resourceType": "Bundle", "type": "searchset", "total": 0, "id": "\\ud800"}',
        b"<Bundle/>",
    ],
    ids=["deep nesting", "a lone surrogate", "not JSON"],
)
def test_a_crafted_answer_of_the_fhir_server_is_unusable_412(cds_client, token, content):
    """What the FHIR server answers is read by the same rules: such an answer is as good as
    none, and the call says which data it could not have (never a 500, never no caution)."""
    respx.get(f"{FHIR}/Condition").mock(return_value=httpx.Response(200, content=content))
    body = _hook_with()
    del body["prefetch"]["conditions"]
    body["fhirServer"] = FHIR

    response = _post(SERVICE, json.dumps(body), token)

    assert response.status_code == 412
    assert response.json()["prefetch"] == ["conditions"]
