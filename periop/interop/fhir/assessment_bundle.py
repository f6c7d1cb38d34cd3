"""A signed assessment as a FHIR R4 `collection` Bundle.

What goes in, and from where:
- the Patient (MRN under a department system, name, birth date, gender);
- a Condition per condition of the assessment's inputs snapshot (the record as evaluated, never
  the record as it is now), and a MedicationStatement per recorded medication;
- a MedicationRequest per drug of the signed plan (the planned drugs and the alternatives chosen
  for withheld ones), intent `plan`;
- a DetectedIssue per drug whose caution has findings, as the signed plan evaluated it (the
  card over the drugs that will be given; a withheld drug keeps its original card), with the
  plan's decision as its mitigation;
- a Provenance for the signature, and the Practitioners and the Periop Device they refer to.

The function is pure: the caller reads the rows and records the export in the ledger.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from periop.assessments.models import Acknowledgement, Assessment
from periop.drugs.engine import KnowledgeBase
from periop.interop.fhir import coding as codes
from periop.interop.fhir.coding import coding, identifier
from periop.interop.fhir.detected_issues import DetectedIssues
from periop.interop.fhir.resources import Entries, instant, person_name, reference


@dataclass(frozen=True)
class BundleLinks:
    """The Bundle's own URL and those of the assessment it amends and the one amending it."""

    self_url: str
    predecessor_url: str | None = None
    successor_url: str | None = None


def assessment_bundle(
    *,
    assessment: Assessment,
    plan: Sequence[Mapping[str, Any]],
    acknowledgements: Iterable[Acknowledgement],
    knowledge_base: KnowledgeBase,
    links: BundleLinks,
    now: dt.datetime,
) -> dict[str, Any]:
    """The Bundle of a signed assessment, given its signed plan (`assessment_plan_data`) and
    every acknowledgement row (with `acknowledged_by` loaded)."""
    builder = _Builder(assessment=assessment, knowledge_base=knowledge_base)
    builder.patient()
    builder.conditions_and_medications(json.loads(assessment.inputs_snapshot))
    original = {card["drug"]: card for card in json.loads(assessment.cautions_snapshot)["cautions"]}
    decided = {row.drug: row for row in acknowledgements if row.revision == assessment.revision}
    builder.medication_requests(plan)
    issues = [
        builder.detected_issue(line, line.get("card") or original.get(line["drug"]), decided)
        for line in plan
    ]
    builder.provenance([url for url in issues if url])
    bundle_links = [{"relation": "self", "url": links.self_url}]
    if links.predecessor_url:
        bundle_links.append({"relation": "predecessor-version", "url": links.predecessor_url})
    if links.successor_url:
        bundle_links.append({"relation": "successor-version", "url": links.successor_url})
    return {
        "resourceType": "Bundle",
        "id": f"assessment-{assessment.pk}",
        "identifier": identifier(codes.ASSESSMENT, assessment.pk),
        "type": "collection",
        "timestamp": instant(now),
        "link": bundle_links,
        "entry": builder.entries.items,
    }


class _Builder(DetectedIssues):
    def __init__(self, *, assessment: Assessment, knowledge_base: KnowledgeBase) -> None:
        self.assessment = assessment
        self.knowledge_base = knowledge_base
        self.entries = Entries()
        self.patient_url = ""
        self.device_url = ""
        self.practitioners: dict[int, str] = {}
        self.conditions: dict[str, list[str]] = {}
        self.medications: dict[str, list[str]] = {}
        self.requests: dict[str, str] = {}

    # --- who ----------------------------------------------------------------------------------

    def patient(self) -> None:
        patient = self.assessment.patient
        self.patient_url = self.entries.add(
            {
                "resourceType": "Patient",
                "identifier": [
                    {
                        "use": "usual",
                        **identifier(
                            codes.mrn_system(self.assessment.department.code), patient.mrn
                        ),
                    },
                    {"use": "secondary", **identifier(codes.PATIENT_ID, patient.pk)},
                ],
                "name": [{"text": patient.name}],
                "gender": patient.sex,
                "birthDate": patient.birth_date.isoformat(),
            }
        )
        self.device_url = self.entries.add(
            {
                "resourceType": "Device",
                "deviceName": [{"name": "Periop", "type": "user-friendly-name"}],
            }
        )

    def practitioner(self, user: Any) -> str:
        if user.pk not in self.practitioners:
            self.practitioners[user.pk] = self.entries.add(
                {
                    "resourceType": "Practitioner",
                    "identifier": [identifier(codes.USER, user.get_username())],
                    "name": [{"text": person_name(user)}],
                }
            )
        return self.practitioners[user.pk]

    # --- what the assessment rests on ------------------------------------------------------------

    def condition_code(self, code: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        definition = self.knowledge_base.conditions.get(code)
        name = definition.name if definition else code
        codings = []
        # A SNOMED CT concept narrower than the condition (Duchenne's, for Duchenne or Becker)
        # goes out only for the records it stands for.
        snomed = definition.snomed_for(attributes) if definition else None
        if snomed:
            codings.append(coding(codes.SNOMED_CT, snomed, name))
        # Several ICD-10-CM codes for one condition are alternatives (with or without
        # exacerbation, food or wound botulism): naming them all would assert each, so a code
        # goes out only where the knowledge base gives exactly one.
        if definition and len(definition.icd10cm) == 1:
            codings.append(coding(codes.ICD_10_CM, definition.icd10cm[0], name))
        codings.append(coding(codes.CONDITION_CODE, code, name))
        return {"coding": codings, "text": name}

    def drug_code(self, code: str) -> dict[str, Any]:
        definition = self.knowledge_base.drugs.get(code)
        name = definition.name if definition else code
        codings = []
        if definition and definition.atc:
            codings.append(coding(codes.ATC, definition.atc, name))
        codings.append(coding(codes.DRUG_CODE, code, name))
        return {"coding": codings, "text": name}

    def drug_name(self, code: str) -> str:
        definition = self.knowledge_base.drugs.get(code)
        return definition.name if definition else code

    def _attributes_note(self, code: str, attributes: Mapping[str, Any]) -> list[dict[str, str]]:
        if not attributes:
            return []
        definition = self.knowledge_base.conditions.get(code)
        parts = []
        for name, value in sorted(attributes.items()):
            attribute = definition.attributes.get(name) if definition else None
            label = attribute.label if attribute else name
            shown = ("yes" if value else "no") if isinstance(value, bool) else str(value)
            unit = f" {attribute.unit}" if attribute and attribute.unit else ""
            parts.append(f"{label}: {shown}{unit}")
        return [{"text": "; ".join(parts) + "."}]

    def conditions_and_medications(self, inputs: Mapping[str, Any]) -> None:
        for row in inputs.get("conditions", ()):
            resource: dict[str, Any] = {
                "resourceType": "Condition",
                "identifier": [identifier(codes.CONDITION_RECORD, f"{row['id']}")],
                # con-4: an abated condition is resolved.
                "clinicalStatus": {
                    "coding": [
                        coding(
                            codes.CONDITION_CLINICAL,
                            "resolved" if row.get("resolved") else "active",
                        )
                    ]
                },
                "category": [{"coding": [coding(codes.CONDITION_CATEGORY, "problem-list-item")]}],
                "code": self.condition_code(row["code"], row.get("attributes") or {}),
                "subject": reference(self.patient_url),
            }
            if row.get("onset"):
                resource["onsetDateTime"] = row["onset"]
            if row.get("resolved"):
                resource["abatementDateTime"] = row["resolved"]
            note = self._attributes_note(row["code"], row.get("attributes") or {})
            if note:
                resource["note"] = note
            url = self.entries.add(resource)
            self.conditions.setdefault(row["code"], []).append(url)
        for row in inputs.get("medications", ()):
            medication: dict[str, Any] = {
                "resourceType": "MedicationStatement",
                "identifier": [identifier(codes.MEDICATION_RECORD, f"{row['id']}")],
                "status": "completed" if row.get("stopped") else "active",
                "medicationCodeableConcept": self.drug_code(row["code"]),
                "subject": reference(self.patient_url),
            }
            period = {
                key: row[source]
                for key, source in (("start", "started"), ("end", "stopped"))
                if row.get(source)
            }
            if period:
                medication["effectivePeriod"] = period
            url = self.entries.add(medication)
            self.medications.setdefault(row["code"], []).append(url)

    # --- the signed plan ------------------------------------------------------------------------

    def medication_requests(self, plan: Sequence[Mapping[str, Any]]) -> None:
        assessment = self.assessment
        signer = self.practitioner(assessment.signed_by)
        for line in plan:
            drug = line["drug"]
            withheld = line.get("decision") == "withhold"
            request: dict[str, Any] = {
                "resourceType": "MedicationRequest",
                "identifier": [
                    identifier(codes.MEDICATION_REQUEST, f"assessment-{assessment.pk}-{drug}")
                ],
                # The signed plan does not authorise dispensing: an intention, not an order.
                "status": "cancelled" if withheld else "active",
                "intent": "plan",
                "medicationCodeableConcept": self.drug_code(drug),
                "subject": reference(self.patient_url),
                "authoredOn": instant(assessment.signed_at),  # type: ignore[arg-type]
                "requester": reference(signer),
            }
            if withheld:
                request["statusReason"] = {"text": "Withheld in the signed plan."}
            if line.get("alternative_for"):
                replaced = self.drug_name(line["alternative_for"])
                request["note"] = [{"text": f"Chosen instead of {replaced}, which is withheld."}]
            dosage = self._dosage(line)
            if dosage:
                request["dosageInstruction"] = [dosage]
            self.requests[drug] = self.entries.add(request)

    def _dosage(self, line: Mapping[str, Any]) -> dict[str, Any] | None:
        if line.get("decision") not in {"give-adjusted", "override"}:
            return None
        dosage: dict[str, Any] = {}
        dose = line.get("dose") or {}
        if dose.get("text"):
            dosage["text"] = dose["text"]
        if line.get("dose_mg"):
            dosage["doseAndRate"] = [
                {
                    "doseQuantity": {
                        "value": float(line["dose_mg"]),
                        "unit": "mg",
                        "system": codes.UCUM,
                        "code": "mg",
                    }
                }
            ]
        return dosage or None

    # --- the signature ---------------------------------------------------------------------------

    def provenance(self, issues: list[str]) -> None:
        assessment = self.assessment
        targets = [*issues, *self.requests.values()]
        entities: list[dict[str, Any]] = [
            {
                "role": "derivation",
                "what": {
                    "identifier": identifier(
                        codes.KNOWLEDGE_BASE, assessment.knowledge_base_digest
                    ),
                    "display": f"Periop knowledge base {assessment.knowledge_base_version}",
                },
            },
        ]
        if assessment.sign_event_hash:
            entities.append(
                {
                    "role": "source",
                    "what": {
                        "identifier": identifier(codes.AUDIT_LEDGER, assessment.sign_event_hash),
                        "display": "The sign event in the Periop audit ledger",
                    },
                }
            )
        if assessment.supersedes_id:
            entities.append(
                {
                    "role": "revision",
                    "what": {
                        "identifier": identifier(codes.ASSESSMENT, assessment.supersedes_id),
                        "display": f"Assessment {assessment.supersedes_id}, amended by this one",
                    },
                }
            )
        self.entries.add(
            {
                "resourceType": "Provenance",
                "target": [reference(url) for url in targets],
                "recorded": instant(assessment.signed_at),  # type: ignore[arg-type]
                "agent": [
                    {
                        "type": {"text": "Signing clinician"},
                        "who": reference(self.practitioner(assessment.signed_by)),
                    }
                ],
                "entity": entities,
            }
        )
