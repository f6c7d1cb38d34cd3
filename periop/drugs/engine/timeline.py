"""Where each recorded condition and medication stands at the evaluation time.

Time points become sets of possible instants, and the hours elapsed from them ranges.

All arithmetic is exact: instants are integer microseconds since 1970-01-01T00:00Z and hour
thresholds are converted once to microseconds, so a burn exactly 24 hours old is 24 hours old
and not 23.999999 hours. A calendar date stands for every instant of that day in every time
zone (from its 00:00 at UTC+14 to the next day's 00:00 at UTC-12): the cautious reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from periop.drugs.engine.types import ConditionInput, EngineInputError, MedicationInput, TimePoint

if TYPE_CHECKING:
    # Only for annotations: knowledge.py itself uses this module's hour conversion.
    from periop.drugs.engine.knowledge import ConditionDefinition, DrugDefinition

MICROSECONDS_PER_HOUR = 3_600_000_000
_MICROSECONDS_PER_DAY = 24 * MICROSECONDS_PER_HOUR
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_ONE_MICROSECOND = dt.timedelta(microseconds=1)
# A day starts earliest at UTC+14 and ends latest at UTC-12.
_EARLIEST_DAY_START = -14 * MICROSECONDS_PER_HOUR
_LATEST_DAY_END = _MICROSECONDS_PER_DAY + 12 * MICROSECONDS_PER_HOUR

Bound = int | Fraction


# Internal working values are plain slotted dataclasses: evaluation builds many of them, and a
# frozen dataclass costs twice as much to build.
@dataclass(slots=True)
class Span:
    """A non-empty interval of microseconds (instants or durations); None bounds are open-ended."""

    lo: Bound | None
    hi: Bound | None
    lo_closed: bool = True
    hi_closed: bool = True

    def meets(
        self, lo: Bound | None, hi: Bound | None, lo_closed: bool = True, hi_closed: bool = False
    ) -> bool:
        """Whether this span and the interval lo..hi (closed-open by default) share a point."""
        lower, lower_closed = _tighter_lower(self.lo, self.lo_closed, lo, lo_closed)
        upper, upper_closed = _tighter_upper(self.hi, self.hi_closed, hi, hi_closed)
        if lower is None or upper is None:
            return True
        return lower < upper or (lower == upper and lower_closed and upper_closed)

    def within(
        self, lo: Bound | None, hi: Bound | None, lo_closed: bool = True, hi_closed: bool = False
    ) -> bool:
        """Whether every point of this span lies in the interval lo..hi."""
        if lo is not None and (
            self.lo is None or self.lo < lo or (self.lo == lo and self.lo_closed and not lo_closed)
        ):
            return False
        return not (
            hi is not None
            and (
                self.hi is None
                or self.hi > hi
                or (self.hi == hi and self.hi_closed and not hi_closed)
            )
        )

    def possibly_after(self, instant: int) -> bool:
        """Some point of the span is later than `instant`."""
        return self.hi is None or self.hi > instant

    def possibly_at_or_before(self, instant: int) -> bool:
        """Some point of the span is at or before `instant`."""
        return self.lo is None or self.lo < instant or (self.lo == instant and self.lo_closed)

    def certainly_after(self, instant: int) -> bool:
        return not self.possibly_at_or_before(instant)

    def certainly_at_or_before(self, instant: int) -> bool:
        return not self.possibly_after(instant)


def _tighter_lower(
    a: Bound | None, a_closed: bool, b: Bound | None, b_closed: bool
) -> tuple[Bound | None, bool]:
    if a is None:
        return b, b_closed
    if b is None or a > b:
        return a, a_closed
    if b > a:
        return b, b_closed
    return a, a_closed and b_closed


def _tighter_upper(
    a: Bound | None, a_closed: bool, b: Bound | None, b_closed: bool
) -> tuple[Bound | None, bool]:
    if a is None:
        return b, b_closed
    if b is None or a < b:
        return a, a_closed
    if b < a:
        return b, b_closed
    return a, a_closed and b_closed


def instant(moment: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    return (moment - _EPOCH) // _ONE_MICROSECOND


def time_point_span(point: dt.datetime | dt.date | None, unknown_until: int | None) -> Span:
    """The instants a time point may stand for; None means any instant up to `unknown_until`."""
    if point is None:
        return Span(None, unknown_until)
    if isinstance(point, dt.datetime):
        at = instant(point)
        return Span(at, at)
    # Date arithmetic on ordinals never overflows, even for date.max.
    midnight_utc = (point.toordinal() - _EPOCH_ORDINAL) * _MICROSECONDS_PER_DAY
    return Span(midnight_utc + _EARLIEST_DAY_START, midnight_utc + _LATEST_DAY_END, True, False)


def elapsed_until(start: Span, at: int) -> Span | None:
    """Possible durations from a start in `start` (taken at or before `at`) to `at`.

    None when the start is certainly after `at`.
    """
    if not start.possibly_at_or_before(at):
        return None
    if start.hi is None or start.hi > at:
        hi: Bound = at
        hi_closed = True
    else:
        hi, hi_closed = start.hi, start.hi_closed
    lo_duration = None if start.lo is None else at - start.lo
    return Span(at - hi, lo_duration, hi_closed, start.lo_closed)


def hours_to_microseconds(hours: int | float) -> Bound:
    """Hours (an int, or a float read exactly as written) as microseconds."""
    value = Fraction(hours) if isinstance(hours, int) else Fraction(repr(hours))
    microseconds = value * MICROSECONDS_PER_HOUR
    return microseconds.numerator if microseconds.denominator == 1 else microseconds


def hours_text(hours: int | float) -> str:
    """Hours as a reader expects them: 24, 0.5."""
    return str(int(hours)) if float(hours).is_integer() else repr(hours)


# Units for durations in words, largest first: a year is 365 days and a month a twelfth of that,
# as in the knowledge base's hour windows (4380 hours is 6 months, 17520 hours 2 years).
_DURATION_UNITS: tuple[tuple[str, int, int], ...] = (
    ("year", 8760, 8760),
    ("month", 730, 730),
    ("week", 168, 336),
    ("day", 24, 96),
)


def _duration_parts(hours: int | float) -> tuple[str, str]:
    """The number and the singular unit of a duration, in the largest unit that divides it."""
    if float(hours).is_integer():
        whole = int(hours)
        for unit, size, smallest in _DURATION_UNITS:
            if whole >= smallest and whole % size == 0:
                return str(whole // size), unit
    return hours_text(hours), "hour"


def duration_text(hours: int | float) -> str:
    """Hours in words for a reader: "2 years", "6 months", "10 days", "72 hours", "1 hour"."""
    number, unit = _duration_parts(hours)
    return f"{number} {unit}" if number == "1" else f"{number} {unit}s"


def window_text(from_hours: int | float, to_hours: int | float | None) -> str:
    """A phase window in words: "24 to 72 hours", "72 hours to 2 years" or "from 2 years"."""
    if to_hours is None:
        return f"from {duration_text(from_hours)}"
    start_number, start_unit = _duration_parts(from_hours)
    end = duration_text(to_hours)
    if start_unit == _duration_parts(to_hours)[1] or start_number == "0":
        return f"{start_number} to {end}"
    return f"{duration_text(from_hours)} to {end}"


# An attribute value nobody knows: absent without a schema default, or the schema's marker.
UNKNOWN = object()


@dataclass(slots=True)
class ConditionEpisode:
    """A recorded condition as the evaluation sees it."""

    definition: ConditionDefinition
    code: str
    trigger: str  # "condition:<code>", as findings name it
    elapsed: Span  # possible microseconds from onset to the evaluation
    statuses: frozenset[str]  # possible recorded states at the evaluation: "ongoing", "resolved"
    # The possible states once the aftermath is counted: "ongoing" while it is not resolved or
    # still inside its aftermath, "resolved" only after that.
    effective_statuses: frozenset[str]
    possibly_active: bool  # possibly begun (always, by validation) and possibly still in effect
    certainly_active: bool  # certainly begun and certainly still in effect (aftermath counted)
    certainly_begun: bool
    notes: tuple[str, ...]  # what was assumed about its times
    values: Mapping[str, object]  # attribute values after defaults; UNKNOWN when not known
    # Possible microseconds from the resolution to the evaluation; None when not yet resolved.
    since_resolution: Span | None = None
    # Possible microseconds from the onset to the resolution, or to the evaluation when it has
    # not resolved by then: how long the condition lasted.
    exposure: Span | None = None
    # Set when only the aftermath keeps a resolved condition counting: that assumption.
    aftermath_notes: tuple[str, ...] = ()
    # By attribute, how a single value not recorded as such was read (a unit conversion, an
    # implication): a rule that consults the attribute carries the note on its finding.
    reading_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class MedicationCourse:
    """A recorded medication as the evaluation sees it."""

    definition: DrugDefinition
    elapsed: Span | None  # possible microseconds from its start; None when not yet started
    possibly_active: bool  # possibly started and possibly still in effect (aftermath counted)
    certainly_active: bool  # certainly started and certainly still in effect
    notes: tuple[str, ...]
    # Set when only the aftermath keeps a stopped medication counting: that assumption.
    aftermath_notes: tuple[str, ...] = ()
    # Possible microseconds from its stop to the evaluation; None when not yet stopped.
    since_stop: Span | None = None
    # Possible microseconds it was taken: from its start to its stop, or to the evaluation when
    # it has not stopped by then; None when not yet started.
    exposure: Span | None = None


def condition_episode(
    definition: ConditionDefinition, condition: ConditionInput, at: int
) -> ConditionEpisode:
    """The condition at instant `at`; its attributes must already be valid for `definition`."""
    code, name = definition.code, definition.name
    onset = _span(condition.onset, "conditions", "Onset of condition", code, at)
    elapsed = elapsed_until(onset, at)
    if elapsed is None:
        raise EngineInputError(
            "conditions",
            f"Condition '{code}' has its onset ({condition.onset}) after the evaluation time.",
        )
    notes = _time_notes(name, condition.onset, "onset")
    statuses = effective = frozenset(("ongoing",))
    since_resolution = None
    exposure = elapsed
    aftermath_notes: tuple[str, ...] = ()
    if condition.resolved is not None:
        resolved = _span(condition.resolved, "conditions", "Resolution of condition", code, None)
        if _ends_before_start(condition.resolved, resolved, condition.onset, onset):
            raise EngineInputError(
                "conditions",
                f"Condition '{code}' is resolved ({condition.resolved}) before its onset "
                f"({condition.onset}).",
            )
        if resolved.certainly_at_or_before(at):
            statuses = frozenset(("resolved",))
        elif resolved.possibly_at_or_before(at):
            statuses = frozenset(("ongoing", "resolved"))
        notes += _time_notes(name, condition.resolved, "resolution")
        since_resolution = elapsed_until(resolved, at)
        if since_resolution is not None:
            exposure = _exposure(onset, resolved, at)
        effective = _statuses(lingering(resolved, definition.aftermath.duration), at)
        if "resolved" in statuses and "ongoing" in effective and effective != statuses:
            aftermath_notes = (
                definition.aftermath.note(name, "resolved", _when(condition.resolved)),
            )
            notes += aftermath_notes
    values: dict[str, object] = {}
    for attribute_name, attribute in definition.attributes.items():
        value = condition.attributes.get(attribute_name, attribute.default)
        unknown = value is None or (attribute.unknown is not None and value == attribute.unknown)
        values[attribute_name] = UNKNOWN if unknown else value
    certainly_begun = onset.certainly_at_or_before(at)
    return ConditionEpisode(
        definition=definition,
        code=code,
        trigger=f"condition:{code}",
        elapsed=elapsed,
        statuses=statuses,
        effective_statuses=effective,
        possibly_active="ongoing" in effective,
        certainly_active=certainly_begun and effective == {"ongoing"},
        certainly_begun=certainly_begun,
        notes=tuple(notes),
        values=values,
        since_resolution=since_resolution,
        aftermath_notes=aftermath_notes,
        exposure=exposure,
    )


def medication_course(
    definition: DrugDefinition, medication: MedicationInput, at: int
) -> MedicationCourse:
    """The medication at instant `at`: possibly or certainly being taken, and for how long."""
    code = definition.code
    started = _span(medication.started, "medications", "Start of medication", code, at)
    elapsed = elapsed_until(started, at)
    notes = _time_notes(definition.name, medication.started, "start")
    possibly_stopped_later = certainly_stopped_later = True
    aftermath_notes: tuple[str, ...] = ()
    since_stop = None
    exposure = elapsed
    if medication.stopped is not None:
        stopped = _span(medication.stopped, "medications", "Stop of medication", code, None)
        if _ends_before_start(medication.stopped, stopped, medication.started, started):
            raise EngineInputError(
                "medications",
                f"Medication '{code}' is stopped ({medication.stopped}) before it started "
                f"({medication.started}).",
            )
        # The medication keeps its effect until its stop plus its aftermath.
        effect_end = lingering(stopped, definition.aftermath.duration)
        possibly_stopped_later = effect_end is None or effect_end.possibly_after(at)
        certainly_stopped_later = effect_end is None or effect_end.certainly_after(at)
        notes += _time_notes(definition.name, medication.stopped, "stop")
        since_stop = elapsed_until(stopped, at)
        if elapsed is not None and since_stop is not None:
            exposure = _exposure(started, stopped, at)
        # Only an aftermath that keeps it counting past a possible stop needs saying.
        lingers = definition.aftermath.duration != 0 and stopped.possibly_at_or_before(at)
        if elapsed is not None and lingers and possibly_stopped_later:
            aftermath_notes = (
                definition.aftermath.note(definition.name, "stopped", _when(medication.stopped)),
            )
            notes += aftermath_notes
    return MedicationCourse(
        definition=definition,
        elapsed=elapsed,
        possibly_active=elapsed is not None and possibly_stopped_later,
        certainly_active=started.certainly_at_or_before(at) and certainly_stopped_later,
        notes=tuple(notes),
        aftermath_notes=aftermath_notes,
        since_stop=since_stop,
        exposure=exposure,
    )


def _exposure(start: Span, stop: Span, at: int) -> Span:
    """Possible durations from a start in `start` to the earlier of an end in `stop` and `at`.

    Both bounds are taken as closed: a slightly wider range is the cautious reading.
    """
    stop_lo = at if stop.lo is None or stop.lo > at else stop.lo
    stop_hi = at if stop.hi is None or stop.hi > at else stop.hi
    shortest = 0 if start.hi is None else max(0, stop_lo - start.hi)
    longest = None if start.lo is None else max(shortest, stop_hi - start.lo)
    return Span(shortest, longest)


def lingering(end: Span, aftermath: Bound | None) -> Span | None:
    """The instants an effect may end: `end` moved later by the aftermath; None if it never ends."""
    if aftermath is None:
        return None
    if aftermath == 0:
        return end
    return Span(
        None if end.lo is None else end.lo + aftermath,
        None if end.hi is None else end.hi + aftermath,
        end.lo_closed,
        end.hi_closed,
    )


_ONGOING = frozenset(("ongoing",))
_RESOLVED = frozenset(("resolved",))
_EITHER = frozenset(("ongoing", "resolved"))


def _statuses(effect_end: Span | None, at: int) -> frozenset[str]:
    """Possible states at `at` of something whose effect ends at an instant in `effect_end`."""
    if effect_end is None or effect_end.certainly_after(at):
        return _ONGOING
    return _RESOLVED if effect_end.certainly_at_or_before(at) else _EITHER


def _when(point: TimePoint) -> str:
    return point.isoformat()


def _span(point: object, field_name: str, what: str, code: str, unknown_until: int | None) -> Span:
    """The instants of `point`; `what` and `code` name it in an error ("Onset of condition
    'stroke'"), which is the only place the name is written."""
    if isinstance(point, dt.datetime) and point.utcoffset() is None:
        raise EngineInputError(
            field_name, f"{what} '{code}' ({point.isoformat()}) has no time-zone offset."
        )
    if point is not None and not isinstance(point, dt.date):
        raise EngineInputError(
            field_name, f"{what} '{code}' must be a date or a date-time, not {point!r}."
        )
    return time_point_span(point, unknown_until)


def _ends_before_start(
    end: TimePoint, end_span: Span, start: TimePoint | None, start_span: Span
) -> bool:
    """Every possible end lies before every possible start (an unknown start never does)."""
    if start is None:
        return False
    if not isinstance(end, dt.datetime) and not isinstance(start, dt.datetime):
        return end < start  # two calendar dates compare as dates, whatever the time zones
    return end_span.hi is not None and not start_span.meets(
        None, end_span.hi, True, end_span.hi_closed
    )


_UNKNOWN_TIME = {
    "onset": "the most cautious level over all possible onsets is used.",
    "start": "the most cautious reading over all possible starts is used.",
}


def _time_notes(name: str, point: TimePoint | None, what: str) -> list[str]:
    """The assumption an inexact time point needs, in the words the cautions show."""
    if point is None:
        return [f"{name}: {what} unknown; {_UNKNOWN_TIME[what]}"] if what in _UNKNOWN_TIME else []
    if isinstance(point, dt.datetime):
        return []
    day = point.isoformat()
    return [f"{name}: {what} given as a date ({day}); evaluated over every time of that day."]
