"""Every code and identifier system the CDS Hooks service and the FHIR export use, in one place.

External code systems are those FHIR or standards-reference names; the knowledge base maps its
codes to them (periop.drugs.code_systems). Periop's own identifiers and codes use `urn:periop:`
systems: the same value means the same thing in a CDS Hooks card, its feedback and a FHIR
Bundle. docs/api.md lists them ("Identifier systems").
"""

from __future__ import annotations

from periop.drugs.code_systems import ATC, ICD10CM, LOINC, RXNORM, SNOMED

__all__ = [
    "ASSESSMENT",
    "ATC",
    "AUDIT_ACTION",
    "AUDIT_LEDGER",
    "CARD_TOPIC",
    "CONDITION_CODE",
    "CONDITION_RECORD",
    "DETECTED_ISSUE",
    "DRUG_CODE",
    "ICD10CM",
    "KNOWLEDGE_BASE",
    "LOINC",
    "MEDICATION_RECORD",
    "MEDICATION_REQUEST",
    "OVERRIDE_REASON",
    "PATIENT_ID",
    "RESOURCE_TYPE",
    "RXNORM",
    "SNOMED",
    "SYSTEM_ACTOR",
    "TUNING_EXTENSION",
    "UCUM",
    "USER",
    "mrn_system",
    "resource_system",
]

# --- External code systems ------------------------------------------------------------------------
UCUM = "http://unitsofmeasure.org"

# --- Periop's identifiers -----------------------------------------------------------------------
PATIENT_ID = "urn:periop:patient"  # a Periop patient id
USER = "urn:periop:user"  # a username
SYSTEM_ACTOR = "urn:periop:system"  # Periop itself as the actor of a ledger event
ASSESSMENT = "urn:periop:assessment"  # an assessment id
CONDITION_RECORD = "urn:periop:patient-condition"  # a recorded condition's id
MEDICATION_RECORD = "urn:periop:patient-medication"  # a recorded medication's id
DETECTED_ISSUE = "urn:periop:detected-issue"  # assessment-{id}-{drug}
MEDICATION_REQUEST = "urn:periop:medication-request"  # assessment-{id}-{drug}
KNOWLEDGE_BASE = "urn:periop:knowledge-base"  # a knowledge-base digest
AUDIT_LEDGER = "urn:periop:audit-ledger"  # a ledger event's hash

# --- Periop's codes -----------------------------------------------------------------------------
CONDITION_CODE = "urn:periop:condition"  # the knowledge base's condition codes
DRUG_CODE = "urn:periop:drug"  # the knowledge base's drug codes
AUDIT_ACTION = "urn:periop:audit-action"  # the ledger's actions
RESOURCE_TYPE = "urn:periop:resource-type"  # the ledger's resource types
OVERRIDE_REASON = "urn:periop:cds-hooks:override-reason"  # the closed override-reason list
CARD_TOPIC = "urn:periop:cds-hooks:card-topic"  # a card's source topic

# --- CDS Hooks extension keys (CDS Hooks 2.0.1 reserves `extension`, an object) -------------
TUNING_EXTENSION = "periop.localTuning"  # a card the department's local tunings changed


def mrn_system(department_code: str) -> str:
    """Medical record numbers are unique within a department, so the department names the
    system."""
    return f"urn:periop:department:{department_code}:mrn"


def resource_system(resource_type: str) -> str:
    """The identifier system of a ledger event's resource ("assessment", "patient", ...)."""
    return f"urn:periop:{resource_type}"
