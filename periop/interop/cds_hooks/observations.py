"""Observations by LOINC: body weight, serum potassium and serum magnesium, for the engine.

The codes, their units and what each unit feeds come from the knowledge base
(`observations.toml`, published with the code mappings); one prefetch key per measure.

Which result is used, per measure:
- only an Observation coded with one of the measure's codes, with status `final`, `amended` or
  `corrected` (a `preliminary`, `registered`, `cancelled`, `entered-in-error` or `unknown`
  result is ignored);
- with a `valueQuantity` in a UCUM unit the knowledge base accepts for that code; a result in
  another unit is not used, and when it is the most recent the card says so;
- with an effective time (`effectiveDateTime`, `effectiveInstant`, or the end, else the start,
  of `effectivePeriod`) that is not after the evaluation; of those, the latest.
No age limit is applied (no source in the knowledge base gives one): each card shows the date of
every result it used, for the clinician to judge. A value the engine's schema refuses (a weight
of 0, a potassium above 15 mmol/L) is not used and named. An observation never creates a
condition: potassium and magnesium are attributes of recorded renal impairment, hyperkalaemia
and hypermagnesaemia, and a condition without its value takes the engine's cautious reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from periop.drugs.engine import KnowledgeBase
from periop.drugs.engine.evaluate import MAXIMUM_WEIGHT_KG
from periop.drugs.engine.observation_codes import WEIGHT, ObservationCode
from periop.drugs.time_rules import earliest_instant
from periop.interop.cds_hooks.fhir_input import fhir_time
from periop.interop.systems import UCUM

USABLE_STATUSES = frozenset({"final", "amended", "corrected"})


def measures(kb: KnowledgeBase) -> dict[str, tuple[ObservationCode, ...]]:
    """The knowledge base's observation codes grouped by measure, in file order."""
    grouped: dict[str, list[ObservationCode]] = {}
    for item in kb.observations:
        grouped.setdefault(item.measure, []).append(item)
    return {measure: tuple(codes) for measure, codes in grouped.items()}


def prefetch_key(measure: str) -> str:
    """`body-weight` -> `bodyWeight`."""
    first, *rest = measure.split("-")
    return first + "".join(part.capitalize() for part in rest)


def measure_label(measure: str) -> str:
    """`serum-potassium` -> `Serum potassium`."""
    return measure.replace("-", " ").capitalize()


def observation_templates(kb: KnowledgeBase) -> dict[str, str]:
    """One search per measure, by its codes (a comma means any of them), spec tokens only."""
    return {
        prefetch_key(measure): "Observation?patient={{context.patientId}}&code="
        + ",".join(f"{item.system}|{item.code}" for item in codes)
        for measure, codes in measures(kb).items()
    }


def _weight_could_matter(kb: KnowledgeBase, drugs: Sequence[str]) -> bool:
    """Whether a rule for one of `drugs` gives a dose per kg (the weight turns it into mg)."""
    for rule in kb.rules:
        for drug in drugs:
            if drug in rule.target_drugs:
                dose = rule.dose_for(drug)
                if dose is not None and dose.per_kg_mg is not None:
                    return True
    return False


def optional_measures(kb: KnowledgeBase) -> frozenset[str]:
    """Measures a call can do without when the client neither sent nor let Periop fetch them:
    the weight, whose absence leaves a dose per kg without its mg and changes no level. A
    missing potassium or magnesium could change a level, so those stay required (412)."""
    return frozenset(
        measure
        for measure, codes in measures(kb).items()
        if {target for item in codes for target in item.units.values()} == {WEIGHT}
    )


def needed_measures(
    kb: KnowledgeBase, condition_codes: Iterable[str], drugs: Sequence[str]
) -> list[str]:
    """The measures whose value can change this call's cards: the weight when a dose per kg
    may be given, an attribute when a recorded condition has it. Only these are read (and, when
    the client did not send them, fetched); the others are not asked for."""
    attributes = {name for code in set(condition_codes) for name in kb.conditions[code].attributes}
    weight = _weight_could_matter(kb, drugs)
    needed = []
    for measure, codes in measures(kb).items():
        targets = {target for item in codes for target in item.units.values()}
        if (WEIGHT in targets and weight) or targets & attributes:
            needed.append(measure)
    return needed


@dataclass(slots=True)
class ObservationReadings:
    """What the observations give the engine, and the lines the cards show about them."""

    weight_kg: Decimal | None = None
    attributes: dict[str, Decimal] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Result:
    code: ObservationCode
    value: Decimal
    unit: str
    effective: dt.date | dt.datetime
    accepted: bool


def _matching_code(resource: Mapping[str, Any], codes: Sequence[ObservationCode]) -> Any:
    concept = resource.get("code")
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    for coding in codings or ():
        if not isinstance(coding, Mapping):
            continue
        for item in codes:
            if coding.get("system") == item.system and coding.get("code") == item.code:
                return item
    return None


def _effective(resource: Mapping[str, Any]) -> dt.date | dt.datetime | None:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in resource:
            return fhir_time(resource[key])
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        return fhir_time(period.get("end")) or fhir_time(period.get("start"))
    return None


def _quantity(resource: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        return None
    value, system, unit = quantity.get("value"), quantity.get("system"), quantity.get("code")
    if type(value) not in (int, float) or system != UCUM or not isinstance(unit, str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return (number, unit) if number.is_finite() else None


def _time_text(point: dt.date | dt.datetime) -> str:
    return point.isoformat()


def _results(
    resources: Iterable[Mapping[str, Any]],
    codes: Sequence[ObservationCode],
    at: dt.datetime,
    label: str,
    notes: list[str],
) -> list[_Result]:
    results = []
    for resource in resources:
        code = _matching_code(resource, codes)
        if code is None or resource.get("status") not in USABLE_STATUSES:
            continue
        quantity = _quantity(resource)
        if quantity is None:
            continue
        effective = _effective(resource)
        if effective is None:
            notes.append(f"A {label.lower()} result without a full effective time was not used.")
            continue
        if earliest_instant(effective) > at:
            notes.append(
                f"A {label.lower()} result dated in the future ({_time_text(effective)}) "
                "was not used."
            )
            continue
        value, unit = quantity
        results.append(_Result(code, value, unit, effective, unit in code.units))
    return results


def _problem(kb: KnowledgeBase, target: str, value: Decimal, conditions: Sequence[str]) -> str:
    if target == WEIGHT:
        if value <= 0 or value > MAXIMUM_WEIGHT_KG:
            return f"outside 0 to {MAXIMUM_WEIGHT_KG} kg"
        return ""
    for code in conditions:
        attribute = kb.conditions[code].attributes.get(target)
        if attribute is not None:
            problem = attribute.check(value)
            if problem:
                return problem
    return ""


def observations_read(
    found: Mapping[str, Sequence[Mapping[str, Any]]],
    kb: KnowledgeBase,
    at: dt.datetime,
    condition_codes: Sequence[str],
) -> ObservationReadings:
    """The latest usable result of each measure in `found` (measure -> Observations), as the
    engine's weight or condition attributes, with the lines the cards show."""
    readings = ObservationReadings()
    grouped = measures(kb)
    for measure, resources in found.items():
        codes = grouped[measure]
        label = measure_label(measure)
        results = _results(resources, codes, at, label, readings.assumptions)
        accepted = [result for result in results if result.accepted]
        latest = max(accepted, key=lambda r: earliest_instant(r.effective), default=None)
        newer_elsewhere = [
            result
            for result in results
            if not result.accepted
            and (
                latest is None
                or earliest_instant(result.effective) > earliest_instant(latest.effective)
            )
        ]
        if newer_elsewhere:
            other = max(newer_elsewhere, key=lambda r: earliest_instant(r.effective))
            units = ", ".join(sorted({unit for item in codes for unit in item.units}))
            readings.assumptions.append(
                f"The most recent {label.lower()} result ({_decimal(other.value)} {other.unit}, "
                f"{_time_text(other.effective)}) is in a unit Periop does not read (it reads "
                f"{units}): it was not used."
            )
        if latest is None:
            readings.used.append(f"{label}: no usable result recorded.")
            continue
        target = latest.code.units[latest.unit]
        shown = (
            f"{label} {_decimal(latest.value)} {latest.unit} on {_time_text(latest.effective)} "
            f"(LOINC {latest.code.code})"
        )
        problem = _problem(kb, target, latest.value, condition_codes)
        if problem:
            readings.used.append(f"{label}: no usable result recorded.")
            readings.assumptions.append(f"{shown} was not used: {problem}")
            continue
        readings.used.append(shown + ".")
        if target == WEIGHT:
            readings.weight_kg = latest.value
        else:
            readings.attributes[target] = latest.value
    return readings


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")
