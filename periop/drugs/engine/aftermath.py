"""Aftermath: how long a condition or a drug keeps its effect after it resolves or stops.

Every condition and drug definition declares one, from the knowledge base:

- `aftermath_hours = N` with `aftermath_references`: a source states the effect lasts N hours;
- `aftermath = "unbounded"` with `aftermath_references`: a source states it has no end
  (a lifelong disorder);
- `aftermath = "unstated"`: no source states it, so the engine takes the most cautious reading,
  keeps counting the item as active, and reports that assumption.

The declaration is parsed here; the timeline applies it to each recorded episode or course.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from periop.drugs.engine.timeline import Bound, duration_text, hours_to_microseconds

if TYPE_CHECKING:
    # Only for annotations: toml_checks imports the knowledge module, which imports this one.
    from periop.drugs.engine.toml_checks import Entry, Table

AFTERMATH_KINDS = ("hours", "unbounded", "unstated")
AFTERMATH_KEYS = ("aftermath", "aftermath_hours", "aftermath_references", "aftermath_basis")


@dataclass(frozen=True, slots=True)
class Aftermath:
    """How long an item counts as active after it resolves or stops."""

    kind: str  # one of AFTERMATH_KINDS
    basis: str  # why, in one sentence, naming what the reference says or that it says nothing
    hours: int | float | None = None  # only for kind "hours"
    references: tuple[str, ...] = ()
    # The duration in exact microseconds; None when it has no end ("unbounded", "unstated").
    duration: Bound | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        duration = hours_to_microseconds(self.hours) if self.hours is not None else None
        object.__setattr__(self, "duration", duration)

    @property
    def sourced(self) -> bool:
        """A source states the aftermath (as hours, or as having no end)."""
        return self.kind != "unstated"

    def note(self, name: str, event: str, when: str) -> str:
        """The assumption shown when this aftermath keeps a resolved or stopped item counting."""
        if self.kind == "unstated":
            return (
                f"{name}: {event} ({when}); no source states how long its effect lasts after "
                "that, so it is counted as still active (the most cautious reading)."
            )
        cited = ", ".join(self.references)
        if self.kind == "unbounded":
            return (
                f"{name}: {event} ({when}); its effect has no stated end ({cited}); "
                "counted as still active."
            )
        lasts = duration_text(self.hours or 0)
        return (
            f"{name}: {event} ({when}); its effect lasts {lasts} after that "
            f"({cited}); counted as active within that time."
        )


# The most cautious declaration: what a definition built without one is taken to say.
UNSTATED = Aftermath(kind="unstated", basis="No aftermath declared.")


def aftermath_declaration(
    entry: Entry, table: Table, references: Mapping[str, object]
) -> Aftermath:
    """The aftermath a condition or drug entry declares; fails naming the entry when it has none."""
    given = table.get("aftermath")
    has_hours = "aftermath_hours" in table
    if given is None and not has_hours:
        entry.fail(
            "missing aftermath declaration: give aftermath_hours with aftermath_references, "
            'aftermath = "unbounded" with aftermath_references, or aftermath = "unstated" '
            "when no source states it, each with aftermath_basis."
        )
    if given is not None and has_hours:
        entry.fail("give either aftermath or aftermath_hours, not both.")
    basis = entry.text(table, "aftermath_basis")
    cited = entry.references(table, "aftermath_references", references, nonempty=False)  # type: ignore[arg-type]
    if has_hours:
        if not cited:
            entry.fail(
                "aftermath_hours needs aftermath_references naming the source of the figure."
            )
        return Aftermath("hours", basis, entry.number(table, "aftermath_hours", 0), cited)
    kind = entry.choice(table, "aftermath", ("unbounded", "unstated"))
    if kind == "unbounded" and not cited:
        entry.fail('aftermath = "unbounded" needs aftermath_references naming the source.')
    return Aftermath(kind, basis, None, cited)
