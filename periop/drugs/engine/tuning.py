"""Local tuning: a department's overlay on the cautions, applied after evaluation.

A tuning may raise the level a rule gives, lower a rule's `monitor` to `none` (alert fatigue),
or add local text ("call the on-call neuromuscular specialist"). It can never lower
`contraindicated`, `avoid` or `adjust`: `tuning_check` refuses such a proposal with a message,
and `tune_cautions` holds the same floor whatever it is given. A tuned finding is never hidden:
it stays in the caution, marked `locally_tuned` with who, when and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from periop.drugs.engine.knowledge import Rule
from periop.drugs.engine.types import Level

RAISE = "raise"
MONITOR_TO_NONE = "monitor-to-none"
LOCAL_TEXT = "local-text"
CHANGES = (RAISE, MONITOR_TO_NONE, LOCAL_TEXT)
NEVER_LOWERED = (Level.CONTRAINDICATED, Level.AVOID)


class TuningRefused(ValueError):
    """A proposal that would breach a safety floor, or change nothing."""


@dataclass(frozen=True)
class Tuning:
    rule: str
    change: str
    level: Level | None = None  # the raised level, for RAISE
    text: str = ""  # the local text, for LOCAL_TEXT
    who: str = ""
    when: str = ""  # ISO 8601
    why: str = ""
    id: int | None = None  # the stored tuning's id, which an assessment's snapshot names
    signed_by: tuple[str, ...] = ()  # who signed it off (consultant, then pharmacist)
    signed_at: str = ""  # ISO 8601: when the last sign-off brought it into force

    def mark(self, **extra: Any) -> dict[str, Any]:
        signed = (
            {"signed_by": list(self.signed_by), "signed_at": self.signed_at}
            if self.signed_by
            else {}
        )
        tuning = {} if self.id is None else {"tuning": self.id}
        return {
            "change": self.change,
            "who": self.who,
            "when": self.when,
            "why": self.why,
            **signed,
            **tuning,
            **extra,
        }


def tunings_applied(cautions: Sequence[Mapping[str, Any]]) -> list[int]:
    """The ids of the tunings that marked a finding of these (tuned) cautions, sorted."""
    return sorted(
        {
            mark["tuning"]
            for caution in cautions
            for finding in caution.get("findings", ())
            for mark in finding.get("locally_tuned", ())
            if mark.get("tuning") is not None
        }
    )


def rule_levels(rule: Rule) -> set[Level]:
    """Every level the rule can give (its phases' for a time-windowed rule)."""
    if rule.level is not None:
        return {rule.level}
    return {phase.level for phase in rule.phases}


def tuning_check(rule: Rule, change: str, level: Level | None = None, text: str = "") -> None:
    """Refuses, with a message naming the rule, a tuning that would lower contraindicated,
    avoid or adjust, or that would change nothing."""
    levels = rule_levels(rule)
    names = ", ".join(sorted(level.code for level in levels))
    if change == RAISE:
        if level is None:
            raise TuningRefused("Choose the level to raise the rule to.")
        if level <= min(levels):
            raise TuningRefused(
                f"Rule {rule.id} gives {names}: raising it to {level.code} raises nothing. "
                "A tuning can only raise a level; lowering is limited to monitor to none."
            )
    elif change == MONITOR_TO_NONE:
        floor = sorted(levels & set(NEVER_LOWERED), reverse=True)
        if floor:
            raise TuningRefused(
                f"Rule {rule.id} gives {floor[0].code}: contraindicated and avoid are never "
                "lowered locally."
            )
        if Level.MONITOR not in levels:
            raise TuningRefused(
                f"Rule {rule.id} gives {names}: only monitor can be lowered (to none) locally."
            )
    elif change == LOCAL_TEXT:
        if not text.strip():
            raise TuningRefused("Write the local text.")
    else:
        raise TuningRefused(f"Unknown tuning {change!r}: choose one of {', '.join(CHANGES)}.")


def tune_cautions(
    cautions: Sequence[Mapping[str, Any]], tunings: Mapping[str, Sequence[Tuning]]
) -> list[dict[str, Any]]:
    """The cautions (as the API gives them) with the department's tunings applied: each tuned
    finding keeps its place and is marked `locally_tuned`; a caution's level is raised by a
    raised finding, and lowered only from monitor to none when no finding is left at monitor
    or above. Contraindicated, avoid and adjust are never lowered."""
    tuned_cautions: list[dict[str, Any]] = []
    for caution in cautions:
        level = Level.from_code(caution["level"])
        findings: list[dict[str, Any]] = []
        touched = False
        lowered_to_none = False
        for finding in caution.get("findings", ()):
            finding = dict(finding)
            marks: list[dict[str, Any]] = []
            for tuning in tunings.get(finding["rule"], ()):
                current = Level.from_code(finding["level"])
                if tuning.change == RAISE and tuning.level is not None and tuning.level > current:
                    marks.append(tuning.mark(from_level=current.code, to_level=tuning.level.code))
                    finding["level"] = tuning.level.code
                elif tuning.change == MONITOR_TO_NONE and current == Level.MONITOR:
                    marks.append(tuning.mark(from_level="monitor", to_level="none"))
                    finding["level"] = Level.NONE.code
                    lowered_to_none = True
                elif tuning.change == LOCAL_TEXT and tuning.text:
                    marks.append(tuning.mark(text=tuning.text))
            if marks:
                finding["locally_tuned"] = marks
                touched = True
            findings.append(finding)
        if not touched:
            tuned_cautions.append(dict(caution))
            continue
        highest = max((Level.from_code(f["level"]) for f in findings), default=Level.NONE)
        new_level = max(level, highest)
        if lowered_to_none and level == Level.MONITOR and highest == Level.NONE:
            new_level = Level.NONE
        tuned = {**caution, "findings": findings, "level": new_level.code}
        tuned["locally_tuned"] = True
        tuned_cautions.append(tuned)
    return tuned_cautions


def evaluation_tune(
    body: Mapping[str, Any], tunings: Mapping[str, Sequence[Tuning]]
) -> dict[str, Any]:
    """A check's or an assessment's evaluation (as the API gives it) with the tunings applied:
    its cautions tuned, its highest level taken again, and `tunings` naming the ids of the
    tunings that marked a finding. Unchanged (and without `tunings`) when none did."""
    if not tunings:
        return dict(body)
    cautions = tune_cautions(body["cautions"], tunings)
    if not any(caution.get("locally_tuned") for caution in cautions):
        return dict(body)
    applied = tunings_applied(cautions)
    highest = max((Level.from_code(caution["level"]) for caution in cautions), default=Level.NONE)
    return {**body, "cautions": cautions, "highest_level": highest.code, "tunings": applied}
