"""POST /api/v1/checks: permissions, the response contract and one clear 400 per bad field."""

from __future__ import annotations

import datetime as dt

import pytest

from periop.drugs.registry import get_knowledge_base

AT = "2026-11-22T08:00:00+00:00"
HINT = "See GET /api/v1/knowledge-base."


def post(client, body):
    return client.post("/api/v1/checks", body, format="json")


def valid_body(**overrides):
    body = {
        "at": AT,
        "patient": {"age_years": 34, "weight_kg": 62},
        "conditions": [
            {
                "code": "myasthenia-gravis",
                "onset": "2024-05-01",
                "resolved": None,
                "attributes": {"antibody": "achr", "distribution": "generalized"},
            },
            {
                "code": "stroke",
                "onset": "2026-11-12T14:00:00+00:00",
                "attributes": {"motor_deficit": True},
            },
        ],
        "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
        "receptor_state": None,
        "drugs": ["succinylcholine", "rocuronium", "sugammadex"],
    }
    body.update(overrides)
    return body


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_401_without_credentials(api_client):
    assert post(api_client, valid_body()).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["pharmacist", "anesthetist", "department_admin"])
def test_pharmacists_anesthetists_and_admins_may_check(request, persona):
    from tests.conftest import client_for

    client = client_for(request.getfixturevalue(persona))

    assert post(client, valid_body()).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["auditor", "roleless_user"])
def test_auditors_and_users_without_role_get_403(request, persona):
    from tests.conftest import client_for

    client = client_for(request.getfixturevalue(persona))

    assert post(client, valid_body()).status_code == 403


# --- the response contract -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_contract_example_gets_the_contract_answer(pharmacist_client):
    response = post(pharmacist_client, valid_body())

    assert response.status_code == 200
    payload = response.json()
    kb = get_knowledge_base()
    assert payload["knowledge_base"] == {"version": kb.version, "digest": kb.digest}
    assert payload["knowledge_base"]["digest"].startswith("sha256:")
    assert payload["at"] == AT
    assert payload["receptor_state"]["value"] == "mixed"
    assert payload["receptor_state"]["overridden"] is False
    assert {"condition": "myasthenia-gravis", "effect": "down"} in payload["receptor_state"][
        "sources"
    ]
    assert {"condition": "stroke", "effect": "up"} in payload["receptor_state"]["sources"]
    assert payload["highest_level"] == "contraindicated"
    assert [c["drug"] for c in payload["cautions"]] == [
        "succinylcholine",
        "rocuronium",
        "sugammadex",
    ]
    succinylcholine = payload["cautions"][0]
    assert succinylcholine["drug_class"] == "depolarizing-blocker"
    assert succinylcholine["level"] == "contraindicated"
    assert "hyperkalemia" in succinylcholine["effects"]
    stroke_finding = next(
        f for f in succinylcholine["findings"] if "condition:stroke" in f["triggered_by"]
    )
    assert stroke_finding["level"] == "contraindicated"
    assert stroke_finding["references"]
    assert stroke_finding["rationale"]


@pytest.mark.django_db
def test_every_finding_cites_references_the_knowledge_base_resolves(pharmacist_client):
    payload = post(pharmacist_client, valid_body()).json()
    known = set(get_knowledge_base().references)

    for caution in payload["cautions"]:
        for finding in caution["findings"]:
            assert finding["references"]
            assert set(finding["references"]) <= known


@pytest.mark.django_db
def test_the_caution_level_is_the_most_restrictive_finding(pharmacist_client):
    order = ["none", "monitor", "adjust", "avoid", "contraindicated"]
    payload = post(pharmacist_client, valid_body()).json()

    for caution in payload["cautions"]:
        levels = [f["level"] for f in caution["findings"]] or ["none"]
        assert caution["level"] == max(levels, key=order.index)


@pytest.mark.django_db
def test_a_receptor_state_override_is_reported_as_such(pharmacist_client):
    payload = post(pharmacist_client, valid_body(receptor_state="up", conditions=[])).json()

    assert payload["receptor_state"]["value"] == "up"
    assert payload["receptor_state"]["overridden"] is True
    assert payload["receptor_state"]["derived"] == "normal"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("hours_ago", "level"),
    # §4.2, major burn: 0 to <24 h MO, 24 to <72 h AV, from 72 h CI.
    [(2, "monitor"), (30, "avoid"), (80, "contraindicated")],
)
def test_at_defaults_to_now_in_utc_and_the_windows_are_measured_to_it(
    pharmacist_client, hours_ago, level
):
    before = dt.datetime.now(dt.UTC)
    burn = {
        "code": "burn",
        "onset": (before - dt.timedelta(hours=hours_ago)).isoformat(),
        "attributes": {"tbsa_percent": 40},
    }
    body = valid_body(conditions=[burn], medications=[], drugs=["succinylcholine"])
    del body["at"]

    response = post(pharmacist_client, body)

    after = dt.datetime.now(dt.UTC)
    assert response.status_code == 200
    at = dt.datetime.fromisoformat(response.json()["at"])
    assert at.utcoffset() == dt.timedelta(0)
    assert before <= at <= after
    assert response.json()["cautions"][0]["level"] == level


@pytest.mark.django_db
def test_a_date_only_onset_is_reported_as_an_assumption(pharmacist_client):
    body = valid_body(
        conditions=[{"code": "burn", "onset": "2026-11-17"}], drugs=["succinylcholine"]
    )

    payload = post(pharmacist_client, body).json()

    assert payload["cautions"][0]["level"] == "contraindicated"
    assert any("2026-11-17" in assumption for assumption in payload["assumptions"])


@pytest.mark.django_db
def test_a_date_only_onset_that_straddles_a_window_takes_the_most_cautious_phase(
    pharmacist_client,
):
    # A burn dated the day before: between about 8 and 56 hours old, so the 24-72 h phase is
    # possible and the under-24 h phase too. The most restrictive possible phase applies.
    body = valid_body(
        conditions=[{"code": "burn", "onset": "2026-11-21"}], drugs=["succinylcholine"]
    )

    caution = post(pharmacist_client, body).json()["cautions"][0]

    assert caution["level"] == "avoid"
    assert any("2026-11-21" in assumption for assumption in caution["assumptions"])


@pytest.mark.django_db
def test_an_unknown_onset_takes_the_most_cautious_level(pharmacist_client):
    body = valid_body(conditions=[{"code": "burn", "onset": None}], drugs=["succinylcholine"])

    caution = post(pharmacist_client, body).json()["cautions"][0]

    assert caution["level"] == "contraindicated"
    assert caution["assumptions"]


# --- one clear 400 per bad field -------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_drug_code_is_named_with_where_codes_are_listed(pharmacist_client):
    response = post(pharmacist_client, valid_body(drugs=["suxx"]))

    assert response.status_code == 400
    assert response.json() == {"drugs": [f"Unknown drug code 'suxx'. {HINT}"]}


@pytest.mark.django_db
def test_duplicate_drugs_are_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(drugs=["rocuronium", "rocuronium"]))

    assert response.status_code == 400
    assert response.json() == {"drugs": ["Drug 'rocuronium' is listed more than once."]}


@pytest.mark.django_db
def test_more_than_fifty_drugs_are_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(drugs=[f"drug-{n}" for n in range(51)]))

    assert response.status_code == 400
    assert response.json()["drugs"] == ["Give at most 50 planned drugs."]


@pytest.mark.django_db
@pytest.mark.parametrize("drugs", [[], None])
def test_no_drug_is_rejected(pharmacist_client, drugs):
    body = valid_body(drugs=drugs)

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    assert "drugs" in response.json()


@pytest.mark.django_db
def test_an_unknown_condition_code_is_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(conditions=[{"code": "flu"}]))

    assert response.status_code == 400
    assert response.json() == {"conditions": [{"code": [f"Unknown condition code 'flu'. {HINT}"]}]}


@pytest.mark.django_db
def test_an_unknown_attribute_is_rejected(pharmacist_client):
    body = valid_body(conditions=[{"code": "burn", "attributes": {"depth": "full"}}])

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    messages = response.json()["conditions"][0]["attributes"]
    assert len(messages) == 1
    assert messages[0].startswith("depth: ")


@pytest.mark.django_db
def test_an_attribute_value_outside_its_choices_is_rejected(pharmacist_client):
    body = valid_body(conditions=[{"code": "myasthenia-gravis", "attributes": {"antibody": "xyz"}}])

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    messages = response.json()["conditions"][0]["attributes"]
    assert messages[0].startswith("antibody: ")
    assert "xyz" in messages[0]


@pytest.mark.django_db
def test_a_number_attribute_out_of_range_is_rejected(pharmacist_client):
    body = valid_body(conditions=[{"code": "burn", "attributes": {"tbsa_percent": 140}}])

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    assert response.json()["conditions"][0]["attributes"][0].startswith("tbsa_percent: ")


@pytest.mark.django_db
def test_resolved_before_onset_is_rejected(pharmacist_client):
    body = valid_body(
        conditions=[{"code": "burn", "onset": "2026-11-10", "resolved": "2026-11-01"}]
    )

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    assert response.json() == {
        "conditions": [{"resolved": ["Resolved (2026-11-01) is before onset (2026-11-10)."]}]
    }


@pytest.mark.django_db
def test_an_onset_after_the_planned_time_is_rejected(pharmacist_client):
    body = valid_body(conditions=[{"code": "burn", "onset": "2026-11-25T10:00:00+00:00"}])

    response = post(pharmacist_client, body)

    assert response.status_code == 400
    assert response.json() == {
        "conditions": [
            {"onset": [f"Onset (2026-11-25T10:00:00+00:00) is after the planned time ({AT})."]}
        ]
    }


@pytest.mark.django_db
@pytest.mark.parametrize("weight", [0.2, 401, -5])
def test_a_weight_outside_0_3_to_400_kg_is_rejected(pharmacist_client, weight):
    response = post(pharmacist_client, valid_body(patient={"weight_kg": weight}))

    assert response.status_code == 400
    assert response.json() == {"patient": {"weight_kg": ["Weight must be between 0.3 and 400 kg."]}}


@pytest.mark.django_db
@pytest.mark.parametrize("onset", ["22/11/2026", "2026-13-01", "yesterday", 20261122])
def test_a_malformed_date_is_rejected(pharmacist_client, onset):
    response = post(pharmacist_client, valid_body(conditions=[{"code": "burn", "onset": onset}]))

    assert response.status_code == 400
    assert response.json()["conditions"][0]["onset"] == [
        "Enter a date (YYYY-MM-DD) or a date-time with an offset (YYYY-MM-DDThh:mm:ss+00:00)."
    ]


@pytest.mark.django_db
def test_a_time_without_offset_is_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(at="2026-11-22T08:00:00"))

    assert response.status_code == 400
    assert response.json() == {
        "at": ["Give the time zone offset, for example 2026-11-22T08:00:00+00:00."]
    }


@pytest.mark.django_db
def test_an_unknown_top_level_field_is_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(drug=["rocuronium"]))

    assert response.status_code == 400
    assert response.json() == {"drug": ["Unknown field. It is not part of this request."]}


@pytest.mark.django_db
def test_an_unknown_field_inside_a_condition_is_rejected(pharmacist_client):
    response = post(
        pharmacist_client, valid_body(conditions=[{"code": "burn", "onst": "2026-11-01"}])
    )

    assert response.status_code == 400
    assert response.json() == {
        "conditions": [{"onst": ["Unknown field. It is not part of this request."]}]
    }


@pytest.mark.django_db
def test_an_unknown_receptor_state_is_rejected(pharmacist_client):
    response = post(pharmacist_client, valid_body(receptor_state="sideways"))

    assert response.status_code == 400
    assert "receptor_state" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["[]", "null", '"text"', "{", '{"drugs": NaN}'])
def test_a_body_that_is_not_a_json_object_is_a_400(pharmacist_client, raw):
    response = pharmacist_client.post("/api/v1/checks", raw, content_type="application/json")

    assert response.status_code == 400


# --- performance guard -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_conditions_or_drugs(
    pharmacist_client, django_assert_num_queries
):
    small = valid_body(
        conditions=[{"code": "burn", "onset": "2026-11-01"}], medications=[], drugs=["rocuronium"]
    )
    large = valid_body(
        conditions=[
            {"code": code, "onset": "2026-11-01"}
            for code in [
                "burn",
                "stroke",
                "myasthenia-gravis",
                "sepsis",
                "epilepsy",
                "lambert-eaton",
                "renal-impairment",
                "immobilization",
            ]
        ],
        drugs=[drug.code for drug in list(get_knowledge_base().drugs.values())[:20]],
    )
    from tests.conftest import audit_append_queries

    # Expected queries: token and user lookup; the caller's checking departments with their
    # tunings in force (one statement, applied to what the check shows); the audit append.
    expected = 2 + audit_append_queries()
    with django_assert_num_queries(expected):
        assert post(pharmacist_client, small).status_code == 200
    with django_assert_num_queries(expected):
        assert post(pharmacist_client, large).status_code == 200


# --- audit ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_check_is_audited_with_its_input_digest_but_no_patient_data(pharmacist_client):
    import json

    from periop.audit.models import AuditEvent

    post(pharmacist_client, valid_body())

    event = AuditEvent.objects.get(resource_type="check")
    payload = json.loads(event.payload)
    assert event.action == "query"
    assert event.actor_username == "pharmacist"
    assert event.actor_kind == "api-client"
    assert event.data_time.isoformat() == AT
    assert payload["input_digest"].startswith("sha256:")
    assert payload["cautions"].keys() == {"succinylcholine", "rocuronium", "sugammadex"}
    assert "myasthenia" not in event.payload
    assert "stroke" not in event.payload


@pytest.mark.django_db
def test_the_same_input_gives_the_same_digest(pharmacist_client):
    import json

    from periop.audit.models import AuditEvent

    post(pharmacist_client, valid_body())
    post(pharmacist_client, valid_body())

    digests = {
        json.loads(event.payload)["input_digest"]
        for event in AuditEvent.objects.filter(resource_type="check")
    }
    assert len(digests) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("attributes", "level"),
    [
        ({"crcl_ml_min": 60}, "none"),
        ({"crcl_ml_min": 20}, "avoid"),
        ({"crcl_ml_min": 60, "dialysis": True}, "avoid"),
        ({}, "avoid"),  # unknown clearance counts as severe
    ],
)
def test_sugammadex_in_renal_impairment_follows_the_clearance(pharmacist_client, attributes, level):
    body = valid_body(
        conditions=[{"code": "renal-impairment", "onset": "2025-01-01", "attributes": attributes}],
        medications=[],
        drugs=["sugammadex"],
    )

    assert post(pharmacist_client, body).json()["cautions"][0]["level"] == level


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("onset", "0001-01-01T00:00:00+14:00"),
        ("resolved", "9999-12-31"),
        ("onset", "1850-06-01"),
    ],
)
def test_dates_at_the_edges_of_the_calendar_are_a_400_not_a_500(pharmacist_client, field, value):
    condition = {"code": "burn", "onset": "2026-11-01", field: value}

    response = post(pharmacist_client, valid_body(conditions=[condition]))

    assert response.status_code == 400
    assert response.json()["conditions"][0][field][0].startswith("Enter a date")


# --- v1.1 card fields (additive) -----------------------------------------------------------


@pytest.mark.django_db
def test_a_contraindicated_caution_leads_with_instead_and_flags_its_dose_for_an_override(
    pharmacist_client,
):
    # §4.2, stroke with motor deficit 72 hours to 6 months: SUX CI. §5, MG generalised x SUX: DA
    # with a teaching dose (C: S28), which may be shown only as guidance after an override.
    payload = post(pharmacist_client, valid_body()).json()
    succinylcholine, rocuronium, _ = payload["cautions"]

    assert succinylcholine["instead"] == "Do not give succinylcholine (suxamethonium)."
    assert succinylcholine["only_after_override"] is True
    assert not succinylcholine["summary"].startswith("Opposing effects")
    # §5, MG generalised x AMINO: DA; stroke x AMINO: MO SENS-. Usable: no instead, and its
    # dose is for this patient.
    assert rocuronium["level"] == "adjust"
    assert rocuronium["instead"] == ""
    assert rocuronium["only_after_override"] is False
    assert rocuronium["dose"]["only_after_override"] is False
    # Every v1 field is still there.
    assert set(succinylcholine) >= {
        "drug",
        "drug_class",
        "level",
        "effects",
        "conflict",
        "summary",
        "findings",
        "dose",
        "monitoring",
        "reversal",
        "assumptions",
    }


@pytest.mark.django_db
def test_an_avoid_cautions_dose_is_flagged_for_an_override_only(pharmacist_client):
    # §5, BChE deficiency homozygous x SUX: AV PROLONG; "if unavoidable, label test dose 5-10 mg"
    # (B: S13).
    body = valid_body(
        conditions=[
            {
                "code": "butyrylcholinesterase-deficiency",
                "onset": None,
                "attributes": {"genotype": "homozygous"},
            }
        ],
        medications=[],
        drugs=["succinylcholine"],
    )

    (caution,) = post(pharmacist_client, body).json()["cautions"]

    assert caution["level"] == "avoid"
    assert caution["instead"].startswith("Avoid succinylcholine (suxamethonium) unless")
    assert caution["dose"]["total_mg"] == {"min": "5", "max": "10"}
    assert caution["dose"]["only_after_override"] is True


@pytest.mark.django_db
def test_no_caution_recommends_sugammadex_when_the_check_rates_it_avoid(pharmacist_client):
    # §7, sugammadex x severe renal impairment: AV (B: S85); §5, MG generalised x NEO: DA,
    # "prefer SUG" (B: S86, S87).
    body = valid_body(
        conditions=[
            {
                "code": "myasthenia-gravis",
                "onset": "2024-05-01",
                "attributes": {"antibody": "achr"},
            },
            {"code": "renal-impairment", "onset": None, "attributes": {"crcl_ml_min": 20}},
        ],
        medications=[],
        drugs=["neostigmine", "sugammadex"],
    )

    neostigmine, sugammadex = post(pharmacist_client, body).json()["cautions"]

    assert sugammadex["level"] == "avoid"
    assert "prefer sugammadex" not in neostigmine["reversal"].lower()
    assert "sugammadex preferred" not in neostigmine["summary"].lower()
    assert neostigmine["reversal"] == (
        "Sugammadex is rated avoid in this evaluation, so advice to use it is left out."
    )


@pytest.mark.django_db
def test_a_contraindicated_caution_names_the_alternative_the_reference_gives(pharmacist_client):
    # §6.4 and worked example V13: a major burn 5 days old contraindicates succinylcholine, and
    # the reference names rocuronium (1.2 mg/kg, S09) as the alternative.
    burn = {
        "code": "burn",
        "onset": "2026-11-17T08:00:00+00:00",
        "attributes": {"tbsa_percent": 35},
    }
    body = valid_body(conditions=[burn], medications=[], drugs=["succinylcholine"])

    (caution,) = post(pharmacist_client, body).json()["cautions"]

    assert caution["level"] == "contraindicated"
    assert caution["alternatives"] == ["rocuronium"]


@pytest.mark.django_db
def test_no_alternative_is_named_when_it_is_already_planned_or_the_caution_is_milder(
    pharmacist_client,
):
    burn = {
        "code": "burn",
        "onset": "2026-11-17T08:00:00+00:00",
        "attributes": {"tbsa_percent": 35},
    }
    body = valid_body(conditions=[burn], medications=[], drugs=["succinylcholine", "rocuronium"])

    succinylcholine, rocuronium = post(pharmacist_client, body).json()["cautions"]

    assert succinylcholine["level"] == "contraindicated"
    assert succinylcholine["alternatives"] == []
    assert rocuronium["alternatives"] == []
