"""POST /cds-services/periop-nmj: order-sign and order-select, prefetch complete, null, partial
(fetched from the FHIR server) and absent (412), and the cards (standards-reference §1.4-§1.5,
CDSH-02 to CDSH-06). Levels are those of clinical-reference §5."""

from __future__ import annotations

import uuid

import httpx
import pytest
import respx

from periop.audit.models import AuditEvent
from periop.interop.models import CdsCard
from tests.conftest import nothing_changes
from tests.interop.conftest import (
    ATC,
    HYPERTENSION,
    ICD10CM,
    MYASTHENIA,
    PATIENT,
    RXNORM,
    SNOMED,
    assert_valid_response,
    condition,
    days_ago,
    full_prefetch,
    hook_body,
    order,
    searchset,
)

pytestmark = pytest.mark.django_db

SUCCINYLCHOLINE = order("mr-sux", (ATC, "M03AB01"), text="succinylcholine chloride injection")
GENTAMICIN = order("mr-gent", (ATC, "J01GB03"), text="gentamicin injection")
SUGAMMADEX = order("mr-sug", (ATC, "V03AB35"), text="sugammadex injection")
ROCURONIUM = order("mr-roc", (ATC, "M03AC09"), text="rocuronium injection")
FHIR = "https://fhir.hospital.example/r4"


def _cards_by_order(answer):
    """Each card keyed by the order its detail names (the unmapped cards by their reference)."""
    return {card["summary"]: card for card in answer["cards"]}


def _indicators(answer):
    return sorted(card["indicator"] for card in answer["cards"])


def test_order_sign_gives_one_card_per_drug_with_the_level_as_indicator(call):
    body = hook_body(SUCCINYLCHOLINE, GENTAMICIN, SUGAMMADEX, prefetch=full_prefetch(MYASTHENIA))

    response = call(body)

    assert response.status_code == 200
    answer = response.json()
    assert_valid_response(answer)
    summaries = [card["summary"] for card in answer["cards"]]
    # §5, MG generalised: SUX DA (adjust), AG AV (avoid), SUG MO (monitor).
    assert [summary.split(":")[0] for summary in summaries] == ["Adjust", "Avoid", "Monitor"]
    assert [card["indicator"] for card in answer["cards"]] == ["warning", "critical", "info"]
    assert "Succinylcholine" in summaries[0]
    assert "Gentamicin" in summaries[1]
    assert "Sugammadex" in summaries[2]


def test_an_avoided_drug_gets_a_suggestion_to_remove_its_order(call):
    answer = call(hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))).json()

    (card,) = answer["cards"]
    assert card["indicator"] == "critical"
    assert card["selectionBehavior"] == "at-most-one"
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order gentamicin injection.",
            "resourceId": "MedicationRequest/mr-gent",
        }
    ]


def test_a_card_offers_the_closed_override_reasons_with_displays(call):
    answer = call(hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))).json()

    codes = [reason["code"] for reason in answer["cards"][0]["overrideReasons"]]
    assert codes == [
        "benefit-outweighs-risk",
        "no-alternative",
        "already-tolerated",
        "caution-not-applicable",
        "other-documented",
    ]


def test_the_detail_lists_the_conditions_taken_into_account_and_not_the_others(call):
    answer = call(
        hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(MYASTHENIA, HYPERTENSION))
    ).json()

    detail = answer["cards"][0]["detail"]
    assert "**Conditions taken into account**" in detail
    assert "Myasthenia gravis" in detail
    assert "ypertension" not in detail
    assert "**Reasons**" in detail


def test_a_condition_coded_in_icd_10_cm_counts_like_one_in_snomed(call):
    # §5, Duchenne / Becker MD: SUX CI.
    duchenne = condition("c-dmd", (ICD10CM, "G71.01"), onset="2012-06-01")

    answer = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(duchenne))).json()

    (card,) = answer["cards"]
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Contraindicated: ")


def test_no_caution_gives_an_empty_card_list(call):
    # §5, no NMJ condition: SUX NO.
    answer = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(HYPERTENSION))).json()

    assert answer == {"cards": []}


HOOKS = [
    pytest.param({"hook": "order-sign"}, id="order-sign"),
    pytest.param(
        {"hook": "order-select", "selections": ["MedicationRequest/mr-sux"]}, id="order-select"
    ),
]


@pytest.mark.parametrize("hook", HOOKS)
def test_prefetch_keys_sent_as_null_mean_nothing_recorded(call, hook):
    prefetch = {
        "patient": None,
        "conditions": None,
        "medicationRequests": None,
        "medicationStatements": None,
        "bodyWeight": None,
        "serumPotassium": None,
        "serumMagnesium": None,
    }

    response = call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch, **hook))

    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_an_empty_searchset_is_evaluated_as_no_recorded_conditions(call):
    response = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch()))

    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_a_resolved_burn_inside_its_window_still_counts(call):
    # §4.2, major burn: CI from 72 h until wounds healed and at least 2 years after injury.
    burn = condition(
        "c-burn",
        (SNOMED, "125666000"),
        onset=days_ago(40),
        abatement=days_ago(10),
        status="resolved",
    )

    answer = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(burn))).json()

    (card,) = answer["cards"]
    assert card["indicator"] == "critical"
    assert "Burn" in card["detail"]
    assert "resolved" in card["detail"]


def test_entered_in_error_conditions_are_ignored(call):
    wrong = dict(MYASTHENIA)
    wrong["verificationStatus"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "entered-in-error",
            }
        ]
    }
    del wrong["clinicalStatus"]

    answer = call(hook_body(GENTAMICIN, prefetch=full_prefetch(wrong))).json()

    assert answer == {"cards": []}


def test_an_unmappable_order_gets_an_info_card_saying_it_was_not_checked(call):
    # RxNorm codes are unconfirmed (standards-reference §2.9), so they are never matched.
    unknown = order("mr-x", (RXNORM, "12345"), text="an RxNorm-coded drug")

    answer = call(hook_body(unknown, prefetch=full_prefetch(MYASTHENIA))).json()

    assert_valid_response(answer)
    (card,) = answer["cards"]
    assert card["indicator"] == "info"
    assert card["summary"].startswith("Not checked: an RxNorm-coded drug")
    assert "MedicationRequest/mr-x" in card["detail"]


def test_an_unmappable_order_needs_no_patient_data(call):
    unknown = order("mr-x", (RXNORM, "12345"), text="an RxNorm-coded drug")

    response = call(hook_body(unknown))

    assert response.status_code == 200
    assert len(response.json()["cards"]) == 1


def test_order_select_guides_only_the_selected_orders(call):
    body = hook_body(
        ROCURONIUM,
        GENTAMICIN,
        hook="order-select",
        selections=["MedicationRequest/mr-roc"],
        prefetch=full_prefetch(MYASTHENIA),
    )

    answer = call(body).json()

    assert_valid_response(answer)
    (card,) = answer["cards"]
    assert "Rocuronium" in card["summary"]
    # The gentamicin draft is context: §7, an aminoglycoside potentiates every blocker.
    assert "minoglycoside" in card["detail"]


def test_order_select_refuses_a_selection_outside_the_draft_orders(call):
    body = hook_body(
        ROCURONIUM,
        hook="order-select",
        selections=["MedicationRequest/elsewhere"],
        prefetch=full_prefetch(MYASTHENIA),
    )

    with nothing_changes():
        response = call(body)

    assert response.status_code == 400
    assert "context.selections" in response.json()


def test_absent_prefetch_without_a_fhir_server_is_412_recorded_as_not_completed(call):
    body = hook_body(SUCCINYLCHOLINE)

    response = call(body)

    assert response.status_code == 412
    assert CdsCard.objects.count() == 0
    # The EHR shows no caution: the ledger says the check was not done, not that none applied.
    event = AuditEvent.objects.get(resource_type="cds-hook")
    assert (event.outcome, event.request_id) == ("failure", body["hookInstance"])
    assert "not completed" in event.payload


def test_a_missing_conditions_key_is_412_never_an_empty_answer(call):
    prefetch = full_prefetch()
    del prefetch["conditions"]

    response = call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch))

    assert response.status_code == 412
    assert response.json()["prefetch"] == ["conditions"]


@respx.mock
def test_a_malformed_key_is_fetched_again_from_the_fhir_server(call):
    conditions = respx.get(f"{FHIR}/Condition").mock(
        return_value=httpx.Response(200, json=searchset(MYASTHENIA))
    )
    prefetch = full_prefetch(conditions={"resourceType": "Patient"})

    answer = call(hook_body(GENTAMICIN, prefetch=prefetch, fhirServer=FHIR)).json()

    assert conditions.call_count == 1
    assert [card["indicator"] for card in answer["cards"]] == ["critical"]


def test_an_operation_outcome_for_a_key_is_412_without_a_fhir_server(call):
    prefetch = full_prefetch(
        conditions={"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    )

    response = call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch))

    assert response.status_code == 412


@pytest.mark.parametrize(
    "hook",
    [
        pytest.param({"hook": "order-sign"}, id="order-sign"),
        pytest.param(
            {"hook": "order-select", "selections": ["MedicationRequest/mr-gent"]},
            id="order-select",
        ),
    ],
)
@respx.mock
def test_partial_prefetch_fetches_the_missing_keys_from_the_fhir_server(call, hook):
    conditions = respx.get(f"{FHIR}/Condition", params={"patient": "pat-1"}).mock(
        return_value=httpx.Response(200, json=searchset(MYASTHENIA))
    )
    prefetch = full_prefetch()
    del prefetch["conditions"]
    body = hook_body(
        GENTAMICIN,
        prefetch=prefetch,
        **hook,
        fhirServer=FHIR,
        fhirAuthorization={
            "access_token": "secret-access-token",
            "token_type": "Bearer",
            "expires_in": 30,
            "scope": "patient/Condition.read",
            "subject": "periop",
        },
    )

    answer = call(body).json()

    assert conditions.call_count == 1
    assert conditions.calls.last.request.headers["Authorization"] == "Bearer secret-access-token"
    assert [card["indicator"] for card in answer["cards"]] == ["critical"]


@respx.mock
def test_absent_prefetch_is_fetched_whole_from_the_fhir_server(call):
    respx.get(f"{FHIR}/Patient/pat-1").mock(return_value=httpx.Response(200, json=PATIENT))
    respx.get(f"{FHIR}/Condition").mock(
        return_value=httpx.Response(200, json=searchset(MYASTHENIA))
    )
    respx.get(f"{FHIR}/MedicationRequest").mock(return_value=httpx.Response(200, json=searchset()))
    respx.get(f"{FHIR}/MedicationStatement").mock(
        return_value=httpx.Response(200, json=searchset())
    )

    for hook, extra in (
        ("order-sign", {}),
        ("order-select", {"selections": ["MedicationRequest/mr-gent"]}),
    ):
        answer = call(hook_body(GENTAMICIN, hook=hook, fhirServer=FHIR, **extra)).json()
        assert [card["indicator"] for card in answer["cards"]] == ["critical"], hook


@respx.mock
def test_a_fhir_server_that_fails_gives_412(call):
    respx.get(f"{FHIR}/Patient/pat-1").mock(return_value=httpx.Response(200, json=PATIENT))
    respx.get(f"{FHIR}/Condition").mock(side_effect=httpx.ConnectTimeout("slow"))
    respx.get(f"{FHIR}/MedicationRequest").mock(return_value=httpx.Response(200, json=searchset()))
    respx.get(f"{FHIR}/MedicationStatement").mock(return_value=httpx.Response(500))

    response = call(hook_body(GENTAMICIN, fhirServer=FHIR))

    assert response.status_code == 412
    assert response.json()["prefetch"] == ["conditions", "medicationStatements"]


@respx.mock
def test_a_page_link_to_another_host_is_not_followed(call):
    first_page = searchset(MYASTHENIA)
    first_page["link"] = [{"relation": "next", "url": "https://elsewhere.example/page2"}]
    elsewhere = respx.get("https://elsewhere.example/page2")
    # The key is asked for again, whole, from the client's own FHIR server.
    own = respx.get(f"{FHIR}/Condition").mock(
        return_value=httpx.Response(200, json=searchset(MYASTHENIA))
    )

    response = call(
        hook_body(GENTAMICIN, prefetch=full_prefetch(conditions=first_page), fhirServer=FHIR)
    )

    assert response.status_code == 200
    assert not elsewhere.called
    assert own.call_count == 1


def test_a_second_page_without_a_fhir_server_is_412(call):
    first_page = searchset(MYASTHENIA)
    first_page["link"] = [{"relation": "next", "url": f"{FHIR}/Condition?page=2"}]

    response = call(hook_body(GENTAMICIN, prefetch=full_prefetch(conditions=first_page)))

    assert response.status_code == 412


def test_a_plain_http_fhir_server_is_refused(call):
    response = call(hook_body(GENTAMICIN, fhirServer="http://fhir.hospital.example/r4"))

    assert response.status_code == 400
    assert "fhirServer" in response.json()


def test_a_stopped_medication_reaches_the_engine(call):
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "N07AA02"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectivePeriod": {"start": "2020-01-01", "end": days_ago(3)[:10]},
    }

    answer = call(
        hook_body(
            SUGAMMADEX,
            prefetch=full_prefetch(MYASTHENIA, medicationStatements=searchset(statement)),
        )
    ).json()

    assert "Pyridostigmine (started 2020-01-01, stopped" in answer["cards"][0]["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.pop("hook"), "hook"),
        (lambda body: body.pop("hookInstance"), "hookInstance"),
        (lambda body: body.pop("context"), "context"),
        (lambda body: body.update(hook="patient-view"), "hook"),
        (lambda body: body.update(hookInstance="not-a-uuid"), "hookInstance"),
        (
            lambda body: body.update(
                fhirAuthorization={"access_token": "t", "token_type": "Bearer"}
            ),
            "fhirServer",
        ),
        (lambda body: body["context"].pop("draftOrders"), "context.draftOrders"),
        (lambda body: body.update(prefetch=[]), "prefetch"),
    ],
)
def test_a_malformed_request_is_400_naming_the_field(call, change, field):
    body = hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch())
    change(body)

    with nothing_changes():
        response = call(body)

    assert response.status_code == 400
    assert field in response.json()


def test_an_order_select_without_selections_is_400(call):
    body = hook_body(SUCCINYLCHOLINE, hook="order-select", prefetch=full_prefetch())

    assert call(body).status_code == 400


def test_an_unknown_service_is_404(call):
    response = call(hook_body(SUCCINYLCHOLINE), path="/cds-services/elsewhere")

    assert response.status_code == 404


def test_the_same_request_gives_the_same_cards_with_unique_uuids(call):
    body = hook_body(SUCCINYLCHOLINE, GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))

    first, second = call(body).json(), call(body).json()

    def content(answer):
        return [
            {key: value for key, value in card.items() if key not in {"uuid", "suggestions"}}
            for card in answer["cards"]
        ]

    assert content(first) == content(second)
    uuids = [card["uuid"] for answer in (first, second) for card in answer["cards"]]
    assert len(set(uuids)) == len(uuids)


def test_the_call_is_recorded_like_a_check_with_the_hook_instance(call, cds_client):
    body = hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))

    answer = call(body).json()

    event = AuditEvent.objects.get(resource_type="cds-hook")
    assert event.action == "query"
    assert event.data_category == "nmj-drug-check"
    assert event.request_id == body["hookInstance"]
    assert event.department_id == cds_client.department_id
    assert '"gentamicin":"avoid"' in event.payload
    card = CdsCard.objects.get()
    assert str(card.uuid) == answer["cards"][0]["uuid"]
    assert (card.drug, card.level) == ("gentamicin", "avoid")
    # No patient data in the ledger: the patient's id and conditions stay out.
    assert "pat-1" not in event.payload
    assert "91637004" not in event.payload


def test_card_uuids_are_valid(call):
    answer = call(hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA))).json()

    assert uuid.UUID(answer["cards"][0]["uuid"]).version == 4


def _queries(call, body):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert call(body).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_call_costs_the_same_queries_for_one_order_and_five(call):
    one = _queries(call, hook_body(GENTAMICIN, prefetch=full_prefetch(MYASTHENIA)))
    five = _queries(
        call,
        hook_body(
            SUCCINYLCHOLINE,
            GENTAMICIN,
            SUGAMMADEX,
            ROCURONIUM,
            order("mr-x", (RXNORM, "1"), text="unknown"),
            prefetch=full_prefetch(MYASTHENIA, HYPERTENSION),
        ),
    )

    # The client; the jti remembered (in a savepoint) and expired ones forgotten; the audit
    # append; the cards in one insert; savepoints around them. Never one per order or card.
    assert len(one) == len(five), "\n".join(five)
    assert len(five) <= 12, "\n".join(five)


@respx.mock
def test_the_pages_after_a_prefetched_first_page_are_fetched(call):
    first_page = searchset(MYASTHENIA)
    first_page["link"] = [{"relation": "next", "url": f"{FHIR}/Condition?page=2"}]
    duchenne = condition("c-dmd", (ICD10CM, "G71.01"), onset="2012-06-01")
    respx.get(f"{FHIR}/Condition", params={"page": "2"}).mock(
        return_value=httpx.Response(200, json=searchset(duchenne))
    )

    answer = call(
        hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(conditions=first_page), fhirServer=FHIR)
    ).json()

    # §5, Duchenne / Becker MD: SUX CI, found on the second page only.
    assert [card["indicator"] for card in answer["cards"]] == ["critical"]
    assert "Myasthenia gravis" in answer["cards"][0]["detail"]


def test_an_unknown_onset_is_named_as_an_assumption(call):
    # A month without a day is an unknown onset: the engine takes the most cautious reading.
    burn = condition("c-burn", (SNOMED, "125666000"), onset="2026-11")

    answer = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(burn))).json()

    (card,) = answer["cards"]
    assert "**Assumptions**" in card["detail"]
    assert "Burn injury (onset unknown, ongoing)" in card["detail"]


def test_an_onset_in_the_future_is_read_as_unknown_not_refused(call):
    burn = condition("c-burn", (SNOMED, "125666000"), onset=days_ago(-3))

    response = call(hook_body(SUCCINYLCHOLINE, prefetch=full_prefetch(burn)))

    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert "onset in the future" in card["detail"]
    # §4.2, major burn: an unknown onset takes the most cautious window (CI).
    assert card["indicator"] == "critical"
