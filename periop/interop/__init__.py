"""Interoperability: the CDS Hooks 2.0.1 service for EHRs and the FHIR R4 mapping in and out."""
