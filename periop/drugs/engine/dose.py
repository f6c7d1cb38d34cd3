"""Dose guidance from a rule's dose entry and the patient's weight, in exact decimals."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Protocol, TypeVar

from periop.drugs.engine.knowledge import DoseSpec, Rule
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
        total = weighed_total(spec.per_kg_mg, spec.max_mg, weight_kg)
    elif spec.fixed_mg is not None:
        total = spec.fixed_mg
    return DoseGuidance(
        text=spec.text,
        rule=rule_id,
        per_kg_mg=spec.per_kg_mg,
        total_mg=total,
        max_mg=spec.max_mg,
    )


def weighed_total(per_kg_mg: DoseRange, max_mg: Decimal | None, weight_kg: Decimal) -> DoseRange:
    """A per-kg range in mg for the weight, capped by max_mg."""
    return DoseRange(
        minimum=_milligrams(_CONTEXT.multiply(per_kg_mg.minimum, weight_kg), max_mg),
        maximum=_milligrams(_CONTEXT.multiply(per_kg_mg.maximum, weight_kg), max_mg),
    )


def _milligrams(amount: Decimal, cap: Decimal | None) -> Decimal:
    if cap is not None and amount > cap:
        amount = cap
    return amount.quantize(_TENTH_MILLIGRAM, context=_CONTEXT)


class _Matched(Protocol):
    """A rule that fired, with what it matched (matching.Fired)."""

    @property
    def rule(self) -> Rule: ...

    @property
    def triggers(self) -> frozenset[str]: ...

    @property
    def unknown_reading(self) -> str: ...


def specificity(
    rule: Rule, triggers: frozenset[str], unknown_reading: str = ""
) -> tuple[int, int, int, int]:
    """How specific a fired rule is to this patient, larger first, for choosing the dose:

    1. a rule whose `when` names conditions (disease-specific) before one that names none
       (an interaction or drug-only rule, which applies to any patient);
    2. then the more attribute constraints it places on those conditions (MuSK myasthenia
       before myasthenia of any antibody), counted only when known values meet them: a rule
       that fires only through the cautious reading of an unknown value ranks below one with
       no constraint, since it is not specific to this patient (a burn of unrecorded size
       never gets the major-burn dose figure);
    3. then the more conditions it matched in this patient;
    4. then the more triggers of any kind (conditions, medications, planned drugs, receptor
       state) it matched.
    Rules equal on all four keep the knowledge base's order by rule id.
    """
    conditions = sum(1 for trigger in triggers if trigger.startswith("condition:"))
    return (
        1 if rule.when.conditions else 0,
        -1 if unknown_reading else len(rule.when.attributes),
        conditions,
        len(triggers),
    )


_FiredRule = TypeVar("_FiredRule", bound=_Matched)


def most_specific_first(fired: Sequence[_FiredRule]) -> list[_FiredRule]:
    """The fired rules, most specific first (see `specificity`), then by rule id."""
    return sorted(
        fired,
        key=lambda item: (
            tuple(-part for part in specificity(item.rule, item.triggers, item.unknown_reading)),
            item.rule.id,
        ),
    )
