"""`POST /api/v1/checks?view=summary`, the validator built once, and the orjson renderer."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from periop.audit.models import AuditEvent
from periop.drugs.serializers import CheckInput, check_input_validate
from periop.renderers import JSONRenderer
from tests.api.test_checks import post, valid_body
from tests.conftest import nothing_changes

HEAVY = valid_body(
    patient={"age_years": 34, "weight_kg": 62},
    drugs=["succinylcholine", "rocuronium", "sugammadex", "neostigmine", "gentamicin"],
)


def without_explanations(full: dict) -> dict:
    summary = copy.deepcopy(full)
    for caution in summary["cautions"]:
        for finding in caution["findings"]:
            del finding["rationale"], finding["references"]
    return summary


@pytest.mark.django_db
def test_the_summary_view_leaves_out_rationale_and_references_only(pharmacist_client):
    full = pharmacist_client.post("/api/v1/checks", HEAVY, format="json")
    summary = pharmacist_client.post("/api/v1/checks?view=summary", HEAVY, format="json")

    assert full.status_code == summary.status_code == 200
    assert any(caution["findings"] for caution in full.json()["cautions"])
    assert summary.json() == without_explanations(full.json())
    assert len(summary.content) < len(full.content)
    doses = [caution["dose"] for caution in summary.json()["cautions"] if caution["dose"]]
    assert doses
    assert all(dose["text"] for dose in doses)


@pytest.mark.django_db
def test_the_full_view_is_the_default_and_can_be_asked_for(pharmacist_client):
    default = pharmacist_client.post("/api/v1/checks", HEAVY, format="json").json()
    full = pharmacist_client.post("/api/v1/checks?view=full", HEAVY, format="json").json()

    assert default == full
    findings = [finding for caution in full["cautions"] for finding in caution["findings"]]
    assert findings
    assert all(finding["rationale"] and finding["references"] for finding in findings)


@pytest.mark.django_db
def test_both_views_are_audited_alike(pharmacist_client):
    for view in ("full", "summary"):
        pharmacist_client.post(f"/api/v1/checks?view={view}", HEAVY, format="json")
    payloads = list(
        AuditEvent.objects.filter(resource_type="check")
        .order_by("sequence")
        .values_list("payload", flat=True)
    )
    assert len(payloads) == 2
    assert payloads[0] == payloads[1]


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["compact", "", "SUMMARY"])
def test_an_unknown_view_is_a_400_and_nothing_is_audited(pharmacist_client, view):
    with nothing_changes():
        response = pharmacist_client.post(f"/api/v1/checks?view={view}", HEAVY, format="json")

    assert response.status_code == 400
    assert response.json() == {"view": ["Unknown view. Use full or summary."]}


@pytest.mark.django_db
def test_the_schema_documents_the_view_parameter(pharmacist_client):
    schema = pharmacist_client.get("/api/v1/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/checks"]["post"]["parameters"]
    view = next(parameter for parameter in parameters if parameter["name"] == "view")
    assert view["in"] == "query"
    assert view["schema"]["enum"] == ["full", "summary"]


# --- the validator built once --------------------------------------------------------------

BAD_BODIES = [
    valid_body(drugs=["succinylcholine", "no-such-drug", "succinylcholine"]),
    valid_body(conditions=[{"code": "burn", "onset": "2027-01-01", "attributes": {"x": 1}}]),
    valid_body(patient={"weight_kg": 0.1}, receptor_state="sideways", extra=1),
    valid_body(
        medications=[
            {
                "code": "pyridostigmine",
                "started": "2026-01-02T10:00:00+00:00",
                "stopped": "2026-01-01T10:00:00+00:00",
            }
        ]
    ),
    [1, 2],
    "text",
    None,
]


def drf_errors(body):
    serializer = CheckInput(data=body)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.mark.django_db
@pytest.mark.parametrize("body", BAD_BODIES)
def test_the_prebuilt_validator_gives_the_serializers_own_messages(body):
    expected = drf_errors(body)
    # Twice: nothing from one request stays behind for the next.
    for _ in range(2):
        with pytest.raises(ValidationError) as raised:
            check_input_validate(body)
        assert raised.value.detail == expected


@pytest.mark.django_db
def test_the_prebuilt_validator_returns_what_the_serializer_validates():
    serializer = CheckInput(data=HEAVY)
    assert serializer.is_valid(), serializer.errors
    with pytest.raises(ValidationError):
        check_input_validate(BAD_BODIES[0])
    assert check_input_validate(HEAVY) == serializer.validated_data


@pytest.mark.django_db
def test_requests_one_after_another_keep_their_own_errors(pharmacist_client):
    first = post(pharmacist_client, BAD_BODIES[0])
    second = post(pharmacist_client, valid_body())
    third = post(pharmacist_client, BAD_BODIES[3])

    assert first.status_code == 400
    assert set(first.json()) == {"drugs"}
    assert second.status_code == 200
    assert third.status_code == 400
    assert set(third.json()) == {"medications"}


@pytest.mark.django_db
def test_each_thread_validates_on_its_own(django_db_blocker):
    results: dict[int, object] = {}

    def validate(index: int, body) -> None:
        try:
            results[index] = check_input_validate(body)
        except ValidationError as error:
            results[index] = error.detail

    threads = [
        threading.Thread(target=validate, args=(index, body))
        for index, body in enumerate([HEAVY, BAD_BODIES[0], HEAVY, BAD_BODIES[2]])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == results[2] == check_input_validate(HEAVY)
    assert results[1] == drf_errors(BAD_BODIES[0])
    assert results[3] == drf_errors(BAD_BODIES[2])


# --- the orjson renderer -------------------------------------------------------------------


def both(data, accepted: str = "application/json"):
    return (
        JSONRenderer().render(data, accepted, {}),
        DrfJSONRenderer().render(data, accepted, {}),
    )


def test_the_renderer_writes_the_same_json_as_drfs():
    london = zoneinfo.ZoneInfo("Europe/London")
    data = ReturnDict(
        {
            "utc": dt.datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=dt.UTC),
            "local": dt.datetime(2026, 7, 1, 9, 30, tzinfo=london),
            "naive": dt.datetime(2026, 1, 1, 0, 0),  # noqa: DTZ001 (rendered as DRF does)
            "date": dt.date(2026, 2, 28),
            "time": dt.time(23, 59, 1),
            "decimal": Decimal("62.50"),
            "text": "Myasthénie grave, 重症筋無力症, Ω ≥ 0.5 mg/kg",
            "separators": "a\u2028b\u2029c",
            "escapes": 'quote " backslash \\ tab \t newline \n nul \x00',
            "lazy": lazy(lambda: "later", str)(),
            "error": ErrorDetail("Unknown field.", code="invalid"),
            "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "numbers": [0, -1, 2**63 - 1, 1.5, True, None],
            "nested": ({"levels": ("avoid", "monitor")}, frozenset({"one"})),
            7: "an integer key",
            "bytes": b"raw",
        },
        serializer=None,
    )

    ours, theirs = both(data)

    assert ours == theirs


# Texts rich in the characters that share the separators' first UTF-8 byte (U+2000 to U+2FFF:
# dashes, bullets, ">=", arrows, CJK punctuation), the separators themselves and others.
# Texts rich in the characters that share the separators' first UTF-8 byte (U+2000 to U+2FFF:
# dashes, bullets, ">=", arrows), the separators themselves and any other text, built from
# fragments (an alphabet of several character strategies would be sampled as one, and the
# separators would almost never come up).
TEXTS = st.lists(
    st.one_of(
        st.sampled_from(["\u2028", "\u2029", "\u2013", "\u2265", "\u3001", '"', "\\", "\n"]),
        st.characters(min_codepoint=0x2000, max_codepoint=0x2FFF),
        st.text(max_size=4),
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXTS, max_size=4))
def test_every_text_is_written_as_drf_writes_it(texts):
    ours, theirs = both({"texts": texts})
    assert ours == theirs
    assert b"\xe2\x80\xa8" not in ours
    assert b"\xe2\x80\xa9" not in ours


def test_the_renderer_falls_back_for_what_orjson_cannot_write():
    for data in ({"big": 2**70}, {"negative": -(2**70)}):
        ours, theirs = both(data)
        assert ours == theirs
    ours, theirs = both({"a": [1, {"b": "ü"}]}, "application/json; indent=4")
    assert ours == theirs
    assert b"\n    " in ours
    assert JSONRenderer().render(None) == DrfJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_api_answers_are_byte_for_byte_what_drf_would_write(pharmacist_client):
    response = pharmacist_client.post("/api/v1/checks", HEAVY, format="json")
    assert response.content == DrfJSONRenderer().render(response.json())


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["full", "summary"])
def test_an_indented_answer_holds_the_same_data_indented(pharmacist_client, view):
    compact = pharmacist_client.post(f"/api/v1/checks?view={view}", HEAVY, format="json")
    indented = pharmacist_client.post(
        f"/api/v1/checks?view={view}",
        HEAVY,
        format="json",
        HTTP_ACCEPT="application/json; indent=2",
    )
    assert indented.status_code == compact.status_code == 200
    assert b'\n  "knowledge_base"' in indented.content
    assert json.loads(indented.content) == compact.json()
