"""The oracle of test_reference_oracle.py for the patient's drugs: §5.1 (chronic NMJ drugs x
condition) and §7 (drug-drug and drug-state interactions), written from clinical-reference.md.

As there, a generated patient in a cell gets AT LEAST the cell's level; extra data may only add
caution. A cell whose level is not stated ("level U"), or that depends on something the row does
not pin, is left out with a comment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from periop.drugs.engine import ConditionInput, Level, MedicationInput, PatientState
from periop.drugs.engine import evaluate as evaluate_engine
from tests.unit.engine import test_reference_oracle as oracle
from tests.unit.knowledge.conftest import COLUMNS

NO, MO, DA, AV, CI = oracle.NO, oracle.MO, oracle.DA, oracle.AV, oracle.CI
HOUR, DAY = oracle.HOUR, oracle.DAY

NMBA = ("succinylcholine", *COLUMNS["AMINO"], *COLUMNS["BENZ"], *COLUMNS["MIVA"])
AMINOGLYCOSIDES = ("gentamicin", "tobramycin", "amikacin", "neomycin", "streptomycin")
POLYMYXINS = ("polymyxin-b", "colistin")
CALCIUM_CHANNEL_BLOCKERS = ("nifedipine", "nicardipine")


def level_for(
    drug: str,
    state: PatientState,
    planned: tuple[str, ...],
    extra: oracle.Extra,
) -> Level:
    """The level for `drug`, planned first, with the other planned drugs and the extras."""
    companions = tuple(
        dict.fromkeys(code for code in (*planned, *extra.companions) if code != drug)
    )
    patient = PatientState(
        conditions=(*state.conditions, *extra.conditions),
        medications=(*state.medications, *extra.medications),
        weight_kg=extra.weight_kg,
        age_years=extra.age_years,
        sex=extra.sex,
    )
    return evaluate_engine(patient, (drug, *companions), extra.at, oracle.KB).cautions[0].level


# ---------------------------------------------------------------------------------------------
# §7: a drug the patient is on (a running course), or one planned alongside
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interaction:
    name: str
    # The interacting drugs: any one of each group is present (one group, or two for a
    # combination such as MgSO4 with a calcium-channel blocker).
    groups: tuple[tuple[str, ...], ...]
    affected: tuple[str, ...]
    floor: Level
    # How long the course has been running (microseconds): from, to (exclusive).
    running: tuple[int, int] = (0, 3 * 365 * DAY)
    # Whether planning the interacting drug alongside counts as well as a running course.
    planned_counts: bool = True


INTERACTIONS: tuple[Interaction, ...] = (
    # §7, Chronic pyridostigmine (or any AChEI) x SUX: PROLONG, DA; x MIVA: PROLONG, DA;
    # x NEO: CHOLIN, DA. "Chronic" is not given in days; two weeks or more is taken as chronic.
    Interaction(
        "chronic pyridostigmine",
        (("pyridostigmine",),),
        ("succinylcholine", "mivacurium", "neostigmine"),
        DA,
        (14 * DAY, 10 * 365 * DAY),
        planned_counts=False,
    ),
    # §7, Neostigmine given, then SCh: PROLONG, AV; BChE under half its baseline 90 minutes
    # after neostigmine (S23). A course still running when succinylcholine is given.
    Interaction(
        "neostigmine given, then succinylcholine",
        (("neostigmine",),),
        ("succinylcholine",),
        AV,
        (0, 90 * 60 * 1_000_000),
        planned_counts=False,
    ),
    # §7, Aminoglycosides x all NMBAs including SCh: SENS+, DA; x NEO: REV-, DA.
    Interaction("aminoglycoside", (AMINOGLYCOSIDES,), (*NMBA, "neostigmine"), DA),
    # §7, Polymyxin B, colistin x all NMBAs including SCh: SENS+, AV.
    Interaction("polymyxin", (POLYMYXINS,), NMBA, AV),
    # §7, MgSO4 x AMINO / BENZ: SENS+ / PROLONG, DA.
    Interaction(
        "magnesium sulfate",
        (("magnesium-sulfate",),),
        (*COLUMNS["AMINO"], *COLUMNS["BENZ"]),
        DA,
    ),
    # §7, MgSO4 + calcium-channel blocker x AMINO; SUG efficacy: PROLONG, SUG reversal
    # incomplete, DA. (MgSO4 + aminoglycoside is "AV combination (level U)": left out.)
    Interaction(
        "magnesium sulfate with a calcium-channel blocker",
        (("magnesium-sulfate",), CALCIUM_CHANNEL_BLOCKERS),
        (*COLUMNS["AMINO"], "sugammadex"),
        DA,
    ),
    # §7, Chronic phenytoin or carbamazepine (>= about 10-14 days) x AMINO, cisatracurium:
    # SENS-, DA. The upper end of "about 10-14 days" is taken.
    Interaction(
        "chronic anticonvulsant",
        (("phenytoin", "carbamazepine"),),
        (*COLUMNS["AMINO"], "cisatracurium"),
        DA,
        (14 * DAY, 10 * 365 * DAY),
        planned_counts=False,
    ),
    # §7, Acute phenytoin (< about 10 days) x AMINO: SENS+, DA. The lower end is taken.
    Interaction(
        "acute phenytoin",
        (("phenytoin",),),
        COLUMNS["AMINO"],
        DA,
        (0, 10 * DAY),
        planned_counts=False,
    ),
)


@st.composite
def courses(draw: st.DrawFn, codes: tuple[str, ...], running: tuple[int, int], at: dt.datetime):
    """A course of one of `codes`, running for a duration inside `running` at `at`."""
    elapsed = draw(oracle.durations(*running))
    started = draw(oracle.time_points(elapsed, at))
    return MedicationInput(draw(st.sampled_from(codes)), started, draw(oracle.still_ongoing(at)))


@pytest.mark.parametrize("interaction", [pytest.param(case, id=case.name) for case in INTERACTIONS])
@oracle.MORE
@given(data=st.data())
def test_a_patient_with_an_interacting_drug_gets_at_least_its_level(
    interaction: Interaction, data: st.DataObject
):
    extra = data.draw(oracle.extra_data(), label="extra")
    medications: list[MedicationInput] = []
    planned: list[str] = []
    for group in interaction.groups:
        if interaction.planned_counts and data.draw(st.booleans(), label="planned"):
            planned.append(data.draw(st.sampled_from(group)))
        else:
            medications.append(data.draw(courses(group, interaction.running, extra.at)))
    drug = data.draw(st.sampled_from(interaction.affected), label="drug")
    state = PatientState(medications=tuple(medications))

    level = level_for(drug, state, tuple(planned), extra)

    assert level >= interaction.floor, (
        f"{interaction.name} x {drug}: {level.code}, reference at least {interaction.floor.code}"
    )


@settings(oracle.SETTINGS)
@given(data=st.data())
def test_neostigmine_given_and_stopped_before_succinylcholine_still_avoids_it(
    data: st.DataObject,
):
    # §7, Neostigmine given, then SCh: AV ("relaxation that will last up to 60 minutes"; BChE
    # under half its baseline 90 minutes after neostigmine, S23). A bolus is a course that has
    # stopped by the time succinylcholine is given.
    extra = data.draw(oracle.extra_data())
    started = data.draw(st.integers(2 * 60, 90 * 60))  # seconds before the planned time
    stopped = data.draw(st.integers(1, started - 1))
    bolus = MedicationInput(
        "neostigmine",
        extra.at - dt.timedelta(seconds=started),
        extra.at - dt.timedelta(seconds=stopped),
    )

    state = PatientState(medications=(bolus,))

    level = level_for("succinylcholine", state, (), extra)

    assert level >= AV


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"crcl_ml_min": st.floats(0, 30, exclude_max=True)}, id="clearance under 30"),
        pytest.param({"dialysis": st.just(True)}, id="dialysis"),
        pytest.param({}, id="clearance unknown"),
    ],
)
@oracle.SETTINGS
@given(data=st.data())
def test_sugammadex_in_severe_renal_impairment_is_at_least_avoid(
    attributes: Mapping[str, st.SearchStrategy[object]], data: st.DataObject
):
    # §7, Sugammadex x severe renal impairment / dialysis: "not recommended", AV. api-contract.md:
    # severe is a creatinine clearance under 30 mL/min or dialysis; an unknown clearance counts
    # as severe.
    extra = data.draw(oracle.extra_data())
    values = data.draw(st.fixed_dictionaries(dict(attributes)))
    elapsed = data.draw(oracle.durations(0, oracle.THREE_YEARS))
    onset = data.draw(oracle.time_points(elapsed, extra.at))
    renal = ConditionInput("renal-impairment", onset, None, values)

    level = level_for("sugammadex", PatientState(conditions=(renal,)), (), extra)

    assert level >= AV


# ---------------------------------------------------------------------------------------------
# §5.1: the patient's chronic NMJ drug (planned) x condition
# ---------------------------------------------------------------------------------------------

Cell = Level | Callable[[Mapping[str, object]], Level | None]


def cms_pyridostigmine(attributes: Mapping[str, object]) -> Level | None:
    """§5.1, CMS x pyridostigmine: "genotype: AV in COLQ / DOK7"; other genes not pinned."""
    return AV if attributes.get("gene", "unknown") in {"colq", "dok7", "unknown"} else None


# (row, condition code, attributes, {drug: floor}). NO cells assert nothing and are left out.
Attributes = Mapping[str, st.SearchStrategy[object]]
CHRONIC_DRUG_ROWS: tuple[tuple[str, str, Attributes, Mapping[str, Cell]], ...] = (
    # §5.1, MG (any): pyridostigmine MO, penicillamine AV WORSEN, phenytoin/carbamazepine MO.
    (
        "MG",
        "myasthenia-gravis",
        {"antibody": st.sampled_from(["achr", "musk", "lrp4", "seronegative", "unknown"])},
        {"pyridostigmine": MO, "penicillamine": AV, "phenytoin": MO, "carbamazepine": MO},
    ),
    # §5.1, MuSK MG: pyridostigmine "AV unless already tolerated" (tolerance is not recorded:
    # left out), penicillamine AV, phenytoin/carbamazepine MO.
    (
        "MuSK MG",
        "myasthenia-gravis",
        {"antibody": st.just("musk")},
        {"penicillamine": AV, "phenytoin": MO, "carbamazepine": MO},
    ),
    # §5.1, LEMS: pyridostigmine MO, amifampridine MO, penicillamine AV, anticonvulsant MO.
    (
        "LEMS",
        "lambert-eaton",
        {},
        {
            "pyridostigmine": MO,
            "amifampridine": MO,
            "penicillamine": AV,
            "phenytoin": MO,
            "carbamazepine": MO,
        },
    ),
    # §5.1, CMS: pyridostigmine AV in COLQ / DOK7, amifampridine MO, penicillamine AV,
    # phenytoin AV (on the CMS avoid list, S76c; carbamazepine is not named there: left out).
    (
        "CMS",
        "congenital-myasthenic-syndrome",
        {
            "gene": oracle.one_of(
                "colq", "dok7", "rapsn", "chrne", "slow-channel", "fast-channel", "other", "unknown"
            )
        },
        {
            "pyridostigmine": cms_pyridostigmine,
            "amifampridine": MO,
            "penicillamine": AV,
            "phenytoin": AV,
        },
    ),
    # §5.1, Penicillamine-induced MG: pyridostigmine MO, penicillamine AV (do not restart),
    # phenytoin/carbamazepine MO.
    (
        "Penicillamine-induced MG",
        "penicillamine-myasthenia",
        {},
        {"pyridostigmine": MO, "penicillamine": AV, "phenytoin": MO, "carbamazepine": MO},
    ),
    # §5.1, Epilepsy: pyridostigmine MO, amifampridine CI (EU SmPC).
    ("Epilepsy", "epilepsy", {}, {"pyridostigmine": MO, "amifampridine": CI}),
)


@pytest.mark.parametrize(
    ("code", "optional", "drug", "cell"),
    [
        pytest.param(code, optional, drug, cell, id=f"{name} x {drug}")
        for name, code, optional, cells in CHRONIC_DRUG_ROWS
        for drug, cell in cells.items()
    ],
)
@oracle.SETTINGS
@given(data=st.data())
def test_a_chronic_nmj_drug_for_a_patient_in_its_row_gets_at_least_the_cells_level(
    code: str,
    optional: Mapping[str, st.SearchStrategy[object]],
    drug: str,
    cell: Cell,
    data: st.DataObject,
):
    values = data.draw(st.fixed_dictionaries({}, optional=dict(optional)))
    floor = cell(values) if callable(cell) else cell
    if floor is None:
        return  # the reference pins no level for these attributes
    extra = data.draw(oracle.extra_data())
    elapsed = data.draw(oracle.durations(0, oracle.THREE_YEARS))
    condition = ConditionInput(
        code,
        data.draw(oracle.time_points(elapsed, extra.at)),
        data.draw(oracle.still_ongoing(extra.at)),
        values,
    )

    level = level_for(drug, PatientState(conditions=(condition,)), (), extra)

    assert level >= floor, f"{code} x {drug}: {level.code}, reference at least {floor.code}"
