"""The external code systems the knowledge base maps to its own codes (FHIR system URIs).

Only codes that standards-reference grades confirmed are in the knowledge base: SNOMED CT and
ICD-10-CM for conditions, ATC for drugs, and the LOINC codes of observations.toml (each with its
source and grade, A or B). RxNorm (every RxCUI unconfirmed) maps nothing yet.
"""

from __future__ import annotations

from typing import Any

from periop.drugs.engine import KnowledgeBase

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"

UNMAPPED_NOTE = (
    "Only confirmed codes are mapped: conditions and drugs as the standards reference grades "
    "them, observations (LOINC) with their own source and grade (A or B). RxNorm codes are not "
    "mapped (no RxCUI is confirmed)."
)


def code_mappings(kb: KnowledgeBase) -> dict[str, Any]:
    """Every external code of `kb` with the knowledge-base code it stands for."""
    conditions = []
    for condition in kb.conditions.values():
        if condition.snomed:
            item: dict[str, Any] = {
                "system": SNOMED,
                "code": condition.snomed,
                "condition": condition.code,
            }
            if condition.snomed_when:
                # The concept is narrower than the condition: it maps in, and goes out only
                # for records whose attributes take these values.
                item["applies_when"] = {
                    name: list(values) for name, values in condition.snomed_when.items()
                }
            conditions.append(item)
        conditions += [
            {"system": ICD10CM, "code": code, "condition": condition.code}
            for code in condition.icd10cm
        ]
    drugs = [
        {"system": ATC, "code": drug.atc, "drug": drug.code}
        for drug in kb.drugs.values()
        if drug.atc
    ]
    return {
        "conditions": conditions,
        "drugs": drugs,
        "observations": [
            {
                "system": item.system,
                "code": item.code,
                "display": item.display,
                "measure": item.measure,
                "units": dict(item.units),
                "grade": item.grade,
                "sources": list(item.sources),
            }
            for item in kb.observations
        ],
        "note": UNMAPPED_NOTE,
    }
