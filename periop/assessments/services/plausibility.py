"""Warnings about recorded values that are allowed but unlikely: a child's weight that is
biologically implausible for the age and sex on the 2000 CDC growth charts
(`periop.drugs.plausibility`, which the stateless check asks too).

A warning never blocks: the assessment is saved, and the API and the web page show the same
message (both ask this module). It is worked out from the assessment as stored (weight,
planned time, the patient's birth date and sex), on the growth chart of the knowledge-base
release the assessment was evaluated on (its `knowledge_base_digest`), so it shows for as long
as the weight stays and does not change when another release is activated. A release without a
growth chart (stored before the chart was part of releases) gives a `weight-unchecked` warning
for a child instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from periop.assessments.models import Assessment, Patient
from periop.drugs.engine import KnowledgeBase
from periop.drugs.plausibility import (
    IMPLAUSIBLE_WEIGHT,
    WEIGHT_UNCHECKED,
    GrowthChartMissing,
    unchecked_warnings,
    weight_warning_at_age,
    weight_warnings,
)
from periop.drugs.registry import ReleaseUnavailable, knowledge_base_for_digest

__all__ = [
    "IMPLAUSIBLE_WEIGHT",
    "WEIGHT_UNCHECKED",
    "GrowthChartMissing",
    "assessment_warnings",
    "patient_weight_warnings",
    "weight_warning",
]


def weight_warning(
    *, patient: Patient, at: dt.datetime, weight_kg: Decimal, kb: KnowledgeBase | None = None
) -> str | None:
    """The warning for a weight that is implausible for the patient's age and sex at `at`, on
    the growth chart of release `kb` (the active release when None), or None. Patients of 20
    years (240 months) and over are not checked. A patient whose sex is recorded as other or
    unknown is checked against boys and girls and warned about only when the weight is
    implausible for both. Raises GrowthChartMissing for a child when the release has no
    chart."""
    return weight_warning_at_age(
        birth_date=patient.birth_date,
        sex=patient.sex,
        on=at.astimezone(dt.UTC).date(),
        weight_kg=weight_kg,
        kb=kb,
    )


def patient_weight_warnings(
    *, patient: Patient, at: dt.datetime, weight_kg: Decimal, kb: KnowledgeBase | None = None
) -> list[dict[str, Any]]:
    """The weight's warnings as the API returns them (`code`, `field`, `message`): an
    implausible weight, or a child's weight left unchecked by a release without a chart."""
    try:
        return weight_warnings(weight_warning(patient=patient, at=at, weight_kg=weight_kg, kb=kb))
    except GrowthChartMissing as error:
        return unchecked_warnings(error)


def assessment_warnings(assessment: Assessment) -> list[dict[str, Any]]:
    """The assessment's warnings, as the API returns them: `code`, `field` and `message`, on
    the growth chart of the release the assessment was evaluated on."""
    try:
        kb = knowledge_base_for_digest(assessment.knowledge_base_digest)
    except ReleaseUnavailable:
        return unchecked_warnings(
            GrowthChartMissing(
                "Weight not checked for plausibility: the knowledge-base release this "
                f"assessment was evaluated on ({assessment.knowledge_base_version}, "
                f"{assessment.knowledge_base_digest}) is not stored. Check the weight and its "
                "units (kg)."
            )
        )
    return patient_weight_warnings(
        patient=assessment.patient,
        at=assessment.planned_at,
        weight_kg=assessment.weight_kg,
        kb=kb,
    )
