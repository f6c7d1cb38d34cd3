"""Warnings about recorded values that are allowed but unlikely: a child's weight that is
biologically implausible for the age and sex on the 2000 CDC growth charts
(`periop.drugs.plausibility`, which the stateless check asks too).

A warning never blocks: the assessment is saved, and the API and the web page show the same
message (both ask this module). It is worked out from the assessment as stored (weight,
planned time, the patient's birth date and sex), so it shows for as long as the weight stays.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from periop.assessments.models import Assessment, Patient
from periop.drugs.plausibility import (
    IMPLAUSIBLE_WEIGHT,
    weight_warning_at_age,
    weight_warnings,
)

__all__ = ["IMPLAUSIBLE_WEIGHT", "assessment_warnings", "weight_warning"]


def weight_warning(*, patient: Patient, at: dt.datetime, weight_kg: Decimal) -> str | None:
    """The warning for a weight that is implausible for the patient's age and sex at `at`, or
    None. Patients of 20 years (240 months) and over are not checked. A patient whose sex is
    recorded as other or unknown is checked against boys and girls and warned about only when
    the weight is implausible for both."""
    return weight_warning_at_age(
        birth_date=patient.birth_date,
        sex=patient.sex,
        on=at.astimezone(dt.UTC).date(),
        weight_kg=weight_kg,
    )


def assessment_warnings(assessment: Assessment) -> list[dict[str, Any]]:
    """The assessment's warnings, as the API returns them: `code`, `field` and `message`."""
    return weight_warnings(
        weight_warning(
            patient=assessment.patient, at=assessment.planned_at, weight_kg=assessment.weight_kg
        )
    )
