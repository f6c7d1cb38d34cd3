"""Dose guidance from a rule's dose entry and the patient's weight, in exact decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

from periop.drugs.engine.knowledge import DoseSpec
from periop.drugs.engine.types import DoseGuidance, DoseRange

_TENTH_MILLIGRAM = Decimal("0.1")
# An explicit context, so the caller's thread-local decimal settings never change a dose.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)

CONFLICT_DOSE = DoseGuidance(
    text=(
        "Findings pull in opposite directions; no single dose applies: give small increments "
        "titrated to quantitative TOF."
    ),
    rule="conflict",
)


def dose_guidance(spec: DoseSpec, rule_id: str, weight_kg: Decimal | None) -> DoseGuidance:
    """The guidance of one dose entry; with a weight, per-kg doses are also given in mg."""
    total: DoseRange | None = None
    if spec.per_kg_mg is not None and weight_kg is not None:
        total = DoseRange(
            minimum=_milligrams(_CONTEXT.multiply(spec.per_kg_mg.minimum, weight_kg), spec.max_mg),
            maximum=_milligrams(_CONTEXT.multiply(spec.per_kg_mg.maximum, weight_kg), spec.max_mg),
        )
    elif spec.fixed_mg is not None:
        total = spec.fixed_mg
    return DoseGuidance(
        text=spec.text,
        rule=rule_id,
        per_kg_mg=spec.per_kg_mg,
        total_mg=total,
        max_mg=spec.max_mg,
    )


def _milligrams(amount: Decimal, cap: Decimal | None) -> Decimal:
    if cap is not None and amount > cap:
        amount = cap
    return amount.quantize(_TENTH_MILLIGRAM, context=_CONTEXT)
