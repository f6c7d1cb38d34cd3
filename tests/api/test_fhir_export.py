"""GET /fhir/Bundle/assessment-{id}: a signed assessment as a FHIR R4 Bundle, every resource
validated with `fhir.resources` (R4B)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.models import Acknowledgement, Assessment
from periop.audit.models import AuditEvent
from tests.api.fhir_validation import codings, of_type, validated_bundle, validated_outcome
from tests.conftest import client_for, nothing_changes
from tests.factories import (
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
    PatientMedicationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SNOMED = "http://snomed.info/sct"
ICD_10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DRUGS = ["succinylcholine", "rocuronium", "sugammadex", "gentamicin", "magnesium-sulfate"]


def _days_ago(days: int) -> dt.date:
    return (timezone.now() - dt.timedelta(days=days)).date()


@pytest.fixture
def patient(department):
    """Generalised AChR myasthenia on pyridostigmine, with a burn five days old."""
    patient = PatientFactory(department=department, mrn="MRN-4711", name="Ada Example")
    PatientConditionFactory(
        patient=patient,
        code="myasthenia-gravis",
        onset_date=_days_ago(800),
        attributes={"antibody": "achr", "distribution": "generalized"},
    )
    PatientConditionFactory(
        patient=patient, code="burn", onset_date=_days_ago(5), attributes={"tbsa_percent": 35}
    )
    PatientMedicationFactory(patient=patient, code="pyridostigmine", started_date=_days_ago(790))
    return patient


def create(client, patient, drugs):
    planned = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    response = client.post(
        "/api/v1/assessments",
        {
            "patient": patient.pk,
            "planned_at": planned.isoformat(),
            "procedure": "Excision and grafting",
            "weight_kg": "70",
            "drugs": drugs,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def decide(client, assessment_id, drug, decision, **body):
    response = client.post(
        f"/api/v1/assessments/{assessment_id}/decisions",
        {"drug": drug, "decision": decision, **body},
        format="json",
    )
    assert response.status_code == 200, response.content


def sign(client, assessment_id):
    response = client.post(f"/api/v1/assessments/{assessment_id}/sign", {}, format="json")
    assert response.status_code == 200, response.content


@pytest.fixture
def signed(anesthetist_client, patient):
    """Gentamicin and magnesium withheld, succinylcholine withheld for cisatracurium,
    rocuronium given adjusted at 20 mg, sugammadex left as planned (no decision)."""
    assessment_id = create(anesthetist_client, patient, DRUGS)
    decide(anesthetist_client, assessment_id, "gentamicin", "withhold")
    decide(anesthetist_client, assessment_id, "magnesium-sulfate", "withhold")
    decide(
        anesthetist_client,
        assessment_id,
        "succinylcholine",
        "withhold",
        alternative="cisatracurium",
    )
    decide(anesthetist_client, assessment_id, "rocuronium", "give-adjusted", dose_mg="20")
    sign(anesthetist_client, assessment_id)
    return Assessment.objects.get(pk=assessment_id)


def export(client, assessment_id):
    return client.get(f"/fhir/Bundle/assessment-{assessment_id}")


def by_drug(resources, resource_type):
    """The resources of a type by the Periop drug code they carry."""
    found = {}
    for resource in of_type(resources, resource_type).values():
        concept = resource.get("medicationCodeableConcept")
        if concept is None:
            value = resource["identifier"][0]["value"]
            found[value.split("-", 2)[2]] = resource
        else:
            found[codings(concept)["urn:periop:drug"]] = resource
    return found


def conditions_by_code(resources):
    return {
        codings(resource["code"])["urn:periop:condition"]: url
        for url, resource in of_type(resources, "Condition").items()
    }


def test_a_signed_assessment_exports_as_a_valid_collection_bundle(anesthetist_client, signed):
    # A client asking for plain JSON gets FHIR JSON too.
    response = anesthetist_client.get(
        f"/fhir/Bundle/assessment-{signed.pk}", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    body = response.json()
    resources = validated_bundle(body)
    assert body["type"] == "collection"
    assert body["id"] == f"assessment-{signed.pk}"
    assert body["link"][0] == {
        "relation": "self",
        "url": f"http://testserver/fhir/Bundle/assessment-{signed.pk}",
    }
    kinds = {resource["resourceType"] for resource in resources.values()}
    assert {
        "Patient",
        "Condition",
        "MedicationStatement",
        "MedicationRequest",
        "DetectedIssue",
        "Provenance",
        "Practitioner",
    } <= kinds


def test_the_patient_carries_the_mrn_of_its_department_and_every_resource_points_at_it(
    anesthetist_client, signed, department
):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())

    [(patient_url, patient)] = of_type(resources, "Patient").items()
    assert patient["identifier"][0] == {
        "use": "usual",
        "system": f"urn:periop:department:{department.code}:mrn",
        "value": "MRN-4711",
    }
    assert {
        "use": "secondary",
        "system": "urn:periop:patient",
        "value": str(signed.patient_id),
    } in (patient["identifier"])
    assert patient["name"] == [{"text": "Ada Example"}]
    assert patient["birthDate"] == signed.patient.birth_date.isoformat()
    for resource in resources.values():
        field = {
            "Condition": "subject",
            "MedicationStatement": "subject",
            "MedicationRequest": "subject",
            "DetectedIssue": "patient",
        }.get(resource["resourceType"])
        if field:
            assert resource[field] == {"reference": patient_url}, resource["resourceType"]


def test_conditions_come_from_the_snapshot_with_only_the_codes_graded_allowed(
    anesthetist_client, signed, patient
):
    # Recorded after signing: not part of what the assessment rests on.
    PatientConditionFactory(patient=patient, code="muscular-dystrophy")

    resources = validated_bundle(export(anesthetist_client, signed.pk).json())

    conditions = {
        codings(resource["code"])["urn:periop:condition"]: resource
        for resource in of_type(resources, "Condition").values()
    }
    assert sorted(conditions) == ["burn", "myasthenia-gravis"]
    myasthenia = conditions["myasthenia-gravis"]
    # standards-reference §2.6: 91637004 (B). §2.7 gives G70.00 and G70.01, which are
    # alternatives (without / with exacerbation): neither is asserted.
    assert codings(myasthenia["code"]) == {
        SNOMED: "91637004",
        "urn:periop:condition": "myasthenia-gravis",
    }
    assert myasthenia["code"]["text"] == "Myasthenia gravis"
    assert myasthenia["clinicalStatus"]["coding"][0]["code"] == "active"
    assert myasthenia["onsetDateTime"] == _days_ago(800).isoformat()
    assert "Antibody: achr" in myasthenia["note"][0]["text"]
    # §2.6: burn 125666000 (B); the ICD-10-CM burn sub-codes are U.
    assert codings(conditions["burn"]["code"]) == {
        SNOMED: "125666000",
        "urn:periop:condition": "burn",
    }


def test_a_condition_with_single_confirmed_icd_10_cm_code_carries_it_and_a_resolved_one_is_abated(
    anesthetist_client, department
):
    patient = PatientFactory(department=department)
    PatientConditionFactory(patient=patient, code="myotonic-dystrophy")
    PatientConditionFactory(
        patient=patient,
        code="critical-illness",
        onset_date=_days_ago(60),
        resolved_date=_days_ago(30),
    )
    assessment_id = create(anesthetist_client, patient, ["sugammadex"])
    sign(anesthetist_client, assessment_id)

    resources = validated_bundle(export(anesthetist_client, assessment_id).json())

    conditions = {
        codings(resource["code"])["urn:periop:condition"]: resource
        for resource in of_type(resources, "Condition").values()
    }
    # §2.7 G71.11 (B); §2.6 has no SNOMED CT concept for myotonic dystrophy (U).
    assert codings(conditions["myotonic-dystrophy"]["code"]) == {
        ICD_10_CM: "G71.11",
        "urn:periop:condition": "myotonic-dystrophy",
    }
    # con-4: an abated condition is resolved.
    resolved = conditions["critical-illness"]
    assert resolved["abatementDateTime"] == _days_ago(30).isoformat()
    assert resolved["clinicalStatus"]["coding"][0]["code"] == "resolved"


def test_each_drug_of_the_plan_is_a_medication_request_with_its_atc_code(
    anesthetist_client, signed
):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())

    requests = by_drug(resources, "MedicationRequest")
    assert sorted(requests) == sorted([*DRUGS, "cisatracurium"])
    # standards-reference §2.8 (B).
    expected_atc = {
        "succinylcholine": "M03AB01",
        "rocuronium": "M03AC09",
        "cisatracurium": "M03AC11",
        "sugammadex": "V03AB35",
        "gentamicin": "J01GB03",
        "magnesium-sulfate": "B05XA05",
    }
    for drug, code in expected_atc.items():
        assert codings(requests[drug]["medicationCodeableConcept"])[ATC] == code, drug
        assert requests[drug]["intent"] == "plan"
    withheld = {drug for drug, request in requests.items() if request["status"] == "cancelled"}
    assert withheld == {"succinylcholine", "gentamicin", "magnesium-sulfate"}
    assert "instead of Succinylcholine" in requests["cisatracurium"]["note"][0]["text"]
    rocuronium = requests["rocuronium"]["dosageInstruction"][0]
    assert rocuronium["doseAndRate"][0]["doseQuantity"]["value"] == 20
    assert rocuronium["doseAndRate"][0]["doseQuantity"]["unit"] == "mg"
    # The recorded medication is a statement, not a request.
    statements = by_drug(resources, "MedicationStatement")
    assert list(statements) == ["pyridostigmine"]
    assert codings(statements["pyridostigmine"]["medicationCodeableConcept"])[ATC] == "N07AA02"


def test_each_caution_is_a_final_detected_issue_whose_severity_follows_its_level(
    anesthetist_client, signed
):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())

    issues = by_drug(resources, "DetectedIssue")
    # The signed plan's levels: succinylcholine contraindicated (a 5-day burn, §4), gentamicin
    # avoid in myasthenia (§7), rocuronium adjust once gentamicin and magnesium are withheld,
    # sugammadex monitor. Severity per standards-reference §2.3: CI and AV high, DA and MO
    # moderate.
    expected = {
        "succinylcholine": ("high", "Contraindicated"),
        "magnesium-sulfate": ("high", "Contraindicated"),
        "gentamicin": ("high", "Avoid"),
        "rocuronium": ("moderate", "Adjust"),
        "cisatracurium": ("moderate", "Adjust"),
        "sugammadex": ("moderate", "Monitor"),
    }
    assert {drug: issue["severity"] for drug, issue in issues.items()} == {
        drug: severity for drug, (severity, _) in expected.items()
    }
    requests = {
        drug: url
        for url, resource in of_type(resources, "MedicationRequest").items()
        for drug in [codings(resource["medicationCodeableConcept"])["urn:periop:drug"]]
    }
    for drug, issue in issues.items():
        assert issue["status"] == "final"
        assert issue["code"]["text"].startswith(expected[drug][1] + ":")
        assert issue["implicated"][0] == {"reference": requests[drug]}
        assert issue["detail"]
        assert issue["reference"].startswith("https://")
        assert resources[issue["author"]["reference"]]["resourceType"] == "Device"
    # §2.3: a dose-adjust caution from a condition is a dosage condition alert.
    assert codings(issues["rocuronium"]["code"]) == {ACT_CODE: "DOSECOND"}
    assert codings(issues["succinylcholine"]["code"]) == {ACT_CODE: "COND"}
    # Rocuronium's level fell when the interacting drugs were withheld: the detail says why.
    assert "Was avoid" in issues["rocuronium"]["detail"]


def test_evidence_points_at_the_conditions_and_medications_that_triggered_each_finding(
    anesthetist_client, signed
):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())
    conditions = conditions_by_code(resources)
    [pyridostigmine] = of_type(resources, "MedicationStatement")
    issues = by_drug(resources, "DetectedIssue")

    def evidence(drug):
        return {
            item["code"][0]["text"]: [detail["reference"] for detail in item.get("detail", [])]
            for item in issues[drug]["evidence"]
        }

    gentamicin = evidence("gentamicin")
    assert list(gentamicin.values()) == [[conditions["myasthenia-gravis"]]]
    succinylcholine = evidence("succinylcholine")
    burn = next(text for text in succinylcholine if text.startswith("Burn"))
    assert succinylcholine[burn] == [conditions["burn"]]
    # §7: pyridostigmine prolongs a succinylcholine block; the medication is the evidence.
    cholinesterase = next(text for text in succinylcholine if "Pyridostigmine" in text)
    assert succinylcholine[cholinesterase] == [pyridostigmine]
    # The aminoglycoside finding implicates the gentamicin request beside succinylcholine's.
    requests = {
        codings(resource["medicationCodeableConcept"])["urn:periop:drug"]: url
        for url, resource in of_type(resources, "MedicationRequest").items()
    }
    assert {"reference": requests["gentamicin"]} in issues["succinylcholine"]["implicated"]


def test_the_mitigation_follows_each_decision_of_the_plan(anesthetist_client, signed, anesthetist):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())
    issues = by_drug(resources, "DetectedIssue")
    decided_at = {row.drug: row.acknowledged_at for row in Acknowledgement.objects.all()}

    def action(drug):
        [mitigation] = issues[drug]["mitigation"]
        return codings(mitigation["action"]), mitigation

    # v3-ActCode (standards-reference §2.3): withheld -> 7, given adjusted -> 8.
    for drug in ("gentamicin", "magnesium-sulfate", "succinylcholine"):
        code, mitigation = action(drug)
        assert code == {ACT_CODE: "7"}, drug
        assert mitigation["action"]["text"].startswith("Withheld")
        assert mitigation["date"] == decided_at[drug].astimezone(dt.UTC).isoformat()
        author = resources[mitigation["author"]["reference"]]
        assert author["identifier"] == [
            {"system": "urn:periop:user", "value": anesthetist.username}
        ]
    assert "Instead: Cisatracurium." in action("succinylcholine")[1]["action"]["text"]
    code, mitigation = action("rocuronium")
    assert code == {ACT_CODE: "8"}
    assert "Dose: 20.000 mg." in mitigation["action"]["text"]
    # No decision was taken for sugammadex (monitor): the issue stands without a mitigation.
    assert "mitigation" not in issues["sugammadex"]


def test_an_override_and_a_plain_give_are_therapy_appropriate_with_the_reason(
    anesthetist_client, patient
):
    assessment_id = create(anesthetist_client, patient, ["succinylcholine", "sugammadex"])
    decide(
        anesthetist_client,
        assessment_id,
        "succinylcholine",
        "override",
        reason_code="other-documented",
        comment="Difficult airway; rescue plan agreed.",
        dose_mg="100",
    )
    decide(anesthetist_client, assessment_id, "sugammadex", "give")
    sign(anesthetist_client, assessment_id)

    resources = validated_bundle(export(anesthetist_client, assessment_id).json())

    issues = by_drug(resources, "DetectedIssue")
    override = issues["succinylcholine"]["mitigation"][0]["action"]
    assert codings(override) == {ACT_CODE: "1"}
    assert override["text"].startswith("Override: given despite the caution.")
    assert "Reason: Other reason, documented in the comment." in override["text"]
    assert "Difficult airway; rescue plan agreed." in override["text"]
    given = issues["sugammadex"]["mitigation"][0]["action"]
    assert codings(given) == {ACT_CODE: "1"}
    assert given["text"] == "Given as planned."
    request = by_drug(resources, "MedicationRequest")["succinylcholine"]
    assert request["status"] == "active"
    assert request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 100


def test_a_caution_set_only_by_another_planned_drug_is_a_drug_interaction(
    anesthetist_client, department
):
    patient = PatientFactory(department=department)
    assessment_id = create(anesthetist_client, patient, ["rocuronium", "gentamicin"])
    sign(anesthetist_client, assessment_id)

    resources = validated_bundle(export(anesthetist_client, assessment_id).json())

    issues = by_drug(resources, "DetectedIssue")
    requests = {
        codings(resource["medicationCodeableConcept"])["urn:periop:drug"]: url
        for url, resource in of_type(resources, "MedicationRequest").items()
    }
    # §7: an aminoglycoside potentiates every blocker.
    assert codings(issues["rocuronium"]["code"]) == {ACT_CODE: "DRG"}
    assert issues["rocuronium"]["implicated"] == [
        {"reference": requests["rocuronium"]},
        {"reference": requests["gentamicin"]},
    ]


def test_the_provenance_records_the_signature_and_the_knowledge_base(
    anesthetist_client, signed, anesthetist
):
    resources = validated_bundle(export(anesthetist_client, signed.pk).json())

    [provenance] = of_type(resources, "Provenance").values()
    assert provenance["recorded"] == signed.signed_at.astimezone(dt.UTC).isoformat()
    signer = resources[provenance["agent"][0]["who"]["reference"]]
    assert signer["identifier"] == [{"system": "urn:periop:user", "value": anesthetist.username}]
    targets = {target["reference"] for target in provenance["target"]}
    assert set(of_type(resources, "DetectedIssue")) <= targets
    assert set(of_type(resources, "MedicationRequest")) <= targets
    entities = {entity["role"]: entity["what"] for entity in provenance["entity"]}
    assert entities["derivation"]["identifier"] == {
        "system": "urn:periop:knowledge-base",
        "value": signed.knowledge_base_digest,
    }
    assert signed.knowledge_base_version in entities["derivation"]["display"]
    assert entities["source"]["identifier"]["value"] == signed.sign_event_hash


def test_the_export_is_recorded_in_the_ledger(anesthetist_client, signed, anesthetist):
    before = AuditEvent.objects.count()

    export(anesthetist_client, signed.pk)

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-sequence").first()
    assert (event.action, event.resource_type, event.resource_id) == (
        "export",
        "assessment",
        str(signed.pk),
    )
    assert (event.patient_id, event.department_id) == (signed.patient_id, signed.department_id)
    assert event.actor_username == anesthetist.username
    assert signed.sign_event_hash in event.payload


@pytest.mark.parametrize("persona", ["auditor", "department_admin"])
def test_auditors_and_administrators_of_the_department_export_too(request, persona, signed):
    client = client_for(request.getfixturevalue(persona))

    assert export(client, signed.pk).status_code == 200


def _outcome(response, code):
    issue = validated_outcome(response)
    assert issue["code"] == code
    return issue["diagnostics"]


def test_a_draft_is_refused_with_409_and_an_operation_outcome(anesthetist_client, patient):
    assessment_id = create(anesthetist_client, patient, ["sugammadex"])

    with nothing_changes():
        response = export(anesthetist_client, assessment_id)

    assert response.status_code == 409
    assert "draft" in _outcome(response, "business-rule")


def test_anonymous_callers_get_401(api_client, signed):
    with nothing_changes():
        response = export(api_client, signed.pk)

    assert response.status_code == 401
    _outcome(response, "login")


@pytest.mark.parametrize("persona", ["pharmacist", "roleless_user"])
def test_pharmacists_and_users_without_a_role_are_refused_with_403(request, persona, signed):
    client = client_for(request.getfixturevalue(persona))

    with nothing_changes():
        response = export(client, signed.pk)

    assert response.status_code == 403
    _outcome(response, "forbidden")


def test_a_pharmacist_here_who_audits_elsewhere_is_refused_with_403(signed, other_department):
    user = UserFactory(username="pharmacist-and-auditor")
    MembershipFactory(user=user, department=signed.department, role=Role.PHARMACIST)
    MembershipFactory(user=user, department=other_department, role=Role.AUDITOR)

    with nothing_changes():
        response = export(client_for(user), signed.pk)

    assert response.status_code == 403


def test_another_departments_assessment_and_an_unknown_one_are_404(outsider, signed):
    client = client_for(outsider)

    with nothing_changes():
        elsewhere = export(client, signed.pk)
        unknown = export(client, signed.pk + 1000)

    assert elsewhere.status_code == unknown.status_code == 404
    assert _outcome(elsewhere, "not-found") == (
        f"No assessment {signed.pk} among those of your departments."
    )


def test_a_superseded_assessment_still_exports_and_links_to_its_signed_amendment(
    anesthetist_client, signed
):
    amended = anesthetist_client.post(
        f"/api/v1/assessments/{signed.pk}/amend", {"reason": "Weight corrected"}, format="json"
    )
    assert amended.status_code == 201, amended.content
    amendment_id = amended.json()["id"]

    # While the amendment is a draft, the signed original is the record: no link yet.
    original = export(anesthetist_client, signed.pk).json()
    assert [link["relation"] for link in original["link"]] == ["self"]
    assert export(anesthetist_client, amendment_id).status_code == 409

    for drug in ("gentamicin", "magnesium-sulfate", "succinylcholine"):
        decide(anesthetist_client, amendment_id, drug, "withhold")
    sign(anesthetist_client, amendment_id)

    original = export(anesthetist_client, signed.pk).json()
    validated_bundle(original)
    assert original["link"][1] == {
        "relation": "successor-version",
        "url": f"http://testserver/fhir/Bundle/assessment-{amendment_id}",
    }
    amendment = export(anesthetist_client, amendment_id).json()
    resources = validated_bundle(amendment)
    assert amendment["link"][1] == {
        "relation": "predecessor-version",
        "url": f"http://testserver/fhir/Bundle/assessment-{signed.pk}",
    }
    [provenance] = of_type(resources, "Provenance").values()
    revision = [entity for entity in provenance["entity"] if entity["role"] == "revision"]
    assert revision[0]["what"]["identifier"] == {
        "system": "urn:periop:assessment",
        "value": str(signed.pk),
    }


@pytest.mark.parametrize(
    ("dystrophy_type", "with_snomed"),
    [("duchenne", True), ("becker", False), ("other", False), (None, False)],
)
def test_duchennes_snomed_concept_goes_out_only_for_a_duchenne_record(
    anesthetist_client, department, dystrophy_type, with_snomed
):
    """76670001 is the Duchenne concept (standards-reference §2.6): a Becker record, or one of
    another or unknown type, is exported with G71.01 (Duchenne or Becker, §2.7) alone."""
    patient = PatientFactory(department=department)
    attributes = {"type": dystrophy_type} if dystrophy_type else {}
    PatientConditionFactory(patient=patient, code="muscular-dystrophy", attributes=attributes)
    assessment_id = create(anesthetist_client, patient, ["rocuronium"])
    sign(anesthetist_client, assessment_id)

    resources = validated_bundle(export(anesthetist_client, assessment_id).json())

    (condition,) = of_type(resources, "Condition").values()
    expected = {ICD_10_CM: "G71.01", "urn:periop:condition": "muscular-dystrophy"}
    if with_snomed:
        expected[SNOMED] = "76670001"
    assert codings(condition["code"]) == expected
