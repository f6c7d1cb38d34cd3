"""The code systems and value mappings of the FHIR export, in one place.

External codes come only from the knowledge base (SNOMED CT, ICD-10-CM, ATC: the codes
standards-reference.md grades as allowed) or from FHIR's own code systems; Periop's own
identifiers use `urn:periop:` systems, listed once in periop.interop.systems (shared with the CDS
Hooks service) and documented in docs/api.md ("Identifier systems").
"""

from __future__ import annotations

from typing import Any

from periop.interop import systems

# --- Code and identifier systems: periop.interop.systems holds the one list ---------------------
SNOMED_CT = systems.SNOMED
ICD_10_CM = systems.ICD10CM
ATC = systems.ATC
UCUM = systems.UCUM
PATIENT_ID = systems.PATIENT_ID
USER = systems.USER
ASSESSMENT = systems.ASSESSMENT
CONDITION_RECORD = systems.CONDITION_RECORD
MEDICATION_RECORD = systems.MEDICATION_RECORD
CONDITION_CODE = systems.CONDITION_CODE
DRUG_CODE = systems.DRUG_CODE
DETECTED_ISSUE = systems.DETECTED_ISSUE
MEDICATION_REQUEST = systems.MEDICATION_REQUEST
KNOWLEDGE_BASE = systems.KNOWLEDGE_BASE
AUDIT_LEDGER = systems.AUDIT_LEDGER
AUDIT_ACTION = systems.AUDIT_ACTION
RESOURCE_TYPE = systems.RESOURCE_TYPE
SYSTEM_ACTOR = systems.SYSTEM_ACTOR
mrn_system = systems.mrn_system
resource_system = systems.resource_system

# --- FHIR's own code systems --------------------------------------------------------------------
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"


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
