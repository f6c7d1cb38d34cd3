"""Observations by LOINC in a hook call: body weight (dose per kg), serum potassium and serum
magnesium (attributes of recorded conditions), from prefetch or fetched from the FHIR server;
the latest final, amended or corrected result in an accepted unit; each card lists them."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import respx
from django.utils import timezone

from periop.drugs import registry
from periop.drugs.engine.loader import load_knowledge_base_texts, read_release_files
from tests.interop.conftest import (
    ATC,
    ICD10CM,
    MYASTHENIA,
    PATIENT,
    condition,
    full_prefetch,
    hook_body,
    order,
    searchset,
)

pytestmark = pytest.mark.django_db

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
FHIR = "https://fhir.hospital.example/r4"
ROCURONIUM = order("mr-roc", (ATC, "M03AC09"), text="rocuronium injection")
SUCCINYLCHOLINE = order("mr-sux", (ATC, "M03AB01"), text="succinylcholine injection")
MAGNESIUM = order("mr-mg", (ATC, "B05XA05"), text="magnesium sulfate infusion")
GENTAMICIN = order("mr-gent", (ATC, "J01GB03"), text="gentamicin injection")


def observation(
    obs_id: str,
    code: str,
    value: float,
    unit: str,
    *,
    days: float,
    status: str = "final",
) -> dict:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": (timezone.now() - dt.timedelta(days=days)).isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def _only_card(response):
    assert response.status_code == 200, response.content
    cards = response.json()["cards"]
    assert len(cards) == 1
    return cards[0]


def test_the_latest_final_weight_turns_the_dose_per_kg_into_mg(call):
    weights = searchset(
        observation("w-old", "29463-7", 70, "kg", days=200),
        observation("w-new", "29463-7", 80, "kg", days=3),
        # Later, but not results to act on.
        observation("w-pre", "29463-7", 90, "kg", days=1, status="preliminary"),
        observation("w-err", "29463-7", 100, "kg", days=1, status="entered-in-error"),
    )
    prefetch = full_prefetch(MYASTHENIA, bodyWeight=weights)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    # Rocuronium in myasthenia: 0.5-0.6 mg/kg (clinical-reference §5), so 40 to 48 mg at 80 kg.
    assert "For this patient's weight: 40 to 48 mg." in card["detail"]
    assert "**Observations taken into account**" in card["detail"]
    assert "Body weight 80 kg on " in card["detail"]
    assert "(LOINC 29463-7)" in card["detail"]
    assert "no age limit is applied" in card["detail"]


def test_a_weight_in_another_unit_is_not_used_and_the_card_says_so(call):
    weights = searchset(
        observation("w-kg", "29463-7", 80, "kg", days=30),
        observation("w-lb", "29463-7", 170, "[lb_av]", days=2),
    )
    prefetch = full_prefetch(MYASTHENIA, bodyWeight=weights)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    assert "For this patient's weight: 40 to 48 mg." in card["detail"]
    assert "170 [lb_av]" in card["detail"]
    assert "is in a unit Periop does not read (it reads kg): it was not used." in card["detail"]


def test_a_weight_key_sent_as_null_is_no_weight_recorded(call):
    prefetch = full_prefetch(MYASTHENIA, bodyWeight=None)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    assert "For this patient's weight" not in card["detail"]
    assert "Body weight: no usable result recorded." in card["detail"]


def test_an_impossible_weight_is_named_and_not_used_never_a_400(call):
    weights = searchset(observation("w-0", "29463-7", 0, "kg", days=1))
    prefetch = full_prefetch(MYASTHENIA, bodyWeight=weights)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    assert "For this patient's weight" not in card["detail"]
    assert "was not used: outside 0 to 1000 kg" in card["detail"]


def test_a_result_dated_in_the_future_is_not_used(call):
    weights = searchset(observation("w-future", "29463-7", 80, "kg", days=-2))
    prefetch = full_prefetch(MYASTHENIA, bodyWeight=weights)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    assert "For this patient's weight" not in card["detail"]
    assert "A body weight result dated in the future" in card["detail"]


def test_a_weight_neither_sent_nor_fetchable_leaves_doses_per_kg_and_says_so(call):
    """A missing weight changes no level (only the mg of a dose per kg), so the call goes on,
    and the card says the weight could not be read rather than that none is recorded."""
    prefetch = full_prefetch(MYASTHENIA)
    del prefetch["bodyWeight"]

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    assert "For this patient's weight" not in card["detail"]
    assert "No body weight could be read" in card["detail"]
    assert "no usable result recorded" not in card["detail"]
    with_weight = _only_card(
        call(
            hook_body(
                ROCURONIUM,
                prefetch=full_prefetch(
                    MYASTHENIA,
                    bodyWeight=searchset(observation("w-1", "29463-7", 80, "kg", days=1)),
                ),
            )
        )
    )
    assert with_weight["indicator"] == card["indicator"]


def test_observations_that_cannot_change_the_cards_are_not_asked_for(call):
    # Gentamicin has no dose per kg in the knowledge base and myasthenia no laboratory
    # attribute: the call needs no observation, so their absence is no 412.
    prefetch = full_prefetch(MYASTHENIA)
    for key in ("bodyWeight", "serumPotassium", "serumMagnesium"):
        del prefetch[key]

    response = call(hook_body(GENTAMICIN, prefetch=prefetch))

    assert response.status_code == 200
    assert "Observations taken into account" not in response.json()["cards"][0]["detail"]


@respx.mock
def test_a_weight_left_out_of_prefetch_is_fetched_by_loinc_from_the_fhir_server(call):
    weight = respx.get(
        f"{FHIR}/Observation", params={"patient": "pat-1", "code": f"{LOINC}|29463-7"}
    ).mock(
        return_value=httpx.Response(
            200, json=searchset(observation("w-1", "29463-7", 80, "kg", days=5))
        )
    )
    prefetch = full_prefetch(MYASTHENIA)
    del prefetch["bodyWeight"]
    body = hook_body(
        ROCURONIUM,
        prefetch=prefetch,
        fhirServer=FHIR,
        fhirAuthorization={
            "access_token": "secret-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Observation.read",
            "subject": "periop",
        },
    )

    card = _only_card(call(body))

    assert weight.call_count == 1
    assert weight.calls[0].request.headers["Authorization"] == "Bearer secret-token"
    assert "For this patient's weight: 40 to 48 mg." in card["detail"]


@respx.mock
def test_absent_prefetch_fetches_everything_the_call_needs(call):
    respx.get(f"{FHIR}/Patient/pat-1").mock(return_value=httpx.Response(200, json=PATIENT))
    respx.get(f"{FHIR}/Condition").mock(
        return_value=httpx.Response(200, json=searchset(MYASTHENIA))
    )
    respx.get(f"{FHIR}/MedicationRequest").mock(return_value=httpx.Response(200, json=searchset()))
    respx.get(f"{FHIR}/MedicationStatement").mock(
        return_value=httpx.Response(200, json=searchset())
    )
    weight = respx.get(f"{FHIR}/Observation").mock(
        return_value=httpx.Response(
            200, json=searchset(observation("w-1", "29463-7", 80, "kg", days=5))
        )
    )

    card = _only_card(call(hook_body(ROCURONIUM, fhirServer=FHIR)))

    # Only the weight can matter here: potassium and magnesium are not asked for.
    assert weight.call_count == 1
    assert "29463-7" in str(weight.calls[0].request.url.params["code"])
    assert "For this patient's weight: 40 to 48 mg." in card["detail"]


@respx.mock
def test_a_fhir_server_that_fails_on_the_weight_leaves_doses_per_kg_and_says_so(call):
    respx.get(f"{FHIR}/Observation").mock(return_value=httpx.Response(503))
    prefetch = full_prefetch(MYASTHENIA)
    del prefetch["bodyWeight"]

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch, fhirServer=FHIR)))

    assert "No body weight could be read" in card["detail"]


# --- Potassium and magnesium -------------------------------------------------------------------
# No SNOMED CT or ICD-10-CM code for renal impairment or hypermagnesaemia is confirmed, so the
# real knowledge base maps none and these conditions cannot arrive through CDS Hooks yet. These
# tests give them a local test code in a copy of the knowledge base, to show how a recorded
# potassium or magnesium reaches the rules once such a code is confirmed.
RENAL = condition("c-renal", (ICD10CM, "TEST-RENAL"), onset="2020-01-01")
HYPERMAGNESAEMIA = condition("c-hypermg", (ICD10CM, "TEST-HYPERMG"), onset="2020-01-01")


@pytest.fixture
def test_codes(monkeypatch):
    texts = read_release_files(registry.knowledge_base_directory())
    conditions = texts["conditions.toml"]
    for code, test_code in (
        ("renal-impairment", "TEST-RENAL"),
        ("hypermagnesemia", "TEST-HYPERMG"),
    ):
        conditions = conditions.replace(
            f'code = "{code}"\n', f'code = "{code}"\nicd10cm = ["{test_code}"]\n', 1
        )
    texts["conditions.toml"] = conditions
    monkeypatch.setattr(registry, "_active", load_knowledge_base_texts(texts, "test codes"))


def _potassium(value, unit, days=1):
    return searchset(observation("k-1", "2823-3", value, unit, days=days))


@pytest.mark.parametrize(
    ("potassium", "indicator"),
    [
        # Renal impairment: 5.5 mmol/L or more, or not recorded, contraindicates succinylcholine;
        # below it a single usual dose (S100, S101).
        (None, "critical"),
        (_potassium(4.2, "mmol/L"), "info"),
        (_potassium(4.2, "meq/L"), "info"),  # for potassium mmol/L equals mEq/L (S159)
        (_potassium(6.1, "mmol/L"), "critical"),
    ],
)
def test_a_recorded_potassium_reaches_the_renal_impairment_rules(
    call, test_codes, potassium, indicator
):
    prefetch = full_prefetch(RENAL, bodyWeight=None, serumPotassium=potassium)

    card = _only_card(call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch)))

    assert card["indicator"] == indicator
    if potassium is None:
        assert "Serum potassium: no usable result recorded." in card["detail"]
    else:
        assert "(LOINC 2823-3)" in card["detail"]


def test_a_potassium_in_an_unread_unit_leaves_the_cautious_reading(call, test_codes):
    prefetch = full_prefetch(RENAL, bodyWeight=None, serumPotassium=_potassium(16.4, "mg/dL"))

    card = _only_card(call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch)))

    assert card["indicator"] == "critical"
    assert "16.4 mg/dL" in card["detail"]
    assert "it was not used" in card["detail"]


def test_a_needed_potassium_neither_sent_nor_fetchable_is_412(call, test_codes):
    prefetch = full_prefetch(RENAL, bodyWeight=None)
    del prefetch["serumPotassium"]

    response = call(hook_body(SUCCINYLCHOLINE, prefetch=prefetch))

    assert response.status_code == 412
    assert response.json()["prefetch"] == ["serumPotassium"]


@pytest.mark.parametrize(
    ("results", "indicator"),
    [
        # 9.0 mg/dL (3.7 mmol/L) or more: avoid more magnesium; below it, monitor.
        ([observation("mg-1", "2601-3", 4.0, "mmol/L", days=1)], "critical"),
        ([observation("mg-1", "2601-3", 1.0, "mmol/L", days=1)], "info"),
        ([observation("mg-1", "19123-9", 9.5, "mg/dL", days=1)], "critical"),
        # The latest of either code is the one used.
        (
            [
                observation("mg-old", "2601-3", 4.0, "mmol/L", days=10),
                observation("mg-new", "19123-9", 2.0, "mg/dL", days=1),
            ],
            "info",
        ),
    ],
)
def test_a_recorded_magnesium_of_either_code_reaches_the_hypermagnesaemia_rules(
    call, test_codes, results, indicator
):
    prefetch = full_prefetch(HYPERMAGNESAEMIA, serumMagnesium=searchset(*results))

    card = _only_card(call(hook_body(MAGNESIUM, prefetch=prefetch)))

    assert card["indicator"] == indicator
    assert "Serum magnesium " in card["detail"]


def _child(birth_date: str) -> dict:
    return {"resourceType": "Patient", "id": "pat-1", "birthDate": birth_date, "gender": "male"}


def _two_years_ago() -> str:
    """A birth date a little over two years before today (whatever today is)."""
    return (timezone.now().date() - dt.timedelta(days=2 * 365 + 20)).isoformat()


def test_a_weight_implausible_for_the_childs_age_is_flagged_beside_the_dose(call):
    """60 kg for a 2-year-old boy (a weight in the wrong units, say) gives the warning an
    assessment gives, on every card, next to the dose worked out from it: never silence."""
    weights = searchset(observation("w-1", "29463-7", 60, "kg", days=1))
    prefetch = full_prefetch(MYASTHENIA, patient=_child(_two_years_ago()), bodyWeight=weights)

    card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

    detail = card["detail"]
    assert (
        "**Check:** Weight 60 kg is outside the plausible range of the CDC growth charts for a "
        "boy aged 2" in detail
    )
    assert "Check the weight and its units (kg)." in detail
    # The warning never blocks: the dose for the weight is still given, after it.
    assert detail.index("**Check:**") < detail.index("For this patient's weight:")


def test_a_plausible_child_weight_or_an_adult_gives_no_weight_warning(call):
    for patient, kilograms in ((_child(_two_years_ago()), 12), (PATIENT, 250)):
        weights = searchset(observation("w-1", "29463-7", kilograms, "kg", days=1))
        prefetch = full_prefetch(MYASTHENIA, patient=patient, bodyWeight=weights)

        card = _only_card(call(hook_body(ROCURONIUM, prefetch=prefetch)))

        assert "**Check:**" not in card["detail"]
        assert "For this patient's weight:" in card["detail"]
