"""Properties of aftermath over the real knowledge base, checked against clinical-reference.md.

(a) For the same patient, a longer exposure never gives a lower level, and succinylcholine never
    falls below the §4.2 level for the hours reached, inside the rising segments of §4.2 and §7.
(b) Resolving a condition or stopping a medication never lowers a drug's level, while inside
    the aftermath, below the level it had while active, at the moment it resolved or stopped,
    except where §4.2 itself states a lower level after recovery. (What it would have reached
    had it gone on is not the comparison: a two-day carbamazepine course never became chronic.)
(c) Every condition or drug whose aftermath no source states, once resolved or stopped, yields
    an assumption naming it, in the evaluation and in every caution it triggers.

The declarations are read from the TOML files, so a definition without one counts as unstated:
the most cautious reading.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    Evaluation,
    KnowledgeBase,
    KnowledgeBaseError,
    Level,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)

REAL_KNOWLEDGE_BASE = Path(__file__).resolve().parents[3] / "fixtures" / "knowledge"
AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
THREE_YEARS_IN_HOURS = 3 * 365 * 24
SUCCINYLCHOLINE = "succinylcholine"

NONE, MONITOR, AVOID, CONTRAINDICATED = (
    Level.NONE,
    Level.MONITOR,
    Level.AVOID,
    Level.CONTRAINDICATED,
)


def _load() -> tuple[KnowledgeBase | None, str]:
    try:
        return load_knowledge_base(REAL_KNOWLEDGE_BASE), ""
    except (KnowledgeBaseError, OSError) as error:
        return None, str(error)


KB, LOAD_ERROR = _load()
pytestmark = pytest.mark.skipif(
    KB is None, reason=f"The real knowledge base does not load yet: {LOAD_ERROR}"
)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _declared_hours(file: str, key: str) -> dict[str, float | None]:
    """Per code, the stated aftermath in hours; None for no end (unbounded or unstated)."""
    with (REAL_KNOWLEDGE_BASE / file).open("rb") as handle:
        entries = tomllib.load(handle)[key]
    return {entry["code"]: entry.get("aftermath_hours") for entry in entries}


def _unsourced(file: str, key: str) -> set[str]:
    with (REAL_KNOWLEDGE_BASE / file).open("rb") as handle:
        entries = tomllib.load(handle)[key]
    return {
        entry["code"]
        for entry in entries
        if "aftermath_hours" not in entry and entry.get("aftermath") != "unbounded"
    }


CONDITION_AFTERMATH = _declared_hours("conditions.toml", "conditions")
DRUG_AFTERMATH = _declared_hours("drugs.toml", "drugs")
UNSOURCED_CONDITIONS = _unsourced("conditions.toml", "conditions")
UNSOURCED_DRUGS = _unsourced("drugs.toml", "drugs")

# The oracle for (a): the succinylcholine rows of §4.2 as (hours from, level), and the end of the
# segment in which the level only rises (None: it rises to the end). Attributes are those of the
# §4.2 row (a motor deficit for denervation).
SUCCINYLCHOLINE_RISING: Mapping[str, tuple[int | None, tuple[tuple[int, Level], ...]]] = {
    # Major burn: MO to 24 h, AV to 72 h, CI to 2 years (S03, S07, S12, S13).
    "burn": (17520, ((0, MONITOR), (24, AVOID), (72, CONTRAINDICATED))),
    # Spinal cord injury and stroke with motor deficit: MO, AV, CI to 6 months (S05, S11, S92).
    "spinal-cord-injury": (4380, ((0, MONITOR), (24, AVOID), (72, CONTRAINDICATED))),
    "stroke": (4380, ((0, MONITOR), (24, AVOID), (72, CONTRAINDICATED))),
    # Trauma or crush: MO, AV, CI to 3 months (S05, rounded up).
    "major-trauma": (2160, ((0, MONITOR), (24, AVOID), (72, CONTRAINDICATED))),
    # Immobilisation, ICU, critical illness: NO, MO, AV from about 3 days (S11, S14).
    "immobilization": (None, ((0, NONE), (24, MONITOR), (72, AVOID))),
    "critical-illness": (None, ((0, NONE), (24, MONITOR), (72, AVOID))),
    # Severe sepsis: early MO; if prolonged, the immobilisation rules (S14, S16b).
    "sepsis": (None, ((0, MONITOR), (72, AVOID))),
    # Guillain-Barré syndrome: AV then CI (S61; the first 24 h grade U).
    "guillain-barre": (None, ((0, AVOID), (24, CONTRAINDICATED))),
}

# The oracle for (b): where §4.2 states a level after the window once the condition has
# resolved, as (hours from onset at which the window ends, the stated floor for
# succinylcholine; None for the other drugs: no source states one).
STATED_AFTER_RECOVERY: Mapping[str, tuple[int, Level]] = {
    "burn": (17520, NONE),  # "NO/MO: low confidence" after 2 years, once healed
    "spinal-cord-injury": (4380, NONE),  # "AV while the deficit persists": not after it
    "stroke": (4380, NONE),
    "major-trauma": (2160, NONE),  # "NO if mobile and healed"
    "guillain-barre": (0, AVOID),  # "AV for at least months after recovery" (S80)
    # §12.2: the enzyme is back to its pre-pregnancy value 6-8 weeks after delivery (S71); the
    # post-partum rules end 8 weeks after the delivery (the onset), whatever the resolution.
    "postpartum": (1344, NONE),
}


# §4.2 counts these in days of the state itself (days immobile, ICU days), not since it began.
DURATION_STATES = frozenset(("immobilization", "critical-illness", "sepsis"))


def sux_oracle(code: str, minutes: int, resolved: int | None = None) -> Level:
    """The §4.2 level `minutes` after onset, for a condition resolved `resolved` minutes ago."""
    stated = STATED_AFTER_RECOVERY.get(code)
    if resolved is not None and stated is not None and minutes >= stated[0] * 60:
        return stated[1]  # the §4.2 level after recovery
    if resolved is not None and code in DURATION_STATES:
        minutes -= resolved
    level = NONE
    for start, phase_level in SUCCINYLCHOLINE_RISING[code][1]:
        if minutes >= start * 60:
            level = phase_level
    return level


def all_drugs() -> tuple[str, ...]:
    assert KB is not None
    return tuple(KB.drugs)


def levels(state: PatientState) -> dict[str, Level]:
    """Each drug's level planned on its own, so that no other planned drug stands in for a
    medication the patient has (a planned aminoglycoside would satisfy "present" by itself)."""
    assert KB is not None
    return {drug: evaluate(state, (drug,), AT, KB).cautions[0].level for drug in all_drugs()}


def before(minutes: int) -> dt.datetime:
    # Whole minutes, so that every duration is exact and the oracle's edges are the engine's.
    return AT - dt.timedelta(minutes=minutes)


def state_of(
    *conditions: ConditionInput, medications: tuple[MedicationInput, ...] = ()
) -> PatientState:
    return PatientState(conditions=conditions, medications=medications)


THREE_YEARS_IN_MINUTES = THREE_YEARS_IN_HOURS * 60
minutes_in = st.integers(0, THREE_YEARS_IN_MINUTES)


# --- (a) a longer exposure never gives a lower level ------------------------------------------


@st.composite
def rising_exposures(draw: st.DrawFn) -> tuple[str, int, int, int | None]:
    """A condition, two exposures (minutes) inside its rising segment, an optional resolution."""
    code = draw(st.sampled_from(sorted(SUCCINYLCHOLINE_RISING)))
    end = (SUCCINYLCHOLINE_RISING[code][0] or THREE_YEARS_IN_HOURS) * 60 - 1
    shorter = draw(st.integers(0, end))
    longer = draw(st.integers(shorter, end))
    resolved = draw(st.none() | st.integers(0, shorter))
    return code, shorter, longer, resolved


@SETTINGS
@given(exposure=rising_exposures())
def test_a_longer_condition_exposure_never_gives_a_lower_level(
    exposure: tuple[str, int, int, int | None],
):
    code, shorter, longer, resolved = exposure
    resolution = None if resolved is None else before(resolved)
    short = levels(state_of(ConditionInput(code, before(shorter), resolution)))
    long = levels(state_of(ConditionInput(code, before(longer), resolution)))

    for drug in all_drugs():
        assert long[drug] >= short[drug], (drug, short[drug].code, long[drug].code)
    # §4.2: succinylcholine never below the table's level for the hours reached.
    assert short[SUCCINYLCHOLINE] >= sux_oracle(code, shorter, resolved)
    assert long[SUCCINYLCHOLINE] >= sux_oracle(code, longer, resolved)


@st.composite
def medication_exposures(draw: st.DrawFn) -> tuple[str, int, int, int | None]:
    """A medication, two starts (minutes ago) and an optional stop no earlier than either."""
    code = draw(st.sampled_from(all_drugs()))
    shorter = draw(minutes_in)
    longer = draw(st.integers(shorter, THREE_YEARS_IN_MINUTES))
    stopped = draw(st.none() | st.integers(0, shorter))
    return code, shorter, longer, stopped


@SETTINGS
@given(exposure=medication_exposures())
def test_a_longer_medication_exposure_never_gives_a_lower_level(
    exposure: tuple[str, int, int, int | None],
):
    # §7: the anticonvulsant rows rise from acute to chronic; every other row is constant.
    code, shorter, longer, stopped = exposure
    stop = None if stopped is None else before(stopped)
    short = levels(state_of(medications=(MedicationInput(code, before(shorter), stop),)))
    long = levels(state_of(medications=(MedicationInput(code, before(longer), stop),)))

    for drug in all_drugs():
        assert long[drug] >= short[drug], (drug, short[drug].code, long[drug].code)


# --- (b) resolving or stopping never lowers a level inside the aftermath ----------------------


@st.composite
def resolutions(draw: st.DrawFn) -> tuple[str, int, int]:
    """A condition, its onset and a resolution inside its aftermath (minutes before T0)."""
    candidates = sorted(
        code for code, hours in CONDITION_AFTERMATH.items() if hours is None or hours > 0
    )
    code = draw(st.sampled_from(candidates))
    onset = draw(minutes_in)
    hours = CONDITION_AFTERMATH[code]
    # Strictly inside a stated aftermath: it ends at its last minute.
    latest = onset if hours is None else min(onset, int(hours * 60) - 1)
    resolved = draw(st.integers(0, latest))
    return code, onset, resolved


@SETTINGS
@given(case=resolutions())
def test_resolving_a_condition_never_lowers_a_level_inside_its_aftermath(
    case: tuple[str, int, int],
):
    code, onset, resolved = case
    # Evaluated at T0, an episode with onset `onset - resolved` before it is the same condition
    # seen at the moment it resolved.
    active = levels(state_of(ConditionInput(code, before(onset - resolved))))
    after = levels(state_of(ConditionInput(code, before(onset), before(resolved))))

    stated = STATED_AFTER_RECOVERY.get(code)
    for drug in all_drugs():
        if stated is not None and onset >= stated[0] * 60:
            # §4.2 states what applies after recovery here: never below it for succinylcholine.
            floor = stated[1] if drug == SUCCINYLCHOLINE else NONE
            assert after[drug] >= floor, (drug, after[drug].code)
        else:
            assert after[drug] >= active[drug], (drug, active[drug].code, after[drug].code)


@st.composite
def stops(draw: st.DrawFn) -> tuple[str, int, int]:
    """A medication, its start and a stop inside its aftermath (minutes before T0)."""
    code = draw(st.sampled_from(all_drugs()))
    started = draw(minutes_in)
    hours = DRUG_AFTERMATH[code]
    latest = started if hours is None else min(started, int(hours * 60) - 1)
    stopped = draw(st.integers(0, latest))
    return code, started, stopped


@SETTINGS
@given(case=stops())
def test_stopping_a_medication_never_lowers_a_level_inside_its_aftermath(
    case: tuple[str, int, int],
):
    code, started, stopped = case
    # The same course seen at the moment it stopped.
    taking = levels(state_of(medications=(MedicationInput(code, before(started - stopped)),)))
    after = levels(state_of(medications=(MedicationInput(code, before(started), before(stopped)),)))

    for drug in all_drugs():
        assert after[drug] >= taking[drug], (drug, taking[drug].code, after[drug].code)


# --- (c) an item without a sourced aftermath yields an assumption ------------------------------


def _named_assumption(name: str, event: str, notes: tuple[str, ...]) -> bool:
    return any(note.startswith(f"{name}: {event} (") and "no source" in note for note in notes)


def _counts_through_aftermath(rule_id: str) -> bool:
    # A rule for any status applies the reference's own levels after resolution (§4.2) and does
    # not count the item as active; every other rule does.
    assert KB is not None
    return KB.rule(rule_id).when.condition_status != "any"


def _assert_named(evaluation: Evaluation, trigger: str, name: str, event: str) -> None:
    assert _named_assumption(name, event, evaluation.assumptions), evaluation.assumptions
    for caution in evaluation.cautions:
        if any(
            trigger in finding.triggered_by and _counts_through_aftermath(finding.rule)
            for finding in caution.findings
        ):
            assert _named_assumption(name, event, caution.assumptions), (
                caution.drug,
                caution.assumptions,
            )


@SETTINGS
@given(
    code=st.sampled_from(sorted(UNSOURCED_CONDITIONS)),
    onset=minutes_in,
    data=st.data(),
)
def test_a_resolved_condition_without_a_sourced_aftermath_yields_an_assumption(
    code: str, onset: int, data: st.DataObject
):
    assert KB is not None
    resolved = data.draw(st.integers(0, onset))
    evaluation = evaluate(
        state_of(ConditionInput(code, before(onset), before(resolved))), all_drugs(), AT, KB
    )

    _assert_named(evaluation, f"condition:{code}", KB.conditions[code].name, "resolved")


@SETTINGS
@given(
    code=st.sampled_from(sorted(UNSOURCED_DRUGS)),
    started=minutes_in,
    data=st.data(),
)
def test_a_stopped_medication_without_a_sourced_aftermath_yields_an_assumption(
    code: str, started: int, data: st.DataObject
):
    assert KB is not None
    stopped = data.draw(st.integers(0, started))
    evaluation = evaluate(
        state_of(medications=(MedicationInput(code, before(started), before(stopped)),)),
        all_drugs(),
        AT,
        KB,
    )

    _assert_named(evaluation, f"medication:{code}", KB.drugs[code].name, "stopped")


def test_the_oracles_name_only_known_codes():
    assert KB is not None
    assert set(SUCCINYLCHOLINE_RISING) <= set(KB.conditions)
    assert set(STATED_AFTER_RECOVERY) <= set(KB.conditions)
    assert UNSOURCED_CONDITIONS
    assert UNSOURCED_DRUGS
