"""Properties against an oracle written from clinical-reference.md, not from the rule files.

The tables below restate the §5 condition x drug-class matrix and the §4.2 succinylcholine
windows. A generated patient inside a cell (attributes consistent with the row, irrelevant extra
data, a time inside the window, any weight) must get AT LEAST the cell's level: more caution
from extra data is allowed, less never is. Where a cell is a range ("AV to CI") the lower bound
is the oracle; a cell whose level is not stated, or depends on something the row does not pin,
is left out with a comment. The existing example tests check exact levels; these properties
check that no input the examples did not think of gets less than the reference.

A second property checks that, inside the segment where §4.2 says the risk rises, an older
condition (or a longer-running anticonvulsant, §7) is never less cautious than a newer one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    Level,
    MedicationInput,
    PatientState,
    evaluate,
    load_knowledge_base,
)
from tests.unit.knowledge.conftest import AT, COLUMNS, KNOWLEDGE_DIRECTORY

NO = Level.NONE
MO = Level.MONITOR
DA = Level.ADJUST
AV = Level.AVOID
CI = Level.CONTRAINDICATED

HOUR = 3_600_000_000  # microseconds
DAY = 24 * HOUR
THREE_YEARS = 3 * 365 * DAY
# Month and year lengths vary, so a window the reference gives in months or years is asserted
# only up to its shortest reading: 6 months >= 181 days, 3 months >= 89 days, 2 years = 730 days.
SIX_MONTHS = 181 * DAY
THREE_MONTHS = 89 * DAY
TWO_YEARS = 730 * DAY

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Windows and time pairs are fewer and narrower than matrix cells, so they get more examples.
MORE = settings(SETTINGS, max_examples=40)


# The real knowledge base, loaded once. A module constant rather than a fixture: Hypothesis
# prints a failing example's arguments, and a knowledge base's repr runs to hundreds of kB.
KB = load_knowledge_base(KNOWLEDGE_DIRECTORY)


# ---------------------------------------------------------------------------------------------
# Patients in a row
# ---------------------------------------------------------------------------------------------

Attributes = Mapping[str, object]
# A cell whose floor depends on the row's attributes: the level, or None where the reference
# does not pin one for those attributes.
Floor = Level | Callable[[Attributes], Level | None]


@dataclass(frozen=True)
class Row:
    """A §5 row: its condition code, attributes that fit it, and the floor of each column."""

    name: str
    code: str
    cells: Mapping[str, Floor]
    # Attributes every patient of the row has, and attributes a patient may or may not record
    # (an absent value is either the schema default or unknown, read the most cautious way).
    required: Mapping[str, st.SearchStrategy[object]] = field(default_factory=dict)
    optional: Mapping[str, st.SearchStrategy[object]] = field(default_factory=dict)


def one_of(*values: object) -> st.SearchStrategy[object]:
    return st.sampled_from(values)


MG_GENERALISED_CELLS: Mapping[str, Floor] = {
    # §5, MG generalised x SUX: DA SENS- / VAR / PROLONG.
    "SUX": DA,
    # §5, MG generalised x AMINO, BENZ, MIVA: DA SENS+.
    "AMINO": DA,
    "BENZ": DA,
    "MIVA": DA,
    # §5, MG generalised x AG/PMX and Mg: AV WORSEN.
    "AG/PMX": AV,
    "Mg": AV,
    # §5, MG generalised x NEO: DA CHOLIN / REV-; x SUG: MO preferred.
    "NEO": DA,
    "SUG": MO,
}
# §6.1: "in true remission there may be no resistance", so a row patient is not in remission.
NOT_IN_REMISSION = {"in_remission": one_of(False)}


def cms_neostigmine(attributes: Attributes) -> Level | None:
    """§5, CMS x NEO: AV in COLQ / DOK7; slow-channel U; otherwise DA."""
    gene = attributes.get("gene", "unknown")
    if gene in {"colq", "dok7", "unknown"}:
        # api-contract.md: an unknown gene is read the most cautious way the reference allows.
        return AV
    if gene == "slow-channel":
        return None  # the reference gives no level (U)
    return DA


def burn_mivacurium(attributes: Attributes) -> Level | None:
    """§5, Burns x MIVA: MO PROLONG possible in >30 % TBSA; nothing stated for smaller burns."""
    tbsa = attributes.get("tbsa_percent")
    return MO if isinstance(tbsa, int | float) and tbsa > 30 else None


ROWS: tuple[Row, ...] = (
    Row(
        "MG generalised (AChR-Ab)",
        "myasthenia-gravis",
        MG_GENERALISED_CELLS,
        required={"antibody": one_of("achr", "unknown")},
        optional={"distribution": one_of("generalized"), **NOT_IN_REMISSION},
    ),
    Row(
        "MG ocular",
        "myasthenia-gravis",
        {
            "SUX": MO,  # §5, MG ocular x SUX: MO VAR.
            "AMINO": DA,  # §5: DA SENS+ (treat as MG).
            "BENZ": DA,  # §5: DA (U).
            "MIVA": DA,  # §5: DA (U).
            "AG/PMX": AV,  # §5: AV.
            "Mg": AV,  # §5: AV.
            "NEO": DA,  # §5: DA.
            "SUG": MO,  # §5: MO.
        },
        required={"distribution": one_of("ocular")},
        optional={"antibody": one_of("achr", "unknown"), **NOT_IN_REMISSION},
    ),
    Row(
        "MG MuSK",
        "myasthenia-gravis",
        {
            # §5, MG MuSK: SUX DA, AMINO DA SENS+, BENZ DA, MIVA DA, AG/PMX AV, Mg AV,
            # NEO AV CHOLIN, SUG MO.
            "SUX": DA,
            "AMINO": DA,
            "BENZ": DA,
            "MIVA": DA,
            "AG/PMX": AV,
            "Mg": AV,
            "NEO": AV,
            "SUG": MO,
        },
        required={"antibody": one_of("musk")},
        optional={"distribution": one_of("generalized"), **NOT_IN_REMISSION},
    ),
    Row(
        "LEMS",
        "lambert-eaton",
        {
            # §5, LEMS (± SCLC): SUX DA SENS+, AMINO DA, BENZ DA, MIVA DA, AG/PMX AV, Mg AV,
            # NEO DA REV-, SUG MO.
            "SUX": DA,
            "AMINO": DA,
            "BENZ": DA,
            "MIVA": DA,
            "AG/PMX": AV,
            "Mg": AV,
            "NEO": DA,
            "SUG": MO,
        },
        optional={"paraneoplastic": st.booleans()},
    ),
    Row(
        "CMS",
        "congenital-myasthenic-syndrome",
        {
            # §5, CMS: SUX AV VAR, AMINO DA SENS+, BENZ DA, MIVA DA, AG/PMX AV, Mg AV,
            # NEO by genotype, SUG MO.
            "SUX": AV,
            "AMINO": DA,
            "BENZ": DA,
            "MIVA": DA,
            "AG/PMX": AV,
            "Mg": AV,
            "NEO": cms_neostigmine,
            "SUG": MO,
        },
        optional={
            "gene": one_of(
                "colq", "dok7", "rapsn", "chrne", "slow-channel", "fast-channel", "other", "unknown"
            )
        },
    ),
    Row(
        "Botulism",
        "botulism",
        {
            # §5, Botulism: SUX AV HYPERK, AMINO DA VAR, BENZ DA VAR, MIVA DA, AG/PMX AV, Mg AV,
            # NEO AV REV-, SUG MO.
            "SUX": AV,
            "AMINO": DA,
            "BENZ": DA,
            "MIVA": DA,
            "AG/PMX": AV,
            "Mg": AV,
            "NEO": AV,
            "SUG": MO,
        },
    ),
    Row(
        "Organophosphate / AChEI toxicity",
        "organophosphate-poisoning",
        {
            # §5: SUX AV PROLONG, AMINO MO VAR, BENZ MO, MIVA AV PROLONG, AG/PMX MO, Mg MO,
            # NEO AV CHOLIN. SUG is "NO/MO": its lower bound NO asserts nothing.
            "SUX": AV,
            "AMINO": MO,
            "BENZ": MO,
            "MIVA": AV,
            "AG/PMX": MO,
            "Mg": MO,
            "NEO": AV,
        },
    ),
    # §5, Penicillamine-induced MG (active): as MG generalised in every column.
    Row("Penicillamine-induced MG", "penicillamine-myasthenia", MG_GENERALISED_CELLS),
    Row(
        "Hypermagnesaemia",
        "hypermagnesemia",
        {
            # §5: SUX MO, AMINO DA SENS+ / PROLONG, BENZ DA, MIVA DA, AG/PMX AV, Mg MO,
            # NEO DA REV-, SUG MO.
            "SUX": MO,
            "AMINO": DA,
            "BENZ": DA,
            "MIVA": DA,
            "AG/PMX": AV,
            "Mg": MO,
            "NEO": DA,
            "SUG": MO,
        },
        # §3 row 9: "e.g., 8-9 mg/dL"; any level above the upper reference limit fits the row.
        optional={"serum_mg_mg_dl": st.floats(3, 20)},
    ),
    Row(
        "Stiff-person syndrome",
        "stiff-person-syndrome",
        # §5: SUX MO, AMINO MO, BENZ MO, MIVA MO, NEO MO, SUG MO (AG/PMX and Mg NO).
        {"SUX": MO, "AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": MO, "SUG": MO},
    ),
    Row(
        "Isaacs syndrome",
        "isaacs-syndrome",
        # §5: SUX AV, AMINO MO (DA if on carbamazepine/phenytoin: MO is the floor either way),
        # BENZ MO, MIVA MO, NEO MO, SUG MO (AG/PMX and Mg NO).
        {"SUX": AV, "AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": MO, "SUG": MO},
    ),
    # Spinal cord injury and stroke: SUX is time-windowed (§4.2, WINDOWS below).
    Row(
        "Spinal cord injury",
        "spinal-cord-injury",
        # §5: AMINO MO SENS-, BENZ MO SENS-, MIVA MO, NEO MO (AG/PMX, Mg, SUG NO).
        {"AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": MO},
        optional={"motor_deficit": one_of(True)},
    ),
    Row(
        "Stroke / hemiplegia",
        "stroke",
        # §5: AMINO MO SENS-, BENZ MO SENS-, MIVA MO, NEO MO (AG/PMX, Mg, SUG NO).
        {"AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": MO},
        optional={"motor_deficit": one_of(True)},
    ),
    Row(
        "Guillain-Barré syndrome",
        "guillain-barre",
        # §5: AMINO DA VAR, BENZ DA VAR, MIVA DA, AG/PMX AV, Mg MO, NEO MO, SUG MO.
        {"AMINO": DA, "BENZ": DA, "MIVA": DA, "AG/PMX": AV, "Mg": MO, "NEO": MO, "SUG": MO},
    ),
    Row(
        "Burns",
        "burn",
        # §5, Burns: BENZ DA SENS-, MIVA MO in >30 % TBSA, NEO MO, SUG MO (AG/PMX, Mg NO).
        # SUX, AMINO and BENZ are time-windowed (WINDOWS below).
        {"MIVA": burn_mivacurium, "NEO": MO, "SUG": MO},
        # §4.2: "consider >= about 10 % TBSA".
        optional={"tbsa_percent": st.floats(10, 100)},
    ),
    Row(
        "Immobilisation",
        "immobilization",
        # §5: AMINO MO SENS-, BENZ MO (everything else NO; SUX windowed).
        {"AMINO": MO, "BENZ": MO},
    ),
    Row(
        "Critical illness / prolonged ICU",
        "critical-illness",
        # §5: AMINO DA VAR, BENZ MO, MIVA MO, AG/PMX MO, Mg MO, NEO MO, SUG MO (SUX windowed).
        {"AMINO": DA, "BENZ": MO, "MIVA": MO, "AG/PMX": MO, "Mg": MO, "NEO": MO, "SUG": MO},
    ),
    Row(
        "Severe sepsis",
        "sepsis",
        # §5: SUX early MO (if prolonged, the immobilisation rules: at least MO throughout),
        # AMINO MO, BENZ MO, MIVA MO, AG/PMX MO, NEO MO, SUG MO (Mg NO).
        {"SUX": MO, "AMINO": MO, "BENZ": MO, "MIVA": MO, "AG/PMX": MO, "NEO": MO, "SUG": MO},
    ),
    Row(
        "Major trauma / crush",
        "major-trauma",
        # §5: AMINO MO, BENZ MO, MIVA MO (the rest NO; SUX windowed).
        {"AMINO": MO, "BENZ": MO, "MIVA": MO},
    ),
    Row(
        "Duchenne / Becker MD",
        "muscular-dystrophy",
        # §5: SUX CI HYPERK, AMINO MO, BENZ MO, MIVA MO, NEO "AV/DA" (lower bound DA), SUG MO.
        {"SUX": CI, "AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": DA, "SUG": MO},
        # The row is Duchenne and Becker only ("other" is a rule-file extension).
        optional={"type": one_of("duchenne", "becker")},
    ),
    Row(
        "Myotonic dystrophy",
        "myotonic-dystrophy",
        # §5: SUX CI MYOTONIA, AMINO MO VAR, BENZ MO, MIVA MO, NEO AV MYOTONIA, SUG MO.
        {"SUX": CI, "AMINO": MO, "BENZ": MO, "MIVA": MO, "NEO": AV, "SUG": MO},
    ),
    Row(
        "MH susceptibility",
        "malignant-hyperthermia-susceptibility",
        {"SUX": CI},  # §5: SUX CI MH; every other column NO.
    ),
    Row(
        "BChE deficiency, homozygous / silent",
        "butyrylcholinesterase-deficiency",
        # §5: SUX AV PROLONG, MIVA AV PROLONG, NEO MO (the rest NO).
        {"SUX": AV, "MIVA": AV, "NEO": MO},
        # api-contract.md: an unknown genotype is read the most cautious way, as homozygous.
        required={"genotype": one_of("homozygous", "unknown")},
        # §6.9: dibucaine number about 20 for Ea:Ea; §12.9 (S154): DN < 30 is this row, and
        # DN 30 already reads as the heterozygous row (30-79), so an unknown genotype with
        # DN 30 is MO, not AV.
        optional={"dibucaine_number": st.integers(0, 29)},
    ),
    Row(
        "BChE heterozygous or acquired",
        "butyrylcholinesterase-deficiency",
        # §5: SUX MO PROLONG, MIVA MO PROLONG, NEO MO (the rest NO).
        {"SUX": MO, "MIVA": MO, "NEO": MO},
        required={"genotype": one_of("heterozygous", "acquired")},
        optional={"dibucaine_number": st.integers(30, 80)},
    ),
    # §5, No NMJ condition: NO in every column, so nothing to assert as a floor.
)


# ---------------------------------------------------------------------------------------------
# §4.2 windows: (row, column, hours from, hours to, floor) for an ongoing condition
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    name: str
    code: str
    column: str
    start: int  # microseconds since onset, inclusive
    end: int | None  # exclusive; None: for as long as the condition is ongoing
    floor: Level
    optional: Mapping[str, st.SearchStrategy[object]] = field(default_factory=dict)


BURN_SIZE = {"tbsa_percent": st.floats(10, 100)}
MOTOR_DEFICIT = {"motor_deficit": one_of(True)}

WINDOWS: tuple[Window, ...] = (
    # §4.2, Major burn: 0 to <24 h MO; 24 to <72 h AV; 72 h on CI "until wounds healed and
    # >= 2 years after injury", so an unhealed burn stays CI past 2 years.
    Window("burn", "burn", "SUX", 0, 24 * HOUR, MO, BURN_SIZE),
    Window("burn", "burn", "SUX", 24 * HOUR, 72 * HOUR, AV, BURN_SIZE),
    Window("burn", "burn", "SUX", 72 * HOUR, None, CI, BURN_SIZE),
    # §5, Burns x AMINO: MO before ~day 7, then DA SENS- to ~2 years (the approximate edge at
    # day 7 is left out: MO, the floor on both sides, holds there).
    Window("burn", "burn", "AMINO", 0, 8 * DAY, MO, BURN_SIZE),
    Window("burn", "burn", "AMINO", 8 * DAY, TWO_YEARS, DA, BURN_SIZE),
    # §5, Burns x BENZ: DA SENS-; §6.4 puts the resistance to non-depolarisers from about day
    # 7 (the citation audit of 2026-11-29): MO before, DA after, the edge left out as above.
    Window("burn", "burn", "BENZ", 0, 8 * DAY, MO, BURN_SIZE),
    Window("burn", "burn", "BENZ", 8 * DAY, TWO_YEARS, DA, BURN_SIZE),
    # §4.2, Spinal cord injury or denervation with motor deficit, and stroke with motor
    # deficit: MO; AV; CI to 6 months; after that AV while the deficit persists.
    *(
        window
        for code in ("spinal-cord-injury", "stroke")
        for window in (
            Window(code, code, "SUX", 0, 24 * HOUR, MO, MOTOR_DEFICIT),
            Window(code, code, "SUX", 24 * HOUR, 72 * HOUR, AV, MOTOR_DEFICIT),
            Window(code, code, "SUX", 72 * HOUR, SIX_MONTHS, CI, MOTOR_DEFICIT),
            Window(code, code, "SUX", SIX_MONTHS, None, AV, MOTOR_DEFICIT),
        )
    ),
    # §4.2, Guillain-Barré syndrome (any phase with weakness): AV under 24 h, then CI.
    Window("guillain-barre", "guillain-barre", "SUX", 0, 24 * HOUR, AV),
    Window("guillain-barre", "guillain-barre", "SUX", 24 * HOUR, None, CI),
    # §4.2, Multiple trauma or crush: MO; AV; CI to >= 3 months. After the window only "NO if
    # mobile and healed" is stated, which pins nothing for an ongoing injury.
    Window("major-trauma", "major-trauma", "SUX", 0, 24 * HOUR, MO),
    Window("major-trauma", "major-trauma", "SUX", 24 * HOUR, 72 * HOUR, AV),
    Window("major-trauma", "major-trauma", "SUX", 72 * HOUR, THREE_MONTHS, CI),
    # §4.2, Immobilisation, ICU, critical illness: NO (nothing to assert) under 24 h; MO; AV from
    # ~3 days "until mobility is restored". §5, critical illness x SUX: "AV to CI", floor AV.
    *(
        window
        for code in ("immobilization", "critical-illness")
        for window in (
            Window(code, code, "SUX", 24 * HOUR, 72 * HOUR, MO),
            Window(code, code, "SUX", 72 * HOUR, None, AV),
        )
    ),
)

# After the window, for a condition that has ended: only two rows say what then applies.
RESOLVED_WINDOWS: tuple[tuple[str, str, int, int, Level], ...] = (
    # §4.2, Major burn: CI "until wounds healed AND >= 2 years after injury": a burn healed
    # inside 2 years is still CI. (code, column, hours since onset from, to, floor.)
    ("burn", "SUX", 72 * HOUR, TWO_YEARS, CI),
    # §4.2, Guillain-Barré: "AV for at least months after recovery" (S80: an arrest one month
    # after recovery). Here the range is the time since recovery: up to 60 days.
    ("guillain-barre", "SUX", 0, 60 * DAY, AV),
)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

ALL_DRUGS = tuple(sorted({drug for drugs in COLUMNS.values() for drug in drugs}))
MEDICATION_CODES = (
    "pyridostigmine",
    "amifampridine",
    "penicillamine",
    "phenytoin",
    "carbamazepine",
    "nifedipine",
    "nicardipine",
    "gentamicin",
    "magnesium-sulfate",
)


@st.composite
def durations(draw: st.DrawFn, start: int, end: int | None) -> int:
    """Microseconds in start..end (end exclusive), often within two days of either edge."""
    end = start + THREE_YEARS if end is None else end
    near = min(2 * DAY, end - start)
    return draw(
        st.one_of(
            st.integers(start, start + near - 1),
            st.integers(end - near, end - 1),
            st.integers(start, end - 1),
        )
    )


@st.composite
def time_points(draw: st.DrawFn, elapsed: int, at: dt.datetime) -> dt.datetime | dt.date | None:
    """The instant `elapsed` microseconds before `at`: recorded exactly, as its calendar date in
    some time zone (UTC-12 to UTC+14), or as unknown.

    A date or an unknown time stands for a range that contains the instant, and the engine takes
    the most cautious reading of the range, so the floor must still hold.
    """
    instant = at - dt.timedelta(microseconds=elapsed)
    zone = dt.timezone(dt.timedelta(hours=draw(st.integers(-12, 14))))
    return draw(st.sampled_from([instant, instant, instant.astimezone(zone).date(), None]))


@st.composite
def still_ongoing(draw: st.DrawFn, at: dt.datetime) -> dt.datetime | None:
    """An ongoing condition: no resolution, or one recorded for later than the planned time."""
    if draw(st.booleans()):
        return None
    return at + dt.timedelta(microseconds=draw(st.integers(1, THREE_YEARS)))


def attributes(
    required: Mapping[str, st.SearchStrategy[object]],
    optional: Mapping[str, st.SearchStrategy[object]],
) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(dict(required), optional=dict(optional))


@dataclass(frozen=True)
class Extra:
    at: dt.datetime  # the planned time of administration
    companions: tuple[str, ...]
    medications: tuple[MedicationInput, ...]
    conditions: tuple[ConditionInput, ...]
    weight_kg: Decimal | None
    age_years: int | None
    sex: str | None


@st.composite
def extra_data(draw: st.DrawFn) -> Extra:
    """Irrelevant extras: the planned time (any minute of a year, so that every time of day
    meets the windows' edges), demographics, a weight, other planned drugs, other medications
    and conditions whose §5 rows concern none of the blockers. They may only add caution."""
    at = AT + dt.timedelta(minutes=draw(st.integers(0, 366 * 24 * 60)))
    started = at - dt.timedelta(microseconds=draw(st.integers(0, THREE_YEARS)))
    medications = draw(
        st.lists(
            st.builds(
                MedicationInput,
                st.sampled_from(MEDICATION_CODES),
                st.sampled_from([started, started.date(), None]),
                st.sampled_from([None, started + dt.timedelta(days=1)]),
            ),
            max_size=2,
        )
    )
    conditions = draw(
        st.lists(
            st.sampled_from(
                [
                    ConditionInput("epilepsy", started),
                    ConditionInput("renal-impairment", None, None, {"crcl_ml_min": 80}),
                ]
            ),
            max_size=1,
        )
    )
    return Extra(
        at=at,
        companions=tuple(draw(st.lists(st.sampled_from(ALL_DRUGS), max_size=3, unique=True))),
        medications=tuple(medications),
        conditions=tuple(conditions),
        weight_kg=draw(st.none() | st.decimals("2", "250", places=2)),
        age_years=draw(st.none() | st.integers(0, 100)),
        sex=draw(st.sampled_from([None, "female", "male"])),
    )


def level_of(drug: str, condition: ConditionInput, extra: Extra) -> Level:
    """The level for `drug`, planned first and alongside the extra planned drugs."""
    companions = [code for code in extra.companions if code != drug]
    state = PatientState(
        conditions=(condition, *extra.conditions),
        medications=extra.medications,
        weight_kg=extra.weight_kg,
        age_years=extra.age_years,
        sex=extra.sex,
    )
    return evaluate(state, (drug, *companions), extra.at, KB).cautions[0].level


def floor_of(cell: Floor, values: Attributes) -> Level | None:
    return cell(values) if callable(cell) else cell


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------

MATRIX_CELLS = [
    pytest.param(row, column, id=f"{row.name} x {column}") for row in ROWS for column in row.cells
]


@pytest.mark.parametrize(("row", "column"), MATRIX_CELLS)
@SETTINGS
@given(data=st.data())
def test_a_patient_in_a_matrix_cell_gets_at_least_the_cells_level(
    row: Row, column: str, data: st.DataObject
):
    values = data.draw(attributes(row.required, row.optional), label="attributes")
    floor = floor_of(row.cells[column], values)
    if floor is None:
        return  # the reference pins no level for these attributes (see the cell's function)
    extra = data.draw(extra_data(), label="extra")
    elapsed = data.draw(durations(0, THREE_YEARS), label="elapsed")
    condition = ConditionInput(
        row.code,
        data.draw(time_points(elapsed, extra.at)),
        data.draw(still_ongoing(extra.at)),
        values,
    )
    drug = data.draw(st.sampled_from(COLUMNS[column]), label="drug")

    level = level_of(drug, condition, extra)

    assert level >= floor, f"{row.name} x {drug}: {level.code}, reference at least {floor.code}"


WINDOW_CASES = [
    pytest.param(
        window,
        id=f"{window.name} x {window.column} "
        f"{window.start // HOUR}-{'' if window.end is None else window.end // HOUR} h",
    )
    for window in WINDOWS
]


@pytest.mark.parametrize("window", WINDOW_CASES)
@MORE
@given(data=st.data())
def test_a_patient_inside_a_window_gets_at_least_the_windows_level(
    window: Window, data: st.DataObject
):
    values = data.draw(attributes({}, window.optional), label="attributes")
    extra = data.draw(extra_data(), label="extra")
    elapsed = data.draw(durations(window.start, window.end), label="elapsed")
    condition = ConditionInput(
        window.code,
        data.draw(time_points(elapsed, extra.at)),
        data.draw(still_ongoing(extra.at)),
        values,
    )
    drug = data.draw(st.sampled_from(COLUMNS[window.column]), label="drug")

    level = level_of(drug, condition, extra)

    hours = Decimal(elapsed) / HOUR
    assert level >= window.floor, (
        f"{window.name} {hours:.2f} h x {drug}: {level.code}, "
        f"reference at least {window.floor.code}"
    )


@pytest.mark.parametrize(
    ("code", "column", "start", "end", "floor"),
    [pytest.param(*case, id=f"{case[0]} x {case[1]} resolved") for case in RESOLVED_WINDOWS],
)
@MORE
@given(data=st.data())
def test_a_resolved_condition_keeps_the_level_the_reference_gives_after_it_ends(
    code: str,
    column: str,
    start: int,
    end: int,
    floor: Level,
    data: st.DataObject,
):
    extra = data.draw(extra_data())
    if code == "burn":
        # Healed at some time between the injury and the planned time.
        since_onset = data.draw(durations(start, end))
        since_resolution = data.draw(st.integers(0, since_onset))
    else:
        # Recovered `since_resolution` ago, after an illness of up to a year.
        since_resolution = data.draw(durations(start, end))
        since_onset = since_resolution + data.draw(st.integers(DAY, 365 * DAY))
    condition = ConditionInput(
        code,
        extra.at - dt.timedelta(microseconds=since_onset),
        extra.at - dt.timedelta(microseconds=since_resolution),
    )
    drug = data.draw(st.sampled_from(COLUMNS[column]))

    level = level_of(drug, condition, extra)

    assert level >= floor, f"{code} resolved x {drug}: {level.code}, at least {floor.code}"


# ---------------------------------------------------------------------------------------------
# Monotonic time
# ---------------------------------------------------------------------------------------------

# Where §4.2 says the succinylcholine risk rises with time since onset (and §5 the burn
# aminosteroid resistance): (condition, attributes, end of the rising segment, the edges where
# the reference changes level, drugs). Pairs of times are drawn near those edges, where a wrong
# window shows.
RISING: tuple[
    tuple[str, Mapping[str, st.SearchStrategy[object]], int, tuple[int, ...], tuple[str, ...]],
    ...,
] = (
    # §4.2 burn: MO, AV from 24 h, CI from 72 h to 2 years; §5 burns x AMINO: MO, then DA from
    # ~day 7 to ~2 years.
    (
        "burn",
        BURN_SIZE,
        TWO_YEARS,
        (24 * HOUR, 72 * HOUR, 7 * DAY),
        ("succinylcholine", *COLUMNS["AMINO"]),
    ),
    # §4.2 denervation with motor deficit: MO, AV, CI to 6 months (then it falls to AV).
    ("spinal-cord-injury", MOTOR_DEFICIT, SIX_MONTHS, (24 * HOUR, 72 * HOUR), ("succinylcholine",)),
    ("stroke", MOTOR_DEFICIT, SIX_MONTHS, (24 * HOUR, 72 * HOUR), ("succinylcholine",)),
    # §4.2 Guillain-Barré: AV, then CI in any phase with weakness.
    ("guillain-barre", {}, THREE_YEARS, (24 * HOUR,), ("succinylcholine",)),
    # §4.2 trauma: MO, AV, CI to >= 3 months (then "NO if mobile and healed").
    ("major-trauma", {}, THREE_MONTHS, (24 * HOUR, 72 * HOUR), ("succinylcholine",)),
    # §4.2 immobilisation, ICU: NO, MO, AV until mobility returns; >= 16 ICU days strongly
    # avoid. §5 sepsis: early MO, then the immobilisation rules if prolonged.
    ("immobilization", {}, THREE_YEARS, (24 * HOUR, 72 * HOUR), ("succinylcholine",)),
    ("critical-illness", {}, THREE_YEARS, (24 * HOUR, 72 * HOUR, 16 * DAY), ("succinylcholine",)),
    ("sepsis", {}, THREE_YEARS, (72 * HOUR,), ("succinylcholine",)),
)


@st.composite
def later_pairs(draw: st.DrawFn, end: int, edges: tuple[int, ...]) -> tuple[int, int]:
    """Two durations newer <= older < end: often one within two days before a reference edge
    and the other within two days after it."""
    if draw(st.booleans()):
        edge = draw(st.sampled_from(edges))
        newer = draw(st.integers(max(0, edge - 2 * DAY), edge - 1))
        older = draw(st.integers(edge, min(end, edge + 2 * DAY) - 1))
    else:
        newer = draw(durations(0, end))
        older = draw(durations(newer, end))
    return newer, older


@pytest.mark.parametrize(
    ("code", "optional", "end", "edges", "drug"),
    [
        pytest.param(code, optional, end, edges, drug, id=f"{code} x {drug}")
        for code, optional, end, edges, drugs in RISING
        for drug in drugs
    ],
)
@MORE
@given(data=st.data())
def test_an_older_condition_is_never_less_cautious_while_the_risk_rises(
    code: str,
    optional: Mapping[str, st.SearchStrategy[object]],
    end: int,
    edges: tuple[int, ...],
    drug: str,
    data: st.DataObject,
):
    values = data.draw(attributes({}, optional))
    newer, older = data.draw(later_pairs(end, edges))
    extra = data.draw(extra_data())

    def level_after(elapsed: int) -> Level:
        onset = extra.at - dt.timedelta(microseconds=elapsed)
        return level_of(drug, ConditionInput(code, onset, None, values), extra)

    assert level_after(older) >= level_after(newer), (
        f"{code} x {drug}: {Decimal(older) / HOUR:.2f} h gives less than "
        f"{Decimal(newer) / HOUR:.2f} h"
    )


@pytest.mark.parametrize("anticonvulsant", ["phenytoin", "carbamazepine"])
@MORE
@given(data=st.data())
def test_a_longer_running_anticonvulsant_is_never_less_cautious(
    anticonvulsant: str, data: st.DataObject
):
    # §7: acute phenytoin (< ~10 days) potentiates the aminosteroids (DA); chronic phenytoin or
    # carbamazepine (>= ~10-14 days) gives the aminosteroids and cisatracurium resistance (DA).
    # Neither says a longer course is safer, so the level never falls while it continues.
    newer, older = data.draw(later_pairs(THREE_YEARS, (10 * DAY, 14 * DAY)))
    drug = data.draw(st.sampled_from((*COLUMNS["AMINO"], "cisatracurium")))
    extra = data.draw(extra_data())
    condition = ConditionInput("epilepsy", extra.at - dt.timedelta(days=4000))

    def level_after(elapsed: int) -> Level:
        started = extra.at - dt.timedelta(microseconds=elapsed)
        course = MedicationInput(anticonvulsant, started)
        return level_of(drug, condition, dataclasses.replace(extra, medications=(course,)))

    assert level_after(older) >= level_after(newer), (
        f"{anticonvulsant} x {drug}: {Decimal(older) / HOUR:.2f} h gives less than "
        f"{Decimal(newer) / HOUR:.2f} h"
    )
