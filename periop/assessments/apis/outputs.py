"""Response shapes shared by several patient and assessment endpoints.

Names are unique across the API: drf-spectacular names schema components after them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from periop.assessments.models import AssessmentStatus, Decision, ReasonCode, Sex
from periop.assessments.services.records import (
    condition_release_notices,
    medication_release_notices,
)
from periop.drugs.fields import TimePointField
from periop.drugs.schema import (
    LEVEL_CHOICES,
    RECEPTOR_STATE_CHOICES,
    CautionOutput,
    FindingOutput,
    KnowledgeBaseVersionOutput,
    ReceptorSourceOutput,
    WarningOutput,
)

# The engine's own list, so the schema shows one ReceptorStateEnum.
RECEPTOR_STATES = RECEPTOR_STATE_CHOICES


def username(source: str) -> serializers.CharField:
    """The username of a user foreign key, or null (for a system action)."""
    return serializers.CharField(source=f"{source}.username", allow_null=True, read_only=True)


class PatientOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    mrn = serializers.CharField()
    name = serializers.CharField()
    birth_date = serializers.DateField()
    sex = serializers.ChoiceField(choices=Sex.values)
    department = serializers.IntegerField(source="department_id")
    created_by = username("created_by")
    created_at = serializers.DateTimeField()


RECORD_NOTICES_HELP = (
    "What of this current entry the active knowledge-base release does not know (a code, "
    "attribute or value it renamed or dropped), with what to do; empty when it knows it all. "
    "The entry shows as recorded either way."
)


class PatientConditionOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    onset = TimePointField(allow_null=True)
    resolved = TimePointField(allow_null=True)
    attributes = serializers.DictField()
    version = serializers.IntegerField()
    is_current = serializers.BooleanField()
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True)
    replaced_by = serializers.IntegerField(source="replaced_by_id", allow_null=True)
    correction_reason = serializers.CharField()
    recorded_by = username("recorded_by")
    recorded_at = serializers.DateTimeField()
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_by = username("removed_by")
    removal_reason = serializers.CharField()
    knowledge_base_notices = serializers.SerializerMethodField(help_text=RECORD_NOTICES_HELP)

    def get_knowledge_base_notices(self, condition: Any) -> list[str]:
        return condition_release_notices(condition)


class PatientMedicationOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    started = TimePointField(allow_null=True)
    stopped = TimePointField(allow_null=True)
    dose_text = serializers.CharField(
        help_text="The dose as written by the clinician, or ''; not used by the cautions."
    )
    is_current = serializers.BooleanField()
    recorded_by = username("recorded_by")
    recorded_at = serializers.DateTimeField()
    removed_at = serializers.DateTimeField(allow_null=True)
    removed_by = username("removed_by")
    removal_reason = serializers.CharField()
    knowledge_base_notices = serializers.SerializerMethodField(help_text=RECORD_NOTICES_HELP)

    def get_knowledge_base_notices(self, medication: Any) -> list[str]:
        return medication_release_notices(medication)


class RecordedReceptorStateOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    value = serializers.ChoiceField(choices=RECEPTOR_STATES)
    reason = serializers.CharField()
    recorded_by = username("recorded_by")
    recorded_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    cleared_by = username("cleared_by")
    clear_reason = serializers.CharField()


class DerivedReceptorStateOutput(serializers.Serializer[Any]):
    value = serializers.ChoiceField(choices=RECEPTOR_STATES)
    sources = ReceptorSourceOutput(many=True)


class PatientReceptorStateOutput(serializers.Serializer[Any]):
    value = serializers.ChoiceField(
        choices=RECEPTOR_STATES,
        allow_null=True,
        help_text="The state new assessments and checks use: the recorded one when there is one.",
    )
    recorded = RecordedReceptorStateOutput(allow_null=True)
    derived = DerivedReceptorStateOutput(
        allow_null=True, help_text="Derived from the current conditions, now."
    )


class PatientDetailOutput(PatientOutput):
    conditions = PatientConditionOutput(many=True, help_text="Current conditions.")
    medications = PatientMedicationOutput(many=True, help_text="Current medications.")
    receptor_state = PatientReceptorStateOutput()


class AssessmentPatientOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    mrn = serializers.CharField()
    name = serializers.CharField()


class AssessmentSummaryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    patient = AssessmentPatientOutput()
    department = serializers.IntegerField(source="department_id")
    status = serializers.ChoiceField(choices=AssessmentStatus.values)
    revision = serializers.IntegerField()
    planned_at = serializers.DateTimeField()
    procedure = serializers.CharField()
    highest_level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    superseded_by = serializers.SerializerMethodField(
        help_text="The amendment that replaces this assessment, or null when it is current."
    )
    created_by = username("created_by")
    created_at = serializers.DateTimeField()
    signed_by = username("signed_by")
    signed_at = serializers.DateTimeField(allow_null=True)

    def get_superseded_by(self, assessment: Any) -> int | None:
        amendment = getattr(assessment, "superseded_by", None)
        return None if amendment is None else int(amendment.pk)


class AcknowledgementOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    revision = serializers.IntegerField()
    drug = serializers.CharField()
    level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    decision = serializers.ChoiceField(choices=Decision.values)
    reason_code = serializers.CharField(help_text=f"One of {', '.join(ReasonCode.values)}, or ''.")
    comment = serializers.CharField()
    acknowledged_by = username("acknowledged_by")
    acknowledged_at = serializers.DateTimeField()
    replaced_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Set when a later decision on the same drug replaced this one before "
        "signing; only the decision with null here is in force.",
    )
    replaces = serializers.IntegerField(
        source="replaces_id", allow_null=True, help_text="The decision this one replaced."
    )


class RequiredAcknowledgementOutput(serializers.Serializer[Any]):
    drug = serializers.CharField()
    level = serializers.ChoiceField(choices=LEVEL_CHOICES)


class AssessmentReceptorStateOutput(serializers.Serializer[Any]):
    value = serializers.ChoiceField(choices=RECEPTOR_STATES)
    overridden = serializers.BooleanField()
    derived = serializers.ChoiceField(choices=RECEPTOR_STATES)
    sources = ReceptorSourceOutput(many=True)
    recorded = serializers.IntegerField(
        allow_null=True, help_text="The recorded receptor state that overrode the derived one."
    )


class AssessmentVersionOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AssessmentStatus.values)
    revision = serializers.IntegerField()
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    created_by = username("created_by")
    created_at = serializers.DateTimeField()
    signed_by = username("signed_by")
    signed_at = serializers.DateTimeField(allow_null=True)


def _as_stored(fields: Any) -> Any:
    """Every field optional: a stored evaluation is shown exactly as it was stored, and one
    stored by an earlier version (or by other means) may lack a key; it is then left out,
    never filled in."""
    for field in fields.values():
        field.required = False
    return fields


class StoredFindingOutput(FindingOutput):
    """A finding of a stored evaluation: the check's shape, but a key it was stored without
    is left out of the answer rather than refused."""

    def get_fields(self) -> Any:
        return _as_stored(super().get_fields())


class StoredCautionOutput(CautionOutput):
    """A caution of a stored evaluation: the check's shape, but a key it was stored without
    (say `summary` or `findings`, in an evaluation stored by an earlier version) is left out
    of the answer rather than refused. The services store every key."""

    findings = StoredFindingOutput(many=True)

    def get_fields(self) -> Any:
        return _as_stored(super().get_fields())


class PlanDoseOutput(serializers.Serializer[Any]):
    text = serializers.CharField()
    rule = serializers.CharField()
    per_kg_mg = serializers.JSONField(allow_null=True, help_text='{"min", "max"} as strings.')
    total_mg = serializers.JSONField(
        allow_null=True, help_text='{"min", "max"} in mg for the recorded weight, as strings.'
    )
    max_mg = serializers.CharField(allow_null=True)


class PlanLineOutput(serializers.Serializer[Any]):
    drug = serializers.CharField()
    level = serializers.ChoiceField(
        choices=LEVEL_CHOICES,
        help_text="Re-evaluated over the drugs that will be given (withheld drugs left out).",
    )
    original_level = serializers.ChoiceField(
        choices=LEVEL_CHOICES, help_text="As first evaluated, with every planned drug."
    )
    decision = serializers.ChoiceField(
        choices=["give", "give-adjusted", "withhold", "override"],
        allow_null=True,
        help_text="Null while undecided.",
    )
    alternative = serializers.CharField(
        allow_null=True, help_text="The drug chosen instead of this withheld one."
    )
    alternative_for = serializers.CharField(
        allow_null=True, help_text="On an alternative's own line: the drug it replaces."
    )
    dose = PlanDoseOutput(allow_null=True, help_text="Dose guidance from the card.")
    dose_mg = serializers.CharField(allow_null=True, help_text="The dose decided, in mg.")
    monitoring = serializers.CharField()
    level_change = serializers.CharField(
        help_text="Why the level differs from the original one, or ''."
    )
    needs_decision = serializers.BooleanField(
        help_text="Contraindicated or avoid in the plan, and not decided yet; or decided, "
        "but the decision no longer fits the plan (decision_outdated)."
    )
    decision_outdated = serializers.BooleanField(
        default=False,
        help_text="The decision was made before another changed the plan: the drug is to be "
        "given but now contraindicated or avoid, withheld for an alternative that now is, or "
        "its caution was overridden but is now below avoid. Decide it again before signing.",
    )


class AssessmentDetailOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    patient = AssessmentPatientOutput()
    department = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AssessmentStatus.values)
    revision = serializers.IntegerField()
    etag = serializers.CharField(help_text="Send it back in If-Match to edit this revision.")
    planned_at = serializers.DateTimeField()
    procedure = serializers.CharField()
    weight_kg = serializers.DecimalField(max_digits=6, decimal_places=2)
    warnings = WarningOutput(
        many=True,
        help_text="Allowed but unlikely inputs, worth a second look; they never block. Empty "
        "when there is none.",
    )
    drugs = serializers.ListField(child=serializers.CharField())
    inputs = serializers.JSONField(
        help_text="The patient state and drugs exactly as evaluated (snapshot)."
    )
    knowledge_base = KnowledgeBaseVersionOutput()
    receptor_state = AssessmentReceptorStateOutput()
    highest_level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    cautions = StoredCautionOutput(
        many=True,
        help_text="The cautions as shown (snapshot), exactly as stored: a key an evaluation "
        "stored by an earlier version lacks is left out.",
    )
    assumptions = serializers.ListField(child=serializers.CharField())
    acknowledgement_required = RequiredAcknowledgementOutput(many=True)
    pending_acknowledgements = serializers.ListField(
        child=serializers.CharField(), help_text="Drugs still to acknowledge before signing."
    )
    acknowledgements = AcknowledgementOutput(many=True, help_text="Of every revision.")
    plan = PlanLineOutput(
        many=True,
        help_text="One line per planned drug (and chosen alternative): its decision and its "
        "level over the drugs that will be given. As signed, once signed.",
    )
    plan_notices = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why the active knowledge-base release cannot evaluate this draft's plan "
        "(a planned drug, or a condition or attribute of its inputs, it no longer knows), "
        "and what to do; the plan then shows its stored cards, and deciding and signing are "
        "refused (409) until the draft is edited. Empty for a signed assessment.",
    )
    supersedes = serializers.IntegerField(allow_null=True)
    superseded_by = serializers.IntegerField(allow_null=True)
    amendment_reason = serializers.CharField()
    versions = AssessmentVersionOutput(many=True, help_text="The original and every amendment.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    signed_by = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    sign_event_hash = serializers.CharField(help_text="Hash of the sign event in the audit ledger.")
