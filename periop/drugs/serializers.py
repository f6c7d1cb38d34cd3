"""Input shapes for checks, shared by the stateless check and the patient check.

They check shape and vocabulary (codes, attributes, ranges, dates) and give one clear message
per field; the engine decides clinical meaning.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from periop.api import StrictSerializer
from periop.drugs.engine import RECEPTOR_STATES, check_condition_attributes
from periop.drugs.fields import AwareDateTimeField, TimePointField
from periop.drugs.registry import get_knowledge_base
from periop.drugs.time_rules import (
    earliest_instant,
    resolved_before_onset,
    stopped_before_started,
)
from periop.drugs.weights import MAXIMUM_WEIGHT_KG, MINIMUM_WEIGHT_KG, WEIGHT_ERROR_MESSAGES

CATALOGUE_HINT = "See GET /api/v1/knowledge-base."
MAX_DRUGS = 50
MAX_CONDITIONS = 50
MAX_MEDICATIONS = 50
DRUG_LIST_HELP = (
    "1 to 50 distinct planned drug codes. v1.1: a drug's synonyms (British and international "
    "names such as 'suxamethonium') are accepted too; responses always carry the canonical code."
)


class PatientInput(StrictSerializer):
    age_years = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=130
    )
    weight_kg = serializers.DecimalField(
        required=False,
        allow_null=True,
        max_digits=6,
        decimal_places=2,
        min_value=MINIMUM_WEIGHT_KG,
        max_value=MAXIMUM_WEIGHT_KG,
        error_messages=WEIGHT_ERROR_MESSAGES,
    )
    sex = serializers.ChoiceField(
        required=False, allow_null=True, choices=["female", "male", "other", "unknown"]
    )


class ConditionInput(StrictSerializer):
    code = serializers.CharField(
        max_length=64,
        help_text=(
            "A condition code of GET /api/v1/knowledge-base. v1.1 adds hyperkalemia, pregnancy "
            "and postpartum (onset = delivery)."
        ),
    )
    onset = TimePointField(
        required=False, allow_null=True, default=None, help_text="null: unknown."
    )
    resolved = TimePointField(
        required=False, allow_null=True, default=None, help_text="null: ongoing."
    )
    attributes = serializers.DictField(
        required=False,
        default=dict,
        help_text=(
            "The condition's attributes, all optional; an attribute the condition does not "
            "define is refused. v1.1 (additive): renal-impairment and hyperkalemia take "
            "serum_potassium_mmol_l (0-15); hypermagnesemia takes serum_mg_mmol_l and "
            "serum_mg_meq_l besides serum_mg_mg_dl, read as mg/dL (x 2.43 and x 1.215, rounded "
            "to 0.1); a pair that disagrees by more than 0.1 mg/dL keeps both readings, the "
            "most cautious applies and the assumptions say so."
        ),
    )

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
    code = serializers.CharField(
        max_length=64,
        help_text=(
            "A drug code or one of its synonyms (v1.1), for example 'suxamethonium'; "
            "stored and returned as the canonical code."
        ),
    )
    started = TimePointField(required=False, allow_null=True, default=None)
    stopped = TimePointField(required=False, allow_null=True, default=None)

    def validate_code(self, code: str) -> str:
        canonical = get_knowledge_base().canonical_drug_code(code)
        if canonical is None:
            raise serializers.ValidationError(f"Unknown drug code '{code}'. {CATALOGUE_HINT}")
        return canonical

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        order = stopped_before_started(data.get("started"), data.get("stopped"))
        if order:
            raise serializers.ValidationError({"stopped": [order]})
        return data


class DrugNameField(serializers.CharField):
    """A drug code or synonym (v1.1), given to the service as the canonical code; a name the
    knowledge base does not know passes unchanged, for the service's own message."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        name = super().to_internal_value(data)
        return get_knowledge_base().canonical_drug_code(name) or name


class DrugListField(serializers.ListField):
    """1 to 50 distinct, known drug codes or synonyms, returned as codes; errors name every bad
    code."""

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
        names: list[str] = super().to_internal_value(data)
        knowledge_base = get_knowledge_base()
        messages = []
        codes: list[str] = []
        seen: set[str] = set()
        for name in names:
            code = knowledge_base.canonical_drug_code(name)
            if code is None:
                messages.append(f"Unknown drug code '{name}'. {CATALOGUE_HINT}")
                continue
            if code in seen:
                alias = "" if name == code else f" (as '{name}')"
                messages.append(f"Drug '{code}' is listed more than once{alias}.")
            seen.add(code)
            codes.append(code)
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
    drugs = DrugListField(help_text=DRUG_LIST_HELP)
    department = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text=(
            "The department the check is made for (its id), so that it appears in that "
            "department's audit log. Optional for a caller with a checking role in one "
            "department only, which is then taken; the caller must hold a checking role in it."
        ),
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        data["at"] = data.get("at") or timezone.now()
        validate_onsets_before(data.get("conditions", []), data["at"])
        return data


_VALIDATORS = threading.local()


def check_input_validate(data: Any) -> dict[str, Any]:
    """`CheckInput`'s validation with a validator built once (per thread), not per request.

    Each new serializer instance deep-copies its declared fields, and those of the nested
    serializers it holds, when first used: about 2 ms of a check. Validation itself keeps no
    state on the serializer (`run_validation` returns the data or raises), so one bound field
    tree serves every request of a thread. Raises DRF's ValidationError with the same field
    messages as `CheckInput(data=...).is_valid(raise_exception=True)`.
    """
    validator: CheckInput | None = getattr(_VALIDATORS, "check_input", None)
    if validator is None:
        validator = CheckInput()
        _ = validator.fields  # binds the whole field tree now
        _VALIDATORS.check_input = validator
    try:
        validated: dict[str, Any] = validator.run_validation(data)
    except serializers.ValidationError as error:
        detail = error.detail
        if (
            isinstance(detail, list)
            and len(detail) == 1
            and getattr(detail[0], "code", "") == "null"
        ):
            # What `is_valid` says of a body that is JSON null.
            detail = {api_settings.NON_FIELD_ERRORS_KEY: [ErrorDetail("No data provided", "null")]}
        raise serializers.ValidationError(detail) from None
    return validated
