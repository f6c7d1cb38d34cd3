"""Output serializers that document the check response in the OpenAPI schema.

Responses are built by `presenters` as plain dicts (fast); these classes describe the same shape
so clients, the docs and the schema-driven tests agree on it.
"""

from __future__ import annotations

from rest_framework import serializers

from periop.drugs.engine import EFFECT_TAGS, RECEPTOR_STATES, Level

LEVEL_CHOICES = [level.code for level in sorted(Level, reverse=True)]
RECEPTOR_STATE_CHOICES = list(RECEPTOR_STATES)
EFFECT_CHOICES = list(EFFECT_TAGS)


class DoseRangeOutput(serializers.Serializer):  # type: ignore[type-arg]
    min = serializers.CharField(help_text="Decimal as a string.")
    max = serializers.CharField(help_text="Decimal as a string.")


class DoseOutput(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField()
    rule = serializers.CharField()
    per_kg_mg = DoseRangeOutput(allow_null=True, help_text="mg/kg")
    total_mg = DoseRangeOutput(allow_null=True, help_text="mg for this patient's weight")
    max_mg = serializers.CharField(allow_null=True)
    only_after_override = serializers.BooleanField(
        required=False,
        help_text="v1.1: true on an avoid or contraindicated caution; the dose applies only if "
        "the drug is given after a clinician's override, never as advice to give it.",
    )


class LocallyTunedOutput(serializers.Serializer):  # type: ignore[type-arg]
    change = serializers.ChoiceField(choices=["raise", "monitor-to-none", "local-text"])
    who = serializers.CharField(help_text="The department administrator who proposed it.")
    when = serializers.CharField(help_text="When it was proposed (ISO 8601).")
    why = serializers.CharField(help_text="The department's reason.")
    signed_by = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="The consultant anaesthetist and the clinical pharmacist who signed it off.",
    )
    signed_at = serializers.CharField(
        required=False, help_text="When the last sign-off brought it into force (ISO 8601)."
    )
    tuning = serializers.IntegerField(
        required=False, help_text="The tuning's id (GET /api/v1/knowledge-base/tunings)."
    )
    from_level = serializers.ChoiceField(choices=LEVEL_CHOICES, required=False)
    to_level = serializers.ChoiceField(choices=LEVEL_CHOICES, required=False)
    text = serializers.CharField(required=False, help_text="The local text (`local-text`).")


class FindingOutput(serializers.Serializer):  # type: ignore[type-arg]
    rule = serializers.CharField()
    level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    effects = serializers.ListField(child=serializers.ChoiceField(choices=EFFECT_CHOICES))
    triggered_by = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "condition:<code>, medication:<code>, drug:<code> (another planned drug) or "
            "receptor-state:<value>; codes are canonical."
        ),
    )
    summary = serializers.CharField()
    rationale = serializers.CharField(
        required=False, help_text="Always present, except with `?view=summary`."
    )
    references = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Reference ids; always present, except with `?view=summary`.",
    )
    unconfirmed = serializers.BooleanField()
    locally_tuned = LocallyTunedOutput(
        many=True,
        required=False,
        help_text="Only on a finding the department's local tunings changed: each tuning that "
        "did, with who proposed it, who signed it off, when and why. `level` is the tuned one.",
    )


class CautionOutput(serializers.Serializer):  # type: ignore[type-arg]
    drug = serializers.CharField(
        help_text="The canonical drug code, also when the request gave a synonym (v1.1)."
    )
    drug_class = serializers.CharField()
    level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    effects = serializers.ListField(child=serializers.ChoiceField(choices=EFFECT_CHOICES))
    conflict = serializers.BooleanField()
    summary = serializers.CharField()
    findings = FindingOutput(many=True)
    dose = DoseOutput(allow_null=True)
    monitoring = serializers.CharField(allow_blank=True)
    reversal = serializers.CharField(allow_blank=True)
    assumptions = serializers.ListField(child=serializers.CharField())
    instead = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="v1.1: on an avoid or contraindicated caution, what to do instead (not to give "
        "the drug, and any alternative its findings name); empty otherwise.",
    )
    only_after_override = serializers.BooleanField(
        required=False,
        help_text="v1.1: true on an avoid or contraindicated caution; its dose, monitoring and "
        "reversal apply only if the drug is given after an override.",
    )
    alternatives = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Additive: on an avoid or contraindicated caution, the drug codes that its "
        "findings name to give instead and that are neither planned nor rated avoid or above "
        "for this patient; empty otherwise.",
    )
    locally_tuned = serializers.BooleanField(
        required=False, help_text="Only present (true) when a local tuning changed a finding."
    )


class KnowledgeBaseVersionOutput(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.CharField()
    digest = serializers.CharField()


class ReceptorSourceOutput(serializers.Serializer):  # type: ignore[type-arg]
    condition = serializers.CharField()
    effect = serializers.ChoiceField(choices=["up", "down"])


class ReceptorStateOutput(serializers.Serializer):  # type: ignore[type-arg]
    value = serializers.ChoiceField(choices=RECEPTOR_STATE_CHOICES)
    overridden = serializers.BooleanField()
    derived = serializers.ChoiceField(choices=RECEPTOR_STATE_CHOICES)
    sources = ReceptorSourceOutput(many=True)


class WarningOutput(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(
        help_text="`implausible-weight`: the weight is a biologically implausible value for the "
        "patient's age and sex on the 2000 CDC growth charts (checked under 20 years). "
        "`weight-unchecked`: a child's weight was not checked, since the knowledge-base release "
        "in force has no growth chart of its own (a release stored before the chart was part "
        "of one) and the chart such releases were checked on is no longer the one shipped."
    )
    field = serializers.CharField(help_text="The input the warning is about.")
    message = serializers.CharField()


class CheckOutput(serializers.Serializer):  # type: ignore[type-arg]
    knowledge_base = KnowledgeBaseVersionOutput()
    at = serializers.DateTimeField()
    receptor_state = ReceptorStateOutput()
    highest_level = serializers.ChoiceField(choices=LEVEL_CHOICES)
    cautions = CautionOutput(many=True)
    assumptions = serializers.ListField(child=serializers.CharField())
    tunings = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        help_text="Only present when local tunings of the department changed a finding: their ids.",
    )
    warnings = WarningOutput(
        many=True,
        help_text="Allowed but unlikely inputs, worth a second look; they never block. v1.1 "
        "(additive): a weight implausible for `patient.age_years` and `patient.sex` at every "
        "age in that year (the check knows no birth date). Empty when there is none.",
    )
