"""The plan: a decision per planned drug, re-evaluated over the drugs that will be given,
through POST /api/v1/assessments/{id}/decisions and the assessment's `plan`."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from periop.assessments.models import Acknowledgement, Assessment
from periop.audit.models import AuditEvent
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientConditionFactory, PatientFactory, PatientMedicationFactory

pytestmark = pytest.mark.django_db

PLANNED = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0, tzinfo=dt.UTC)
DRUGS = ["succinylcholine", "rocuronium", "sugammadex", "gentamicin", "magnesium-sulfate"]


@pytest.fixture
def patient(department):
    """Generalised AChR myasthenia on pyridostigmine, with a burn five days old."""
    patient = PatientFactory(department=department)
    PatientConditionFactory(
        patient=patient,
        code="myasthenia-gravis",
        onset_date=(timezone.now() - dt.timedelta(days=800)).date(),
        attributes={"antibody": "achr", "distribution": "generalized"},
    )
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 35},
    )
    PatientMedicationFactory(
        patient=patient,
        code="pyridostigmine",
        started_date=(timezone.now() - dt.timedelta(days=790)).date(),
    )
    return patient


def create(client, patient, drugs=DRUGS):
    response = client.post(
        "/api/v1/assessments",
        {
            "patient": patient.pk,
            "planned_at": PLANNED.isoformat(),
            "procedure": "Excision and grafting",
            "weight_kg": "70",
            "drugs": drugs,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def decide(client, assessment, drug, decision, **body):
    return client.post(
        f"/api/v1/assessments/{assessment['id']}/decisions",
        {"drug": drug, "decision": decision, **body},
        format="json",
    )


def lines(assessment):
    return {line["drug"]: line for line in assessment["plan"]}


@pytest.fixture
def draft(anesthetist_client, patient):
    return create(anesthetist_client, patient)


def test_every_planned_drug_has_a_plan_line_with_its_level_and_no_decision_yet(draft):
    plan = lines(draft)

    assert list(plan) == DRUGS
    cautions = {caution["drug"]: caution["level"] for caution in draft["cautions"]}
    for drug, line in plan.items():
        assert line["level"] == line["original_level"] == cautions[drug]
        assert line["decision"] is None
        assert line["needs_decision"] is (line["level"] in {"contraindicated", "avoid"})
    assert draft["pending_acknowledgements"] == [
        drug for drug in DRUGS if plan[drug]["needs_decision"]
    ]


def test_withholding_the_interacting_drugs_lowers_the_others_and_says_why(
    anesthetist_client, draft
):
    before = lines(draft)
    # §7: aminoglycosides and magnesium each potentiate non-depolarisers; with both planned
    # in myasthenia, rocuronium is at avoid.
    assert before["rocuronium"]["level"] == "avoid"

    decide(anesthetist_client, draft, "gentamicin", "withhold")
    response = decide(anesthetist_client, draft, "magnesium-sulfate", "withhold")

    assert response.status_code == 200, response.content
    after = lines(response.json())
    assert after["gentamicin"]["decision"] == after["magnesium-sulfate"]["decision"] == "withhold"
    rocuronium = after["rocuronium"]
    assert rocuronium["original_level"] == "avoid"
    assert rocuronium["level"] not in {"contraindicated", "avoid"}
    assert rocuronium["needs_decision"] is False
    assert rocuronium["level_change"].startswith("Was avoid: ")
    assert "withheld" in rocuronium["level_change"]
    assert "rocuronium" not in response.json()["pending_acknowledgements"]


def test_signing_needs_a_decision_only_for_what_stays_contraindicated_or_avoid(
    anesthetist_client, draft
):
    sign = f"/api/v1/assessments/{draft['id']}/sign"
    with nothing_changes():
        refused = anesthetist_client.post(sign, {}, format="json")
    assert refused.status_code == 409
    for drug in ("succinylcholine", "rocuronium", "gentamicin", "magnesium-sulfate"):
        assert drug in refused.json()["detail"]

    decide(anesthetist_client, draft, "gentamicin", "withhold")
    decide(anesthetist_client, draft, "magnesium-sulfate", "withhold")
    plan = lines(decide(anesthetist_client, draft, "succinylcholine", "withhold").json())
    # Rocuronium is no longer avoid once both interacting drugs are withheld: signing needs
    # no override for it.
    assert [drug for drug, line in plan.items() if line["needs_decision"]] == []

    signed = anesthetist_client.post(sign, {}, format="json")

    assert signed.status_code == 200, signed.content
    body = signed.json()
    assert body["status"] == "signed"
    assert lines(body)["succinylcholine"]["decision"] == "withhold"
    assert lines(body)["rocuronium"]["decision"] is None
    # The plan is kept as signed, and the sign event holds its digest and decisions.
    stored = Assessment.objects.get(pk=draft["id"])
    assert [line["drug"] for line in json.loads(stored.plan_snapshot)] == DRUGS
    event = AuditEvent.objects.filter(action="sign").get()
    assert '"plan_digest":"sha256:' in event.payload
    assert '"succinylcholine":"withhold"' in event.payload


def test_an_override_is_only_for_a_contraindicated_or_avoid_caution(anesthetist_client, draft):
    plan = lines(draft)
    mild = next(drug for drug, line in plan.items() if line["level"] in {"none", "monitor"})

    with nothing_changes():
        response = decide(anesthetist_client, draft, mild, "override", reason_code="no-alternative")

    assert response.status_code == 400
    assert "only for a contraindicated or avoid caution" in response.json()["decision"][0]


def test_giving_a_contraindicated_drug_needs_an_override_with_a_reason(anesthetist_client, draft):
    with nothing_changes():
        given = decide(anesthetist_client, draft, "succinylcholine", "give")
        unexplained = decide(anesthetist_client, draft, "succinylcholine", "override")

    assert given.status_code == 400
    assert "override the caution" in given.json()["decision"][0]
    assert unexplained.status_code == 400
    assert "reason_code" in unexplained.json()

    overridden = decide(
        anesthetist_client,
        draft,
        "succinylcholine",
        "override",
        reason_code="no-alternative",
        dose_mg="100",
    )
    assert overridden.status_code == 200
    line = lines(overridden.json())["succinylcholine"]
    assert (line["decision"], line["dose_mg"]) == ("override", "100.000")
    assert AuditEvent.objects.filter(action="override").count() == 1


def test_an_alternative_is_evaluated_and_refused_when_it_is_avoid(anesthetist_client, patient):
    draft = create(anesthetist_client, patient, drugs=["succinylcholine", "sugammadex"])

    with nothing_changes():
        # Magnesium in myasthenia is avoid (§5): never a recommended alternative.
        refused = decide(
            anesthetist_client,
            draft,
            "succinylcholine",
            "withhold",
            alternative="magnesium-sulfate",
        )
    assert refused.status_code == 400
    assert "choose another alternative" in refused.json()["alternative"][0]

    chosen = decide(
        anesthetist_client, draft, "succinylcholine", "withhold", alternative="cisatracurium"
    )

    assert chosen.status_code == 200, chosen.content
    plan = lines(chosen.json())
    assert plan["succinylcholine"]["alternative"] == "cisatracurium"
    assert plan["cisatracurium"]["alternative_for"] == "succinylcholine"
    assert plan["cisatracurium"]["level"] not in {"contraindicated", "avoid"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"drug": "vecuronium", "decision": "give"}, "drug", "not a planned drug"),
        ({"drug": "sugammadex", "decision": "accept"}, "decision", "is not a valid choice"),
        (
            {"drug": "sugammadex", "decision": "give", "alternative": "rocuronium"},
            "alternative",
            "only chosen for a withheld drug",
        ),
        (
            {"drug": "sugammadex", "decision": "give", "dose_mg": "200"},
            "dose_mg",
            "only when the drug is given adjusted",
        ),
        (
            {"drug": "sugammadex", "decision": "give", "reason_code": "no-alternative"},
            "reason_code",
            "explains an override",
        ),
    ],
)
def test_bad_decisions_are_400_naming_the_field_and_change_nothing(
    anesthetist_client, patient, body, field, message
):
    draft = create(anesthetist_client, patient, drugs=["sugammadex"])

    with nothing_changes():
        response = anesthetist_client.post(
            f"/api/v1/assessments/{draft['id']}/decisions", body, format="json"
        )

    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_the_same_decision_sent_again_changes_nothing(anesthetist_client, draft):
    decide(anesthetist_client, draft, "gentamicin", "withhold")

    with nothing_changes():
        again = decide(anesthetist_client, draft, "gentamicin", "withhold")

    assert again.status_code == 200
    assert lines(again.json())["gentamicin"]["decision"] == "withhold"
    assert Acknowledgement.objects.filter(drug="gentamicin").count() == 1


def test_changing_a_decision_replaces_it_in_the_plan_and_keeps_the_old_one(
    anesthetist_client, draft
):
    decide(anesthetist_client, draft, "succinylcholine", "withhold")

    changed = decide(
        anesthetist_client,
        draft,
        "succinylcholine",
        "override",
        reason_code="other-documented",
        comment="Rapid sequence, discussed with the consultant.",
    )

    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert lines(body)["succinylcholine"]["decision"] == "override"
    history = [row for row in body["acknowledgements"] if row["drug"] == "succinylcholine"]
    old, new = history
    assert (old["decision"], new["decision"]) == ("accepted", "overridden")
    assert old["replaced_at"] is not None
    assert new["replaced_at"] is None
    assert new["replaces"] == old["id"]
    event = AuditEvent.objects.filter(resource_type="acknowledgement").order_by("sequence").last()
    payload = json.loads(event.payload)
    assert event.action == "override"
    assert payload["decision"] == "overridden"
    assert payload["replaces"]["id"] == old["id"]
    assert payload["replaces"]["decision"] == "accepted"


def test_a_changed_decision_without_override_is_audited_as_an_update(anesthetist_client, draft):
    decide(anesthetist_client, draft, "sugammadex", "give")

    changed = decide(anesthetist_client, draft, "sugammadex", "give-adjusted", dose_mg="140")

    assert changed.status_code == 200, changed.content
    line = lines(changed.json())["sugammadex"]
    assert (line["decision"], line["dose_mg"]) == ("give-adjusted", "140.000")
    event = AuditEvent.objects.filter(resource_type="acknowledgement").order_by("sequence").last()
    payload = json.loads(event.payload)
    assert event.action == "update"
    assert (payload["decision"], payload["replaces"]["decision"]) == ("give-adjusted", "give")


def test_giving_the_interacting_drugs_after_all_brings_rocuronium_back_to_avoid(
    anesthetist_client, draft
):
    decide(anesthetist_client, draft, "gentamicin", "withhold")
    decide(anesthetist_client, draft, "magnesium-sulfate", "withhold")
    decide(anesthetist_client, draft, "succinylcholine", "withhold")
    decided = decide(anesthetist_client, draft, "rocuronium", "give-adjusted").json()
    assert lines(decided)["rocuronium"]["level"] == "adjust"

    decide(anesthetist_client, draft, "magnesium-sulfate", "override", reason_code="no-alternative")
    changed = decide(
        anesthetist_client, draft, "gentamicin", "override", reason_code="no-alternative"
    ).json()

    # Both given again: magnesium with an aminoglycoside puts rocuronium back at avoid, and
    # its "give adjusted" no longer fits: it must be decided again before signing.
    rocuronium = lines(changed)["rocuronium"]
    assert rocuronium["level"] == "avoid"
    assert rocuronium["decision"] == "give-adjusted"
    assert rocuronium["decision_outdated"] is True
    assert rocuronium["needs_decision"] is True
    assert changed["pending_acknowledgements"] == ["rocuronium"]
    sign = f"/api/v1/assessments/{draft['id']}/sign"
    with nothing_changes():
        refused = anesthetist_client.post(sign, {}, format="json")
    assert refused.status_code == 409
    assert "rocuronium" in refused.json()["detail"]

    withheld = decide(anesthetist_client, draft, "rocuronium", "withhold").json()
    assert lines(withheld)["rocuronium"]["needs_decision"] is False
    assert anesthetist_client.post(sign, {}, format="json").status_code == 200


def test_a_withheld_drug_can_be_given_when_its_level_allows_once_others_are_withheld(
    anesthetist_client, draft
):
    """A drug withheld is checked, when decided again, as if it were given with the others."""
    decide(anesthetist_client, draft, "gentamicin", "withhold")
    decide(anesthetist_client, draft, "magnesium-sulfate", "withhold")
    decide(anesthetist_client, draft, "rocuronium", "withhold")

    given = decide(anesthetist_client, draft, "rocuronium", "give-adjusted")

    assert given.status_code == 200, given.content
    assert lines(given.json())["rocuronium"]["decision"] == "give-adjusted"


def test_a_signed_assessments_decision_cannot_change_amend_instead(anesthetist_client, draft):
    for drug in ("gentamicin", "magnesium-sulfate", "succinylcholine"):
        decide(anesthetist_client, draft, drug, "withhold")
    assert (
        anesthetist_client.post(
            f"/api/v1/assessments/{draft['id']}/sign", {}, format="json"
        ).status_code
        == 200
    )

    with nothing_changes():
        refused = decide(
            anesthetist_client, draft, "gentamicin", "override", reason_code="no-alternative"
        )

    assert refused.status_code == 409
    assert "Amend the assessment" in refused.json()["detail"]


@pytest.mark.parametrize("persona", ["pharmacist", "auditor"])
def test_pharmacists_and_auditors_cannot_decide(request, persona, draft):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        assert decide(client, draft, "gentamicin", "withhold").status_code == 403


def test_another_departments_assessment_is_404(outsider, draft):
    client = client_for(outsider)

    with nothing_changes():
        assert decide(client, draft, "gentamicin", "withhold").status_code == 404


def test_the_v1_accept_means_withhold_in_the_plan(anesthetist_client, draft):
    response = anesthetist_client.post(
        f"/api/v1/assessments/{draft['id']}/acknowledgements",
        {"drug": "succinylcholine", "decision": "accepted"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["decision"] == "accepted"

    detail = anesthetist_client.get(f"/api/v1/assessments/{draft['id']}").json()

    assert lines(detail)["succinylcholine"]["decision"] == "withhold"


def test_a_withheld_drugs_alternative_that_the_plan_makes_avoid_must_be_chosen_again(
    anesthetist_client, patient
):
    draft = create(
        anesthetist_client,
        patient,
        drugs=["succinylcholine", "sugammadex", "gentamicin", "magnesium-sulfate"],
    )
    decide(anesthetist_client, draft, "gentamicin", "withhold")
    decide(anesthetist_client, draft, "magnesium-sulfate", "withhold")
    chosen = decide(
        anesthetist_client, draft, "succinylcholine", "withhold", alternative="vecuronium"
    )
    assert chosen.status_code == 200, chosen.content
    assert lines(chosen.json())["succinylcholine"]["needs_decision"] is False

    decide(anesthetist_client, draft, "magnesium-sulfate", "override", reason_code="no-alternative")
    changed = decide(
        anesthetist_client, draft, "gentamicin", "override", reason_code="no-alternative"
    ).json()

    # With gentamicin and magnesium given, vecuronium is avoid in myasthenia: withholding
    # succinylcholine for it no longer stands.
    plan = lines(changed)
    assert plan["vecuronium"]["level"] in {"contraindicated", "avoid"}
    assert plan["succinylcholine"]["decision_outdated"] is True
    assert "succinylcholine" in changed["pending_acknowledgements"]


def test_an_override_is_outdated_once_withholds_lower_its_caution_below_avoid(
    anesthetist_client, draft
):
    """Overriding rocuronium's avoid, then withholding what made it avoid, leaves an override
    of a caution the plan no longer has: it must be decided again, and is not signed as one."""
    overridden = decide(
        anesthetist_client, draft, "rocuronium", "override", reason_code="no-alternative"
    ).json()
    assert lines(overridden)["rocuronium"]["decision_outdated"] is False
    for drug in ("gentamicin", "magnesium-sulfate", "succinylcholine"):
        changed = decide(anesthetist_client, draft, drug, "withhold").json()

    rocuronium = lines(changed)["rocuronium"]
    assert rocuronium["level"] == "adjust"
    assert rocuronium["decision"] == "override"
    assert rocuronium["decision_outdated"] is True
    assert rocuronium["needs_decision"] is True
    assert changed["pending_acknowledgements"] == ["rocuronium"]
    sign = f"/api/v1/assessments/{draft['id']}/sign"
    with nothing_changes():
        refused = anesthetist_client.post(sign, {}, format="json")
    assert refused.status_code == 409
    assert "rocuronium" in refused.json()["detail"]

    given = decide(anesthetist_client, draft, "rocuronium", "give-adjusted").json()
    assert lines(given)["rocuronium"]["needs_decision"] is False
    assert anesthetist_client.post(sign, {}, format="json").status_code == 200
    in_force = Acknowledgement.objects.filter(
        assessment_id=draft["id"], drug="rocuronium", replaced_at__isnull=True
    ).get()
    assert in_force.decision != "overridden"


# --- a stored snapshot that lacks a planned drug -------------------------------------------


def without_caution(assessment, drug):
    """Stores the draft's snapshot without the caution for `drug`: no service writes that
    shape, but a snapshot stored by other means (imported, seeded or hand-repaired) may."""
    row = Assessment.objects.get(pk=assessment["id"])
    body = json.loads(row.cautions_snapshot)
    body["cautions"] = [caution for caution in body["cautions"] if caution["drug"] != drug]
    Assessment.objects.filter(pk=row.pk).update(cautions_snapshot=json.dumps(body))


def test_a_decision_on_a_drug_the_stored_evaluation_lacks_is_refused_naming_it(
    anesthetist_client, draft
):
    without_caution(draft, "gentamicin")

    with nothing_changes():
        response = decide(anesthetist_client, draft, "gentamicin", "withhold")

    assert response.status_code == 400, response.content
    assert response.json() == {
        "drug": [
            f"The stored evaluation of assessment {draft['id']} holds no caution for "
            "gentamicin: edit the assessment so that its cautions are evaluated and stored "
            "again."
        ]
    }


def test_the_v1_acknowledgement_of_a_drug_the_stored_evaluation_lacks_is_refused_too(
    anesthetist_client, draft
):
    without_caution(draft, "succinylcholine")

    with nothing_changes():
        response = anesthetist_client.post(
            f"/api/v1/assessments/{draft['id']}/acknowledgements",
            {"drug": "succinylcholine", "decision": "accepted"},
            format="json",
        )

    assert response.status_code == 400, response.content
    (message,) = response.json()["drug"]
    assert "holds no caution for succinylcholine" in message


def test_a_withheld_drug_the_stored_evaluation_lacks_keeps_its_plan_line_and_blocks_signing(
    anesthetist_client, draft
):
    level = lines(draft)["gentamicin"]["original_level"]
    assert decide(anesthetist_client, draft, "gentamicin", "withhold").status_code == 200
    without_caution(draft, "gentamicin")

    response = anesthetist_client.get(f"/api/v1/assessments/{draft['id']}")

    assert response.status_code == 200, response.content
    plan = lines(response.json())
    assert list(plan) == DRUGS
    gentamicin = plan["gentamicin"]
    assert gentamicin["decision"] == "withhold"
    # Evaluated over every planned drug, as the stored evaluation would hold it.
    assert gentamicin["level"] == gentamicin["original_level"] == level
    with nothing_changes():
        signed = anesthetist_client.post(
            f"/api/v1/assessments/{draft['id']}/sign", {}, format="json"
        )
    assert signed.status_code == 400, signed.content
    (message,) = signed.json()["drugs"]
    assert "holds no caution for gentamicin" in message
    assert Assessment.objects.get(pk=draft["id"]).status == "draft"


def test_every_planned_drug_withheld_with_one_the_stored_evaluation_lacks_still_reads(
    anesthetist_client, patient
):
    draft = create(anesthetist_client, patient, drugs=["gentamicin", "magnesium-sulfate"])
    for drug in ("gentamicin", "magnesium-sulfate"):
        assert decide(anesthetist_client, draft, drug, "withhold").status_code == 200
    without_caution(draft, "magnesium-sulfate")

    response = anesthetist_client.get(f"/api/v1/assessments/{draft['id']}")

    assert response.status_code == 200, response.content
    assert list(lines(response.json())) == ["gentamicin", "magnesium-sulfate"]


def test_editing_the_assessment_stores_the_missing_caution_and_the_decision_is_taken(
    anesthetist_client, draft
):
    without_caution(draft, "gentamicin")
    url = f"/api/v1/assessments/{draft['id']}"
    etag = anesthetist_client.get(url)["ETag"]

    edited = anesthetist_client.patch(
        url, {"drugs": DRUGS}, format="json", headers={"If-Match": etag}
    )
    assert edited.status_code == 200, edited.content
    response = decide(anesthetist_client, edited.json(), "gentamicin", "withhold")

    assert response.status_code == 200, response.content
    assert "gentamicin" in {caution["drug"] for caution in response.json()["cautions"]}
    assert lines(response.json())["gentamicin"]["decision"] == "withhold"


@pytest.mark.parametrize(
    "key", ["summary", "findings", "drug_class", "effects", "conflict", "monitoring", "reversal"]
)
def test_a_stored_evaluation_lacking_a_key_is_shown_as_stored_without_it(
    anesthetist_client, draft, key
):
    """An evaluation stored by an earlier version (or imported) may lack a key the services
    store today: the detail shows what is stored, leaving the key out, and fills nothing in."""
    row = Assessment.objects.get(pk=draft["id"])
    body = json.loads(row.cautions_snapshot)
    for caution in body["cautions"]:
        caution.pop(key)
        for finding in caution.get("findings", ()):
            finding.pop("rationale")
    Assessment.objects.filter(pk=row.pk).update(cautions_snapshot=json.dumps(body))

    response = anesthetist_client.get(f"/api/v1/assessments/{draft['id']}")

    assert response.status_code == 200, response.content
    shown = response.json()["cautions"]
    assert [caution["drug"] for caution in shown] == DRUGS
    assert all(key not in caution for caution in shown)
    assert all("rationale" not in finding for c in shown for finding in c.get("findings", ()))
    stored = {caution["drug"]: caution for caution in body["cautions"]}
    for caution in shown:
        assert caution["level"] == stored[caution["drug"]]["level"]
        assert caution.get("summary") == stored[caution["drug"]].get("summary")
    # The plan still shows every planned drug, re-evaluated.
    assert [line["drug"] for line in response.json()["plan"]] == DRUGS
