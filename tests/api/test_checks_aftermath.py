"""POST /api/v1/checks: a stopped medication or a resolved condition keeps its effect for its
aftermath, and the caution says what was assumed (api-contract.md, "Uncertain and missing
inputs")."""

from __future__ import annotations

import pytest

AT = "2026-11-22T08:00:00+00:00"
TWENTY_MINUTES_BEFORE = "2026-11-22T07:40:00+00:00"


def post(client, body):
    return client.post("/api/v1/checks", body, format="json")


@pytest.mark.django_db
def test_neostigmine_given_twenty_minutes_before_succinylcholine_gives_avoid(pharmacist_client):
    # clinical-reference.md §7, neostigmine given, then SCh: AV, PROLONG (S22, S23). A bolus is
    # a medication started and stopped at the same minute.
    body = {
        "at": AT,
        "conditions": [],
        "medications": [
            {
                "code": "neostigmine",
                "started": TWENTY_MINUTES_BEFORE,
                "stopped": TWENTY_MINUTES_BEFORE,
            }
        ],
        "drugs": ["succinylcholine", "rocuronium"],
    }

    response = post(pharmacist_client, body)

    assert response.status_code == 200
    payload = response.json()
    succinylcholine, rocuronium = payload["cautions"]
    assert succinylcholine["drug"] == "succinylcholine"
    assert succinylcholine["level"] == "avoid"
    assert succinylcholine["effects"] == ["prolonged"]
    assert [finding["rule"] for finding in succinylcholine["findings"]] == [
        "neostigmine-given-succinylcholine-prolonged"
    ]
    assert succinylcholine["findings"][0]["triggered_by"] == ["medication:neostigmine"]
    assert set(succinylcholine["findings"][0]["references"]) >= {"S22", "S23"}
    assert succinylcholine["assumptions"] == [
        "Neostigmine: stopped (2026-11-22T07:40:00+00:00); no source states how long its "
        "effect lasts after that, so it is counted as still active (the most cautious reading)."
    ]
    assert rocuronium["level"] == "none"
    assert payload["highest_level"] == "avoid"


@pytest.mark.django_db
def test_a_resolved_condition_without_a_sourced_aftermath_is_counted_and_named(
    pharmacist_client,
):
    # §5, MG x AMINO: DA (S19); §3 row 1 gives no end after a recorded resolution.
    body = {
        "at": AT,
        "conditions": [
            {
                "code": "myasthenia-gravis",
                "onset": "2020-01-01",
                "resolved": "2025-06-01",
                "attributes": {"antibody": "achr"},
            }
        ],
        "medications": [],
        "drugs": ["rocuronium"],
    }

    response = post(pharmacist_client, body)

    assert response.status_code == 200
    (caution,) = response.json()["cautions"]
    assert caution["level"] == "adjust"
    assert any(
        note.startswith("Myasthenia gravis: resolved (2025-06-01); no source states")
        for note in caution["assumptions"]
    )
