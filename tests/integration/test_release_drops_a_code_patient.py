"""A release activated that no longer knows a code the patient's record uses: a condition's
code, a condition's attribute or one of its values, a recorded medication's code.

The record shows as recorded through every door, with a note that the active release does not
know the code; a write or an evaluation that would use the unknown code is refused naming it
and the release; correcting the record works, and then a new evaluation does.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from periop.assessments.models import PatientCondition, PatientMedication
from tests.conftest import client_for
from tests.factories import PatientMedicationFactory
from tests.integration import test_release_drops_a_code as base

pytestmark = pytest.mark.django_db

# The fixtures of the draft and signed-record tests: the patient (LRP4 myasthenia in
# remission, a burn five days old) and the activation of a changed release.
patient = base.patient
activate_change = base.activate_change

RELEASE = "2026.12.9"
PLANNED = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)

# What each release changes in the record: the condition it touches, the word every message
# must name, and a correction the release accepts (API PATCH body; web correct form fields).
RECORD_CHANGES = {
    "condition-renamed": (
        "burn",
        "burn",
        {"code": "burn-renamed", "attributes": {"tbsa_percent": 35}},
        {"code": "burn-renamed", "attribute_tbsa_percent": "35"},
    ),
    "attribute-removed": (
        "myasthenia-gravis",
        "in_remission",
        {"attributes": {"antibody": "lrp4", "distribution": "generalized"}},
        {
            "code": "myasthenia-gravis",
            "attribute_antibody": "lrp4",
            "attribute_distribution": "generalized",
        },
    ),
    "choice-removed": (
        "myasthenia-gravis",
        "lrp4",
        {
            "attributes": {
                "antibody": "seronegative",
                "distribution": "generalized",
                "in_remission": True,
            }
        },
        {
            "code": "myasthenia-gravis",
            "attribute_antibody": "seronegative",
            "attribute_distribution": "generalized",
            "attribute_in_remission": "true",
        },
    ),
}


def _condition(patient, code: str) -> PatientCondition:
    return PatientCondition.objects.get(patient=patient, code=code, replaced_by__isnull=True)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/patients/")
    return client


def _onset_fields(condition: PatientCondition) -> dict[str, str]:
    return {"onset_date": condition.onset_date.isoformat()}


def _assessment(client, patient):
    return client.post(
        "/api/v1/assessments",
        {
            "patient": patient.pk,
            "planned_at": PLANNED.isoformat(),
            "procedure": "Excision and grafting",
            "weight_kg": "70",
            "drugs": ["rocuronium", "sugammadex"],
        },
        format="json",
    )


def _check(client, patient):
    return client.post(
        f"/api/v1/patients/{patient.pk}/checks",
        {"drugs": ["rocuronium", "sugammadex"], "weight_kg": "70"},
        format="json",
    )


def _new_assessment_form(pages, patient, *, check: bool = False):
    day = PLANNED.astimezone(dt.UTC)
    fields = {
        "planned_date": day.date().isoformat(),
        "planned_time": day.strftime("%H:%M"),
        "procedure": "Excision and grafting",
        "weight_kg": "70",
        "drugs": ["rocuronium", "sugammadex"],
    }
    if check:
        fields["check"] = "1"
    return pages.post(f"/patients/{patient.pk}/assessments/new", fields)


# --- reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", RECORD_CHANGES)
def test_the_record_reads_as_recorded_with_a_note(change, anesthetist, patient, activate_change):
    code, word, _, _ = RECORD_CHANGES[change]
    condition = _condition(patient, code)
    stored = dict(condition.attributes)
    activate_change(change)

    api = client_for(anesthetist)
    detail = api.get(f"/api/v1/patients/{patient.pk}")
    assert detail.status_code == 200, detail.content
    shown = next(row for row in detail.json()["conditions"] if row["id"] == condition.pk)
    assert shown["code"] == code
    assert shown["attributes"] == stored
    assert any(word in note and RELEASE in note for note in shown["knowledge_base_notices"])
    other = next(row for row in detail.json()["conditions"] if row["id"] != condition.pk)
    assert other["knowledge_base_notices"] == []
    listed = api.get(f"/api/v1/patients/{patient.pk}/conditions")
    assert listed.status_code == 200, listed.content
    row = next(row for row in listed.json() if row["id"] == condition.pk)
    assert row["code"] == code
    assert row["knowledge_base_notices"] == shown["knowledge_base_notices"]
    history = api.get(f"/api/v1/patients/{patient.pk}/conditions/{condition.pk}/history")
    assert history.status_code == 200, history.content

    pages = browser(anesthetist)
    for url in (
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/conditions/{condition.pk}/history",
        f"/patients/{patient.pk}/conditions/{condition.pk}/correct",
        f"/patients/{patient.pk}/conditions/{condition.pk}/remove",
        f"/patients/{patient.pk}/receptor-state",
    ):
        response = pages.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert word in text, url
        assert f"release {RELEASE}, now active" in text, url
    assert _condition(patient, code).pk == condition.pk


def test_a_medication_the_release_does_not_know_reads_with_a_note(
    anesthetist, patient, activate_change
):
    medication = PatientMedicationFactory(patient=patient, code="pancuronium")
    activate_change("drug-renamed")

    api = client_for(anesthetist)
    detail = api.get(f"/api/v1/patients/{patient.pk}")
    assert detail.status_code == 200, detail.content
    shown = next(row for row in detail.json()["medications"] if row["id"] == medication.pk)
    assert shown["code"] == "pancuronium"
    assert any(
        "pancuronium" in note and RELEASE in note for note in shown["knowledge_base_notices"]
    )
    listed = api.get(f"/api/v1/patients/{patient.pk}/medications")
    assert listed.status_code == 200, listed.content
    page = browser(anesthetist).get(f"/patients/{patient.pk}/")
    assert page.status_code == 200
    assert f"release {RELEASE}, now active" in page.content.decode()

    # Evaluating it is refused, naming it; removing it works, then a check runs.
    check = _check(api, patient)
    assert check.status_code == 400, check.content
    assert "pancuronium" in str(check.json())
    removed = api.delete(
        f"/api/v1/patients/{patient.pk}/medications/{medication.pk}",
        {"reason": "Renamed in the knowledge base"},
        format="json",
    )
    assert removed.status_code == 200, removed.content
    assert _check(api, patient).status_code == 200
    assert PatientMedication.objects.filter(pk=medication.pk).exists()


# --- evaluations -----------------------------------------------------------------------------


@pytest.mark.parametrize("change", RECORD_CHANGES)
def test_evaluations_are_refused_naming_the_code_until_corrected(
    change, anesthetist, patient, activate_change
):
    code, word, patch, _ = RECORD_CHANGES[change]
    condition = _condition(patient, code)
    activate_change(change)
    api = client_for(anesthetist)
    pages = browser(anesthetist)

    check = _check(api, patient)
    assert check.status_code == 400, check.content
    assert word in str(check.json())
    assert RELEASE in str(check.json())
    created = _assessment(api, patient)
    assert created.status_code == 400, created.content
    assert word in str(created.json())
    assert RELEASE in str(created.json())

    form = pages.get(f"/patients/{patient.pk}/assessments/new")
    assert form.status_code == 200
    preview = pages.post(
        f"/patients/{patient.pk}/assessments/preview",
        {
            "planned_date": PLANNED.date().isoformat(),
            "planned_time": "08:00",
            "procedure": "x",
            "weight_kg": "70",
            "drugs": ["rocuronium"],
        },
    )
    assert preview.status_code == 200
    assert word in preview.content.decode()
    checked = _new_assessment_form(pages, patient, check=True)
    assert checked.status_code == 200
    assert word in checked.content.decode()
    saved = _new_assessment_form(pages, patient)
    assert saved.status_code == 400
    assert word in saved.content.decode()

    corrected = api.patch(
        f"/api/v1/patients/{patient.pk}/conditions/{condition.pk}",
        {**patch, "reason": "As the active release names it"},
        format="json",
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["knowledge_base_notices"] == []
    assert _check(api, patient).status_code == 200
    assert _assessment(api, patient).status_code == 201


# --- writes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", RECORD_CHANGES)
def test_a_patch_leaving_the_unknown_code_is_refused(change, anesthetist, patient, activate_change):
    code, word, _, _ = RECORD_CHANGES[change]
    condition = _condition(patient, code)
    activate_change(change)
    api = client_for(anesthetist)

    patched = api.patch(
        f"/api/v1/patients/{patient.pk}/conditions/{condition.pk}",
        {"resolved": timezone.now().date().isoformat(), "reason": "Healed"},
        format="json",
    )

    assert patched.status_code == 400, patched.content
    errors = patched.json()
    field = "code" if change == "condition-renamed" else "attributes"
    message = " ".join(errors[field])
    assert word in message, errors
    assert f"release {RELEASE}, now active" in message, errors
    assert _condition(patient, code).pk == condition.pk


@pytest.mark.parametrize("change", RECORD_CHANGES)
def test_the_correction_form_refuses_the_unknown_code_and_accepts_a_correction(
    change, anesthetist, patient, activate_change
):
    code, word, _, fields = RECORD_CHANGES[change]
    condition = _condition(patient, code)
    activate_change(change)
    pages = browser(anesthetist)
    url = f"/patients/{patient.pk}/conditions/{condition.pk}/correct"

    # As it stands: the recorded code, value or attribute is refused, naming it.
    kept = {
        **fields,
        **_onset_fields(condition),
        "code": code,
        "reason": "Unchanged",
    }
    if change == "choice-removed":
        kept["attribute_antibody"] = "lrp4"
    if change == "attribute-removed":
        kept["attribute_in_remission"] = "true"
    if change == "attribute-removed":
        assert "Saving this correction leaves out in_remission" in pages.get(url).content.decode()
    refused = pages.post(url, kept)
    assert refused.status_code == 400
    text = refused.content.decode()
    assert word in text
    assert RELEASE in text
    assert _condition(patient, code).pk == condition.pk

    corrected = pages.post(
        url, {**fields, **_onset_fields(condition), "reason": "As the active release names it"}
    )
    assert corrected.status_code == 302, corrected.content.decode()
    new = PatientCondition.objects.get(replaces=condition)
    assert new.code == fields["code"]
    assert word not in str(new.attributes) or change == "condition-renamed"
    check = _check(client_for(anesthetist), patient)
    assert check.status_code == 200, check.content


@pytest.mark.parametrize("change", RECORD_CHANGES)
def test_removing_the_condition_works_through_both_doors(
    change, anesthetist, patient, activate_change
):
    code, _, _, _ = RECORD_CHANGES[change]
    condition = _condition(patient, code)
    activate_change(change)
    pages = browser(anesthetist)

    removed = pages.post(
        f"/patients/{patient.pk}/conditions/{condition.pk}/remove",
        {"reason": "Recorded again as the active release names it"},
    )
    assert removed.status_code == 302
    condition.refresh_from_db()
    assert condition.removed_at is not None
    assert _check(client_for(anesthetist), patient).status_code == 200


def test_deleting_the_condition_through_the_api(anesthetist, patient, activate_change):
    condition = _condition(patient, "burn")
    activate_change("condition-renamed")
    api = client_for(anesthetist)

    removed = api.delete(
        f"/api/v1/patients/{patient.pk}/conditions/{condition.pk}",
        {"reason": "Recorded again as the active release names it"},
        format="json",
    )

    assert removed.status_code == 200, removed.content
    assert removed.json()["removed_at"] is not None
    assert _check(api, patient).status_code == 200
