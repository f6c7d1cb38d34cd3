"""Editing with If-Match, acknowledging cautions, signing and amending, through the API."""

import datetime as dt

import pytest
from django.utils import timezone

from periop.assessments.models import Acknowledgement, Assessment
from periop.audit.models import AuditEvent
from periop.audit.verification import audit_chain_verify
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory

pytestmark = pytest.mark.django_db

PLANNED = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0, tzinfo=dt.UTC)


@pytest.fixture
def patient(department):
    """A burn five days ago: succinylcholine is contraindicated."""
    patient = PatientFactory(department=department)
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )
    return patient


@pytest.fixture
def draft(anesthetist_client, patient):
    response = anesthetist_client.post(
        "/api/v1/assessments",
        {
            "patient": patient.pk,
            "planned_at": PLANNED.isoformat(),
            "procedure": "Split-skin graft",
            "weight_kg": "70",
            "drugs": ["succinylcholine", "sugammadex"],
        },
        format="json",
    )
    assert response.status_code == 201
    return response.json()


def item(assessment, tail=""):
    return f"/api/v1/assessments/{assessment['id']}{tail}"


def acknowledge(client, assessment, **body):
    data = {"drug": "succinylcholine", "decision": "accepted", **body}
    return client.post(item(assessment, "/acknowledgements"), data, format="json")


def sign(client, assessment, **headers):
    return client.post(item(assessment, "/sign"), {}, format="json", **headers)


# --- editing -------------------------------------------------------------------------------


def test_an_edit_without_if_match_is_428(anesthetist_client, draft):
    with nothing_changes():
        response = anesthetist_client.patch(item(draft), {"procedure": "Other"}, format="json")

    assert response.status_code == 428
    assert response.json()["detail"] == (
        "Send the assessment's ETag in an If-Match header: read it first, then edit."
    )


def test_an_edit_with_the_current_etag_re_evaluates_and_moves_the_etag(anesthetist_client, draft):
    response = anesthetist_client.patch(
        item(draft), {"drugs": ["sugammadex"]}, format="json", HTTP_IF_MATCH=draft["etag"]
    )

    assert response.status_code == 200
    assert response["ETag"] == f'"{draft["id"]}-2"'
    edited = response.json()
    assert (edited["revision"], edited["drugs"]) == (2, ["sugammadex"])
    assert [c["drug"] for c in edited["cautions"]] == ["sugammadex"]
    assert edited["pending_acknowledgements"] == []


def test_a_stale_edit_is_412_and_changes_nothing(anesthetist_client, draft):
    anesthetist_client.patch(
        item(draft), {"procedure": "First"}, format="json", HTTP_IF_MATCH=draft["etag"]
    )

    with nothing_changes():
        response = anesthetist_client.patch(
            item(draft), {"procedure": "Second"}, format="json", HTTP_IF_MATCH=draft["etag"]
        )

    assert response.status_code == 412
    assert "revision 2, you sent revision 1" in response.json()["detail"]
    assert Assessment.objects.get().procedure == "First"


@pytest.mark.parametrize("if_match", ["*", 'W/"{id}-1"', '"999999-1"', "garbage"])
def test_an_if_match_that_is_not_this_assessments_etag_is_412(anesthetist_client, draft, if_match):
    with nothing_changes():
        response = anesthetist_client.patch(
            item(draft),
            {"procedure": "Other"},
            format="json",
            HTTP_IF_MATCH=if_match.format(id=draft["id"]),
        )

    assert response.status_code == 412


def test_an_empty_edit_is_400(anesthetist_client, draft):
    with nothing_changes():
        response = anesthetist_client.patch(
            item(draft), {}, format="json", HTTP_IF_MATCH=draft["etag"]
        )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give at least one field to change."]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("weight_kg", "500", "Weight must be between 0.3 and 400 kg."),
        ("drugs", ["suxx"], "Unknown drug code 'suxx'. See GET /api/v1/knowledge-base."),
        ("patient", 1, "Unknown field. It is not part of this request."),
    ],
)
def test_each_bad_edit_field_gets_its_message(anesthetist_client, draft, field, value, message):
    with nothing_changes():
        response = anesthetist_client.patch(
            item(draft), {field: value}, format="json", HTTP_IF_MATCH=draft["etag"]
        )

    assert response.status_code == 400
    assert response.json() == {field: [message]}


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_edit(request, persona, draft):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.patch(
            item(draft), {"procedure": "Other"}, format="json", HTTP_IF_MATCH=draft["etag"]
        )

    assert response.status_code == 403


def test_another_departments_assessment_is_404_for_every_write(outsider, draft):
    client = client_for(outsider)

    with nothing_changes():
        assert client.patch(item(draft), {}, format="json").status_code == 404
    with nothing_changes():
        assert sign(client, draft).status_code == 404
    with nothing_changes():
        assert acknowledge(client, draft).status_code == 404
    with nothing_changes():
        assert client.post(item(draft, "/amend"), {}, format="json").status_code == 404


# --- acknowledgements ----------------------------------------------------------------------


def test_accepting_a_caution_records_it_for_the_current_revision(anesthetist_client, draft):
    response = acknowledge(anesthetist_client, draft)

    assert response.status_code == 201
    acknowledgement = response.json()
    assert (acknowledgement["drug"], acknowledgement["level"], acknowledgement["revision"]) == (
        "succinylcholine",
        "contraindicated",
        1,
    )
    assert acknowledgement["acknowledged_by"] == "dr-anesthetist"
    detail = anesthetist_client.get(item(draft)).json()
    assert detail["pending_acknowledgements"] == []
    assert len(detail["acknowledgements"]) == 1


def test_an_override_is_audited_as_an_override(anesthetist_client, draft):
    response = acknowledge(
        anesthetist_client,
        draft,
        decision="overridden",
        reason_code="caution-not-applicable",
        comment="Burn was superficial.",
    )

    assert response.status_code == 201
    event = AuditEvent.objects.order_by("-sequence").first()
    assert (event.action, event.resource_type) == ("override", "acknowledgement")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {"decision": "overridden"},
            {"reason_code": ["Give a reason code to override a caution."]},
        ),
        (
            {"decision": "overridden", "reason_code": "caution-not-applicable"},
            {"comment": ["Explain in a comment why the reason is 'caution-not-applicable'."]},
        ),
        (
            {"decision": "overridden", "reason_code": "other-documented", "comment": " "},
            {"comment": ["Explain in a comment why the reason is 'other-documented'."]},
        ),
        ({"decision": "ignored"}, {"decision": ['"ignored" is not a valid choice.']}),
        (
            {"reason_code": "felt-like-it"},
            {"reason_code": ['"felt-like-it" is not a valid choice.']},
        ),
        (
            {"drug": "rocuronium"},
            {"drug": ["'rocuronium' is not a planned drug of this assessment."]},
        ),
        ({"level": "none"}, {"level": ["Unknown field. It is not part of this request."]}),
    ],
)
def test_each_bad_acknowledgement_gets_its_message(anesthetist_client, draft, extra, expected):
    with nothing_changes():
        response = acknowledge(anesthetist_client, draft, **extra)

    assert response.status_code == 400
    assert response.json() == expected
    assert not Acknowledgement.objects.exists()


def test_a_caution_below_avoid_is_not_acknowledged(anesthetist_client, draft):
    level = next(c["level"] for c in draft["cautions"] if c["drug"] == "sugammadex")
    assert level not in {"contraindicated", "avoid"}

    with nothing_changes():
        response = acknowledge(anesthetist_client, draft, drug="sugammadex")

    assert response.status_code == 400
    assert response.json() == {
        "drug": [
            f"The caution for sugammadex is '{level}': only contraindicated and avoid "
            "cautions are acknowledged."
        ]
    }


def test_a_caution_is_acknowledged_once_per_revision(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)

    with nothing_changes():
        response = acknowledge(anesthetist_client, draft)

    assert response.status_code == 409


def test_an_acknowledgement_with_a_stale_if_match_is_412(anesthetist_client, draft):
    anesthetist_client.patch(
        item(draft), {"procedure": "Other"}, format="json", HTTP_IF_MATCH=draft["etag"]
    )

    with nothing_changes():
        response = anesthetist_client.post(
            item(draft, "/acknowledgements"),
            {"drug": "succinylcholine", "decision": "accepted"},
            format="json",
            HTTP_IF_MATCH=draft["etag"],
        )

    assert response.status_code == 412


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_acknowledge(request, persona, draft):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        assert acknowledge(client, draft).status_code == 403


# --- signing -------------------------------------------------------------------------------


def test_signing_without_acknowledgements_is_409_naming_the_drug(anesthetist_client, draft):
    with nothing_changes():
        response = sign(anesthetist_client, draft)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Acknowledge the caution for succinylcholine before signing.",
        "code": "acknowledgement-required",
    }
    assert Assessment.objects.get().status == "draft"


def test_an_edit_after_an_acknowledgement_asks_for_it_again(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)
    edited = anesthetist_client.patch(
        item(draft), {"procedure": "Escharotomy"}, format="json", HTTP_IF_MATCH=draft["etag"]
    ).json()

    assert edited["pending_acknowledgements"] == ["succinylcholine"]
    with nothing_changes():
        assert sign(anesthetist_client, draft).status_code == 409
    assert acknowledge(anesthetist_client, draft).json()["revision"] == 2
    assert sign(anesthetist_client, draft).status_code == 200


def test_signing_makes_it_immutable_and_records_who_and_the_ledger_hash(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)

    response = sign(anesthetist_client, draft, HTTP_IF_MATCH=draft["etag"])

    assert response.status_code == 200
    signed = response.json()
    assert (signed["status"], signed["signed_by"]) == ("signed", "dr-anesthetist")
    sign_event = AuditEvent.objects.get(action="sign")
    assert signed["sign_event_hash"] == sign_event.hash
    assert sign_event.resource_id == str(draft["id"])
    with nothing_changes():
        edit = anesthetist_client.patch(
            item(draft), {"procedure": "Other"}, format="json", HTTP_IF_MATCH=signed["etag"]
        )
    assert edit.status_code == 409
    with nothing_changes():
        assert acknowledge(anesthetist_client, draft).status_code == 409
    with nothing_changes():
        again = sign(anesthetist_client, draft)
    assert again.status_code == 409
    assert again.json()["detail"] == f"Assessment {draft['id']} is already signed."


def test_signing_with_a_stale_if_match_is_412(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)

    with nothing_changes():
        response = sign(anesthetist_client, draft, HTTP_IF_MATCH=f'"{draft["id"]}-7"')

    assert response.status_code == 412


def test_signing_takes_no_fields(anesthetist_client, draft):
    with nothing_changes():
        response = anesthetist_client.post(
            item(draft, "/sign"), {"status": "signed"}, format="json"
        )

    assert response.status_code == 400


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_sign(request, persona, draft):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        assert sign(client, draft).status_code == 403


# --- amending ------------------------------------------------------------------------------


def test_an_amendment_is_a_new_draft_and_both_show_the_version_history(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)
    signed = sign(anesthetist_client, draft).json()

    response = anesthetist_client.post(
        item(draft, "/amend"), {"reason": "Weight re-measured."}, format="json"
    )

    assert response.status_code == 201
    amendment = response.json()
    assert response["Location"] == f"/api/v1/assessments/{amendment['id']}"
    assert (amendment["status"], amendment["revision"], amendment["supersedes"]) == (
        "draft",
        1,
        draft["id"],
    )
    assert amendment["amendment_reason"] == "Weight re-measured."
    assert amendment["pending_acknowledgements"] == ["succinylcholine"]
    original = anesthetist_client.get(item(draft)).json()
    assert original["superseded_by"] == amendment["id"]
    assert original["status"] == "signed"
    assert original["cautions"] == signed["cautions"]
    assert [v["id"] for v in original["versions"]] == [draft["id"], amendment["id"]]
    assert [v["id"] for v in amendment["versions"]] == [draft["id"], amendment["id"]]


def test_a_draft_cannot_be_amended(anesthetist_client, draft):
    with nothing_changes():
        response = anesthetist_client.post(item(draft, "/amend"), {}, format="json")

    assert response.status_code == 409


def test_a_signed_assessment_is_amended_only_once(anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)
    sign(anesthetist_client, draft)
    anesthetist_client.post(item(draft, "/amend"), {}, format="json")

    with nothing_changes():
        response = anesthetist_client.post(item(draft, "/amend"), {}, format="json")

    assert response.status_code == 409
    assert "already been amended" in response.json()["detail"]


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_amend(request, persona, anesthetist_client, draft):
    acknowledge(anesthetist_client, draft)
    sign(anesthetist_client, draft)

    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = client.post(item(draft, "/amend"), {}, format="json")

    assert response.status_code == 403


# --- the whole story -----------------------------------------------------------------------


def test_the_whole_lifecycle_leaves_an_intact_audit_trail(anesthetist_client, draft):
    acknowledge(
        anesthetist_client, draft, decision="overridden", reason_code="benefit-outweighs-risk"
    )
    sign(anesthetist_client, draft)
    anesthetist_client.post(item(draft, "/amend"), {}, format="json")

    actions = list(
        AuditEvent.objects.filter(resource_type__in=["assessment", "acknowledgement"]).values_list(
            "action", flat=True
        )
    )
    assert actions == ["create", "override", "sign", "create"]
    assert audit_chain_verify().ok
