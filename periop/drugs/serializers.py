"""Input shapes for checks, shared by the stateless check and the patient check.

They check shape and vocabulary (codes, attributes, ranges, dates) and give one clear message
per field; the engine decides clinical meaning.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Container
from decimal import Decimal
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


class _Decline(Exception):
    """The fast path leaves this body to the serializer."""


def _plain_name(name: str) -> bool:
    """A name that DRF's `CharField(max_length=64)` returns unchanged (no whitespace to trim,
    nothing its validators refuse)."""
    return 0 < len(name) <= 64 and name == name.strip() and name.isascii() and name.isprintable()


def _small_int(value: object, minimum: int, maximum: int) -> bool:
    return type(value) is int and minimum <= value <= maximum


def _copy_optional(
    source: dict[str, Any], target: dict[str, Any], key: str, allowed: Callable[[Any], bool]
) -> None:
    """An optional, nullable field that the serializer returns as given when `allowed`."""
    if key in source:
        value = source[key]
        if value is not None and not allowed(value):
            raise _Decline
        target[key] = value


class CheckInputFastPath:
    """What `CheckInput` returns for a body in plain form, without DRF's field machinery.

    DRF runs every field through several layers (empty values, conversion, validators, the
    serializer's hooks): 100 to 180 us for the contract's example, over a quarter of a check's own
    work. This reader accepts only what the serializer accepts unchanged: JSON types as they
    come (an int, not "34"), codes and synonyms spelled as the knowledge base spells them, every
    condition, medication and list within bounds. It builds the same validated data, key for
    key and in the same order, through the same rule functions (attributes, time order, onset
    before the planned time) and the same field conversions (time points, weight), and returns
    None for anything else, valid or not, which the serializer then reads. So error messages
    have one author, the serializer; `tests/api/test_check_input_fast_path.py` holds the two
    equal on generated bodies, valid and invalid.
    """

    def __init__(self, validator: CheckInput, knowledge_base: Any) -> None:
        self.knowledge_base = knowledge_base
        fields = validator.fields
        self.top_keys = frozenset(fields)
        self.at_field = fields["at"]
        patient_fields = fields["patient"].fields  # type: ignore[attr-defined]
        self.patient_keys = frozenset(patient_fields)
        self.weight_field = patient_fields["weight_kg"]
        self.weight_bounds = (self.weight_field.min_value, self.weight_field.max_value)
        self.weight_places = Decimal(1).scaleb(-self.weight_field.decimal_places)
        self.sexes = frozenset(patient_fields["sex"].choices)
        condition_fields = fields["conditions"].child.fields  # type: ignore[attr-defined]
        self.condition_keys = frozenset(condition_fields)
        medication_fields = fields["medications"].child.fields  # type: ignore[attr-defined]
        self.medication_keys = frozenset(medication_fields)
        # Each time point read by its own field.
        self.time_fields = {
            **{key: condition_fields[key] for key in ("onset", "resolved")},
            **{key: medication_fields[key] for key in ("started", "stopped")},
        }
        self.receptor_states = frozenset(fields["receptor_state"].choices)  # type: ignore[attr-defined]
        self.condition_codes = frozenset(
            code for code in knowledge_base.conditions if _plain_name(code)
        )
        self.drug_codes: dict[str, str] = {
            name: code
            for name, code in knowledge_base.index.drug_names.items()
            if _plain_name(name)
        }

    def _receptor_state(self, value: Any) -> bool:
        return type(value) is str and value in self.receptor_states

    def _sex(self, value: Any) -> bool:
        return type(value) is str and value in self.sexes

    def read(self, data: Any) -> dict[str, Any] | None:
        """The validated data `CheckInput` gives for `data`, or None to leave it to it."""
        try:
            return self._read(data)
        except (_Decline, serializers.ValidationError):
            return None

    def _read(self, data: Any) -> dict[str, Any]:
        if type(data) is not dict or not data.keys() <= self.top_keys:
            raise _Decline
        validated: dict[str, Any] = {}
        if "at" in data:
            validated["at"] = self.at_field.to_internal_value(data["at"])
        if "patient" in data:
            validated["patient"] = self._patient(data["patient"])
        validated["conditions"] = [
            self._condition(item) for item in self._items(data, "conditions", MAX_CONDITIONS)
        ]
        validated["medications"] = [
            self._medication(item) for item in self._items(data, "medications", MAX_MEDICATIONS)
        ]
        _copy_optional(data, validated, "receptor_state", self._receptor_state)
        validated["drugs"] = self._drugs(data.get("drugs"))
        _copy_optional(data, validated, "department", lambda id_: _small_int(id_, 1, 2**63 - 1))
        # CheckInput.validate, to the letter.
        validated["at"] = validated.get("at") or timezone.now()
        validate_onsets_before(validated["conditions"], validated["at"])
        return validated

    @staticmethod
    def _items(data: dict[str, Any], key: str, most: int) -> list[Any]:
        items = data.get(key, [])
        if type(items) is not list or len(items) > most:
            raise _Decline
        return items

    def _patient(self, patient: Any) -> dict[str, Any] | None:
        if patient is None:
            return None
        if type(patient) is not dict or not patient.keys() <= self.patient_keys:
            raise _Decline
        validated: dict[str, Any] = {}
        _copy_optional(patient, validated, "age_years", lambda age: _small_int(age, 0, 130))
        if "weight_kg" in patient:
            validated["weight_kg"] = self._weight(patient["weight_kg"])
        _copy_optional(patient, validated, "sex", self._sex)
        return validated

    def _weight(self, value: Any) -> Any:
        """A whole number of kg within the field's bounds, the usual form, as the field gives it
        (to its decimal places, exactly: 400.00 fits its six digits) without its round trip
        through text; anything else is read by the field itself."""
        if type(value) is int and self.weight_bounds[0] <= value <= self.weight_bounds[1]:
            return Decimal(value).quantize(self.weight_places)
        return self.weight_field.run_validation(value)

    def _time_point(self, item: dict[str, Any], key: str) -> Any:
        value = item.get(key)
        return None if value is None else self.time_fields[key].to_internal_value(value)

    @staticmethod
    def _code_of(item: Any, keys: frozenset[str], known: Container[str]) -> str:
        """The code of a record given as a plain mapping of its own keys, with a known code."""
        if type(item) is not dict or not item.keys() <= keys:
            raise _Decline
        code = item.get("code")
        if type(code) is not str or code not in known:
            raise _Decline
        return code

    def _condition(self, item: Any) -> dict[str, Any]:
        code = self._code_of(item, self.condition_keys, self.condition_codes)
        onset = self._time_point(item, "onset")
        resolved = self._time_point(item, "resolved")
        attributes = item.get("attributes", {})
        if type(attributes) is not dict:
            raise _Decline
        attributes = dict(attributes)
        if check_condition_attributes(self.knowledge_base, code, attributes):
            raise _Decline
        if resolved_before_onset(onset, resolved):
            raise _Decline
        return {"code": code, "onset": onset, "resolved": resolved, "attributes": attributes}

    def _medication(self, item: Any) -> dict[str, Any]:
        name = self._code_of(item, self.medication_keys, self.drug_codes)
        started = self._time_point(item, "started")
        stopped = self._time_point(item, "stopped")
        if stopped_before_started(started, stopped):
            raise _Decline
        return {"code": self.drug_codes[name], "started": started, "stopped": stopped}

    def _drugs(self, names: Any) -> list[str]:
        if type(names) is not list or not 0 < len(names) <= MAX_DRUGS:
            raise _Decline
        codes: list[str] = []
        for name in names:
            if type(name) is not str or name not in self.drug_codes:
                raise _Decline
            code = self.drug_codes[name]
            if code in codes:
                raise _Decline
            codes.append(code)
        return codes


_VALIDATORS = threading.local()


def check_input_validate(data: Any) -> dict[str, Any]:
    """`CheckInput`'s validation with a validator built once (per thread), not per request.

    Each new serializer instance deep-copies its declared fields, and those of the nested
    serializers it holds, when first used: about 2 ms of a check. Validation itself keeps no
    state on the serializer (`run_validation` returns the data or raises), so one bound field
    tree serves every request of a thread. Raises DRF's ValidationError with the same field
    messages as `CheckInput(data=...).is_valid(raise_exception=True)`.

    A body in plain form is first read by `CheckInputFastPath`, which returns exactly what the
    serializer would or declines; everything it declines (every invalid body among them) goes
    through the serializer, which alone writes error messages.
    """
    validator: CheckInput | None = getattr(_VALIDATORS, "check_input", None)
    if validator is None:
        validator = CheckInput()
        _ = validator.fields  # binds the whole field tree now
        _VALIDATORS.check_input = validator
        _VALIDATORS.fast_path = None
    fast_path: CheckInputFastPath | None = _VALIDATORS.fast_path
    knowledge_base = get_knowledge_base()
    if fast_path is None or fast_path.knowledge_base is not knowledge_base:
        fast_path = CheckInputFastPath(validator, knowledge_base)
        _VALIDATORS.fast_path = fast_path
    read = fast_path.read(data)
    if read is not None:
        return read
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
