"""FHIR R4 export: signed assessments as Bundles, the audit ledger as AuditEvents."""
