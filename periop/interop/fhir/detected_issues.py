"""The DetectedIssues of the assessment Bundle: one per caution of the signed plan, with its
severity, category, the requests it implicates, the evidence that triggered it, its source and
the plan's decision as its mitigation (standards-reference.md §2.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from periop.assessments.models import Acknowledgement, Assessment, ReasonCode
from periop.drugs.engine import KnowledgeBase
from periop.interop.fhir import coding as codes
from periop.interop.fhir.coding import coding, identifier
from periop.interop.fhir.resources import Entries, instant, reference

LEVEL_LABEL = {
    "contraindicated": "Contraindicated",
    "avoid": "Avoid",
    "adjust": "Adjust",
    "monitor": "Monitor",
    "none": "No specific caution",
}
DECISION_LABEL = {
    "give": "Given as planned",
    "give-adjusted": "Given adjusted",
    "withhold": "Withheld: will not be given",
    "override": "Override: given despite the caution",
}


class DetectedIssues:
    """The DetectedIssue part of the Bundle builder, which supplies these attributes."""

    assessment: Assessment
    knowledge_base: KnowledgeBase
    entries: Entries
    patient_url: str
    device_url: str
    conditions: dict[str, list[str]]
    medications: dict[str, list[str]]
    requests: dict[str, str]

    def practitioner(self, user: Any) -> str:
        raise NotImplementedError

    def drug_name(self, code: str) -> str:
        raise NotImplementedError

    def detected_issue(
        self,
        line: Mapping[str, Any],
        card: Mapping[str, Any] | None,
        decided: Mapping[str, Acknowledgement],
    ) -> str | None:
        """The DetectedIssue of one plan line's caution, or None without findings."""
        if not card or not card.get("findings"):
            return None
        drug, level = line["drug"], card["level"]
        findings = card["findings"]
        setting = [finding for finding in findings if finding["level"] == level] or findings
        triggers = [trigger for finding in setting for trigger in finding["triggered_by"]]
        category = codes.issue_category(level, triggers)
        implicated = [self.requests[drug]]
        for finding in findings:
            for trigger in finding["triggered_by"]:
                kind, _, code = trigger.partition(":")
                url = self.requests.get(code) if kind == "drug" else None
                if url and url not in implicated:
                    implicated.append(url)
        detail = card.get("summary") or setting[0]["summary"]
        if line.get("level_change"):
            detail = f"{detail} {line['level_change']}"
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "identifier": [
                identifier(codes.DETECTED_ISSUE, f"assessment-{self.assessment.pk}-{drug}")
            ],
            "status": "final",
            "code": {
                "coding": [coding(codes.V3_ACT_CODE, category, codes.ISSUE_DISPLAY[category])],
                "text": f"{LEVEL_LABEL.get(level, level)}: {self.drug_name(drug)}",
            },
            "severity": codes.SEVERITY[level],
            "patient": reference(self.patient_url),
            "author": reference(self.device_url, "Periop"),
            "implicated": [reference(url) for url in implicated],
            "evidence": [self._evidence(finding) for finding in findings],
            "detail": detail,
        }
        url = self._citation(findings)
        if url:
            issue["reference"] = url
        mitigation = self._mitigation(line, decided.get(drug))
        if mitigation:
            issue["mitigation"] = [mitigation]
        return self.entries.add(issue)

    def _evidence(self, finding: Mapping[str, Any]) -> dict[str, Any]:
        details: list[str] = []
        for trigger in finding["triggered_by"]:
            kind, _, code = trigger.partition(":")
            if kind == "condition":
                details.extend(self.conditions.get(code, ()))
            elif kind == "medication":
                details.extend(self.medications.get(code, ()))
            elif kind == "receptor-state" and not self.assessment.receptor_state_overridden:
                # A derived receptor state rests on the conditions it was derived from.
                for source in self.assessment.receptor_state_sources:
                    details.extend(self.conditions.get(source["condition"], ()))
        evidence: dict[str, Any] = {"code": [{"text": finding["summary"]}]}
        unique = list(dict.fromkeys(details))
        if unique:
            evidence["detail"] = [reference(url) for url in unique]
        return evidence

    def _citation(self, findings: Sequence[Mapping[str, Any]]) -> str | None:
        """The first linked source of the most restrictive findings (DetectedIssue takes one)."""
        for finding in findings:
            for reference_id in finding.get("references", ()):
                reference = self.knowledge_base.references.get(reference_id)
                if reference and reference.url:
                    return reference.url
        return None

    def _mitigation(
        self, line: Mapping[str, Any], row: Acknowledgement | None
    ) -> dict[str, Any] | None:
        decision = line.get("decision")
        if decision not in codes.MITIGATION:
            return None
        code, display = codes.MITIGATION[decision]
        text = [DECISION_LABEL[decision] + "."]
        if line.get("alternative"):
            text.append(f"Instead: {self.drug_name(line['alternative'])}.")
        if line.get("dose_mg"):
            text.append(f"Dose: {line['dose_mg']} mg.")
        if row is not None and row.reason_code:
            text.append(f"Reason: {ReasonCode(row.reason_code).label}.")
        if row is not None and row.comment:
            text.append(f"Comment: {row.comment}")
        mitigation: dict[str, Any] = {
            "action": {"coding": [coding(codes.V3_ACT_CODE, code, display)], "text": " ".join(text)}
        }
        if row is not None:
            mitigation["date"] = instant(row.acknowledged_at)
            if row.acknowledged_by is not None:
                mitigation["author"] = reference(self.practitioner(row.acknowledged_by))
        return mitigation
