"""The weight every door accepts (the checks, assessments, patients' forms and the API), and the
words each uses to refuse one, so that the same value gets the same message everywhere."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

MINIMUM_WEIGHT_KG = Decimal("0.3")
MAXIMUM_WEIGHT_KG = Decimal("400")
WEIGHT_RANGE_MESSAGE = f"Weight must be between {MINIMUM_WEIGHT_KG} and {MAXIMUM_WEIGHT_KG} kg."
WEIGHT_NUMBER_MESSAGE = "Enter the weight as a number of kg, for example 72.5."
WEIGHT_DECIMALS_MESSAGE = "Give the weight to at most two decimal places."
WEIGHT_DIGITS_MESSAGE = WEIGHT_RANGE_MESSAGE

# The error messages of a decimal field holding a weight (a form's or a serializer's).
WEIGHT_ERROR_MESSAGES: dict[str, Any] = {
    "invalid": WEIGHT_NUMBER_MESSAGE,
    "min_value": WEIGHT_RANGE_MESSAGE,
    "max_value": WEIGHT_RANGE_MESSAGE,
    "max_digits": WEIGHT_DIGITS_MESSAGE,
    "max_whole_digits": WEIGHT_DIGITS_MESSAGE,
    "max_decimal_places": WEIGHT_DECIMALS_MESSAGE,
}
