"""Input shapes for checks, shared by the stateless check and the patient check.

They check shape and vocabulary (codes, attributes, ranges, dates) and give one clear message
per field; the engine decides clinical meaning.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from periop.api import StrictSerializer
from periop.drugs.engine import RECEPTOR_STATES, check_condition_attributes
from periop.drugs.fields import AwareDateTimeField, TimePointField
from periop.drugs.registry import get_knowledge_base
from periop.drugs.time_rules import (
    earliest_instant,
    resolved_before_onset,
    stopped_before_started,
)

CATALOGUE_HINT = "See GET /api/v1/knowledge-base."
MAX_DRUGS = 50
MAX_CONDITIONS = 50
MAX_MEDICATIONS = 50


class PatientInput(StrictSerializer):
    age_years = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=130
    )
    weight_kg = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("0.3"),
        max_value=Decimal("400"),
        error_messages={
            "min_value": "Weight must be between 0.3 and 400 kg.",
            "max_value": "Weight must be between 0.3 and 400 kg.",
        },
    )
    sex = serializers.ChoiceField(
        required=False, allow_null=True, choices=["female", "male", "other", "unknown"]
    )


class ConditionInput(StrictSerializer):
    code = serializers.CharField(max_length=64)
    onset = TimePointField(required=False, allow_null=True, default=None)
    resolved = TimePointField(required=False, allow_null=True, default=None)
    attributes = serializers.DictField(required=False, default=dict)

    def validate_code(self, code: str) -> str:
        if code not in get_knowledge_base().conditions:
            raise serializers.ValidationError(f"Unknown condition code '{code}'. {CATALOGUE_HINT}")
        return code

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        attribute_errors = check_condition_attributes(
            get_knowledge_base(), data["code"], data.get("attributes") or {}
        )
        if attribute_errors:
            errors["attributes"] = [
                f"{name}: {message}" for name, message in sorted(attribute_errors.items())
            ]
        order = resolved_before_onset(data.get("onset"), data.get("resolved"))
        if order:
            errors["resolved"] = [order]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class MedicationInput(StrictSerializer):
    code = serializers.CharField(max_length=64)
    started = TimePointField(required=False, allow_null=True, default=None)
    stopped = TimePointField(required=False, allow_null=True, default=None)

    def validate_code(self, code: str) -> str:
        if code not in get_knowledge_base().drugs:
            raise serializers.ValidationError(f"Unknown drug code '{code}'. {CATALOGUE_HINT}")
        return code

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        order = stopped_before_started(data.get("started"), data.get("stopped"))
        if order:
            raise serializers.ValidationError({"stopped": [order]})
        return data


class DrugListField(serializers.ListField):
    """1 to 50 distinct, known drug codes; errors name every bad code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=64),
            min_length=1,
            max_length=MAX_DRUGS,
            error_messages={
                "min_length": "Give at least one planned drug.",
                "max_length": f"Give at most {MAX_DRUGS} planned drugs.",
                "empty": "Give at least one planned drug.",
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        # The count comes first: fifty unknown codes are one error, not fifty.
        if isinstance(data, list) and len(data) > MAX_DRUGS:
            self.fail("max_length", max_length=MAX_DRUGS)
        codes: list[str] = super().to_internal_value(data)
        known = get_knowledge_base().drugs
        messages = [
            f"Unknown drug code '{code}'. {CATALOGUE_HINT}" for code in codes if code not in known
        ]
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                messages.append(f"Drug '{code}' is listed more than once.")
            seen.add(code)
        if messages:
            raise serializers.ValidationError(messages)
        return codes


def validate_onsets_before(conditions: list[dict[str, Any]], at: dt.datetime) -> None:
    """Raises a field error for every condition whose onset is certainly after `at`."""
    errors: list[dict[str, Any]] = []
    for condition in conditions:
        onset = condition.get("onset")
        if onset is not None and earliest_instant(onset) > at:
            errors.append(
                {
                    "onset": [
                        f"Onset ({onset.isoformat()}) is after the planned time ({at.isoformat()})."
                    ]
                }
            )
        else:
            errors.append({})
    if any(errors):
        raise serializers.ValidationError({"conditions": errors})


class CheckInput(StrictSerializer):
    at = AwareDateTimeField(
        required=False,
        help_text="Planned time of administration (defaults to now); windows are measured to it.",
    )
    patient = PatientInput(required=False, allow_null=True)
    # ListSerializer accepts max_length; the stubs do not know it.
    conditions = ConditionInput(  # type: ignore[call-arg]
        many=True, required=False, default=list, max_length=MAX_CONDITIONS
    )
    medications = MedicationInput(  # type: ignore[call-arg]
        many=True, required=False, default=list, max_length=MAX_MEDICATIONS
    )
    receptor_state = serializers.ChoiceField(
        choices=list(RECEPTOR_STATES),
        required=False,
        allow_null=True,
        help_text="Clinician override of the receptor state; recorded as an override.",
    )
    drugs = DrugListField(help_text="1 to 50 distinct planned drug codes.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data["at"] = data.get("at") or timezone.now()
        validate_onsets_before(data.get("conditions", []), data["at"])
        return data
