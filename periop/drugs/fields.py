"""Serializer fields for clinical time: exact instants with an offset, or bare dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from periop.drugs.services import clinical_time_validate

DATE_OR_DATETIME_HELP = (
    "Enter a date (YYYY-MM-DD) or a date-time with an offset (YYYY-MM-DDThh:mm:ss+00:00)."
)


def to_utc(parsed: dt.datetime) -> dt.datetime:
    """The instant in UTC, once its year is within the clinical bound."""
    clinical_checked(parsed)
    return parsed.astimezone(dt.UTC)


def clinical_checked(value: dt.date) -> None:
    """The clinical year bound of the services, as a field error of the API."""
    try:
        clinical_time_validate(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages, code="out_of_range") from None


@extend_schema_field(OpenApiTypes.DATETIME)
class AwareDateTimeField(serializers.Field):  # type: ignore[type-arg]
    """An RFC 3339 date-time that must carry its offset: clinical times are never ambiguous."""

    default_error_messages = {
        "invalid": "Enter a date-time with an offset, for example 2026-11-22T08:00:00+00:00.",
        "naive": "Give the time zone offset, for example 2026-11-22T08:00:00+00:00.",
    }

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str) or "T" not in data:
            self.fail("invalid")
        try:
            parsed = dt.datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        return to_utc(parsed)

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date"},
            {"type": "string", "format": "date-time"},
        ],
        "description": DATE_OR_DATETIME_HELP,
    }
)
class TimePointField(serializers.Field):  # type: ignore[type-arg]
    """A date (time of day unknown) or an exact date-time with its offset; null means unknown."""

    default_error_messages = {
        "invalid": DATE_OR_DATETIME_HELP,
        "naive": "Give the time zone offset, for example 2026-11-12T14:00:00+00:00, or a date.",
    }

    def to_internal_value(self, data: Any) -> dt.date | dt.datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        if "T" not in data and " " not in data:
            try:
                day = dt.date.fromisoformat(data)
            except ValueError:
                self.fail("invalid")
            clinical_checked(day)
            return day
        try:
            parsed = dt.datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        return to_utc(parsed)

    def to_representation(self, value: dt.date | dt.datetime) -> str:
        return value.isoformat()
