"""What the printed record shows beside the plan: the recorded conditions and medications
the plan was evaluated on, read from the assessment's stored inputs, never from today's
record (which may have changed since signing)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from periop.drugs.engine import KnowledgeBase
from periop.web.presenters import RECEPTOR_STATE_LABELS, attributes_display, time_point_display


@dataclass(frozen=True, slots=True)
class BasisRow:
    """One recorded condition or medication as it was when the plan was evaluated."""

    name: str
    started: str
    ended: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanBasis:
    conditions: tuple[BasisRow, ...]
    medications: tuple[BasisRow, ...]
    receptor_state_label: str
    receptor_state_reason: str


def _time_point(text: str | None) -> dt.date | dt.datetime | None:
    """A snapshot's time point: ISO date ("2026-11-26") or instant (with its offset)."""
    if not text:
        return None
    if "T" in text:
        return dt.datetime.fromisoformat(text)
    return dt.date.fromisoformat(text)


def _shown(text: str | None, time_zone: zoneinfo.ZoneInfo, missing: str) -> str:
    point = _time_point(text)
    return missing if point is None else time_point_display(point, time_zone)


def plan_basis(
    knowledge_base: KnowledgeBase, inputs: Mapping[str, Any], time_zone: zoneinfo.ZoneInfo
) -> PlanBasis:
    """The conditions and medications of an assessment's inputs snapshot, with their dates
    in the department's time zone, and the clinician-recorded receptor state if one applied."""
    conditions = []
    for row in inputs.get("conditions", ()):
        definition = knowledge_base.conditions.get(row["code"])
        conditions.append(
            BasisRow(
                name=definition.name if definition else row["code"],
                started=_shown(row.get("onset"), time_zone, "Onset unknown"),
                ended=_shown(row.get("resolved"), time_zone, "Current"),
                details=tuple(
                    attributes_display(knowledge_base, row["code"], row.get("attributes") or {})
                ),
            )
        )
    medications = []
    for row in inputs.get("medications", ()):
        drug = knowledge_base.drugs.get(row["code"])
        medications.append(
            BasisRow(
                name=drug.name if drug else row["code"],
                started=_shown(row.get("started"), time_zone, "Start unknown"),
                ended=_shown(row.get("stopped"), time_zone, "Ongoing"),
                details=(f"Dose: {row['dose_text']}",) if row.get("dose_text") else (),
            )
        )
    recorded = inputs.get("receptor_state") or {}
    return PlanBasis(
        conditions=tuple(conditions),
        medications=tuple(medications),
        receptor_state_label=RECEPTOR_STATE_LABELS.get(recorded.get("value", ""), "")
        if recorded
        else "",
        receptor_state_reason=recorded.get("reason", "") if recorded else "",
    )
