"""The code systems and value mappings of the FHIR export, in one place.

External codes come only from the knowledge base (SNOMED CT, ICD-10-CM, ATC: the codes
standards-reference.md grades as allowed) or from FHIR's own code systems; Periop's own
identifiers use `urn:periop:` systems, documented in docs/api.md ("FHIR R4 export").
"""

from __future__ import annotations

from typing import Any

# --- Code systems named by FHIR or by standards-reference.md -------------------------------------
SNOMED_CT = "http://snomed.info/sct"
ICD_10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"

# --- Periop's own identifier and code systems -----------------------------------------------------
PATIENT_ID = "urn:periop:patient"
USER = "urn:periop:user"
ASSESSMENT = "urn:periop:assessment"
CONDITION_RECORD = "urn:periop:patient-condition"
MEDICATION_RECORD = "urn:periop:patient-medication"
CONDITION_CODE = "urn:periop:condition"
DRUG_CODE = "urn:periop:drug"
DETECTED_ISSUE = "urn:periop:detected-issue"
MEDICATION_REQUEST = "urn:periop:medication-request"
KNOWLEDGE_BASE = "urn:periop:knowledge-base"
AUDIT_LEDGER = "urn:periop:audit-ledger"
AUDIT_ACTION = "urn:periop:audit-action"
RESOURCE_TYPE = "urn:periop:resource-type"
SYSTEM_ACTOR = "urn:periop:system"


def mrn_system(department_code: str) -> str:
    """Medical record numbers are unique within a department, so the department names the
    system."""
    return f"urn:periop:department:{department_code}:mrn"


def resource_system(resource_type: str) -> str:
    """The identifier system of a ledger event's resource ("assessment", "patient", ...)."""
    return f"urn:periop:{resource_type}"


# --- DetectedIssue (standards-reference.md §2.3) --------------------------------------------------
# The suggested mapping of §2.3: contraindicated and avoid are `high`, adjust and monitor are
# `moderate` (a monitor caution still guards against a noticeable adverse effect; §2.3 changed
# only the CDS Hooks indicator of monitor, not this severity). A caution without findings
# (level none) raises no DetectedIssue.
SEVERITY = {
    "contraindicated": "high",
    "avoid": "high",
    "adjust": "moderate",
    "monitor": "moderate",
}

COND = "COND"  # Condition Alert
DOSECOND = "DOSECOND"  # Dosage Condition Alert
DRG = "DRG"  # Drug Interaction Alert
ISSUE_DISPLAY = {
    COND: "Condition Alert",
    DOSECOND: "Dosage Condition Alert",
    DRG: "Drug Interaction Alert",
}


def issue_category(level: str, triggers: list[str]) -> str:
    """The §2.3 category of a caution from what triggered the findings that set its level: a
    patient condition (or receptor state) makes it a condition alert, a dosage condition alert
    when the caution is to adjust the dose; only other drugs (planned or current) make it a
    drug interaction alert."""
    by_condition = any(not trigger.startswith(("drug:", "medication:")) for trigger in triggers)
    by_drug = any(trigger.startswith(("drug:", "medication:")) for trigger in triggers)
    if by_drug and not by_condition:
        return DRG
    return DOSECOND if level == "adjust" else COND


# Mitigation actions, v3-ActCode (§2.3): the plan's decision for the drug.
MITIGATION = {
    # Given despite the caution, or as planned: the clinician judged the therapy appropriate.
    "override": ("1", "Therapy Appropriate"),
    "give": ("1", "Therapy Appropriate"),
    # Given with the card's dose and monitoring: an action other than the listed ones.
    "give-adjusted": ("8", "Other Action Taken"),
    # Withheld: the implicated therapy is no longer planned.
    "withhold": ("7", "Interacting Therapy No Longer Active/Planned"),
}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    value = {"system": system, "code": code}
    if display:
        value["display"] = display
    return value


def identifier(system: str, value: str | int) -> dict[str, str]:
    return {"system": system, "value": str(value)}


# --- AuditEvent (standards-reference.md §2.4) ----------------------------------------------------
AUDIT_EVENT_ACTION_SYSTEM = "http://hl7.org/fhir/audit-event-action"
AUDIT_EVENT_OUTCOME_SYSTEM = "http://hl7.org/fhir/audit-event-outcome"

# Periop's ASTM action -> FHIR action: C create, R read/view/print, U update, E execute.
# Signing creates the signed record and an override creates a decision (§2.4: C for a signed
# assessment); queries, checks and logins are executions; exports and prints disclose, so read.
AUDIT_ACTION_CODE = {
    "create": "C",
    "read": "R",
    "update": "U",
    "delete": "D",
    "sign": "C",
    "override": "C",
    "query": "E",
    "export": "R",
    "print": "R",
    "login": "E",
    "login-failed": "E",
    "privilege-change": "U",
}
# success -> 0 Success; a refusal (a failed login, a rejected request) -> 4 Minor failure.
AUDIT_OUTCOME_CODE = {"success": "0", "failure": "4"}

# DICOM event types §2.4 grades B: the audit log used, other queries, and application activity.
AUDIT_LOG_USED = coding(DICOM, "110101", "Audit Log Used")
QUERY = coding(DICOM, "110112", "Query")
APPLICATION_ACTIVITY = coding(DICOM, "110100", "Application Activity")


def audit_event_type(action: str, resource_type: str) -> dict[str, Any]:
    if resource_type in {"audit-log", "audit-chain"}:
        return AUDIT_LOG_USED
    if action == "query":
        return QUERY
    return APPLICATION_ACTIVITY
