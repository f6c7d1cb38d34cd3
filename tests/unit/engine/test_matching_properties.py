"""Properties of rule matching over a synthetic knowledge base whose rules the real one does not
have yet: a condition constraint joined to a medication, and patients with the same condition
recorded more than once.

The oracle is the one of test_tolerated_properties.py (clinical-reference.md §5.1;
api-contract.md, "Uncertain and missing inputs"): an unknown antibody is read the most cautious
way for a drug new to the patient, and never more cautiously than the least cautious known
antibody for a chronic medication the patient already tolerates, however many records of the
condition there are and whatever else the rule needs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    KnowledgeBase,
    Level,
    MedicationInput,
    PatientState,
    evaluate,
)
from periop.drugs.engine.tolerated import CHRONIC_MEDICATION_HOURS
from tests.unit.engine.builders import AT, KnowledgeFiles, hours_before
from tests.unit.engine.test_properties import SETTINGS

KNOWN_ANTIBODIES = ("achr", "musk", "seronegative")


def _knowledge_base(root: Path) -> KnowledgeBase:
    files = KnowledgeFiles(root)
    add = files.add_rule
    add(
        "mg-pyridostigmine-continue",
        drugs=["pyridostigmine"],
        when={"conditions": ["myasthenia-gravis"]},
    )
    add(
        "musk-pyridostigmine-avoid",
        drugs=["pyridostigmine"],
        level="avoid",
        when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["musk"]}},
    )
    # A condition constraint joined to a medication: the rule has two parts to merge.
    add(
        "musk-on-phenytoin",
        drugs=["pyridostigmine"],
        level="contraindicated",
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"antibody": ["musk"]},
            "medications": ["phenytoin"],
        },
    )
    add(
        "active-mg-on-phenytoin",
        drugs=["pyridostigmine"],
        level="adjust",
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"in_remission": [False]},
            "medications": ["phenytoin"],
        },
    )
    return files.load()


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return _knowledge_base(tmp_path_factory.mktemp("matching"))


@st.composite
def myasthenia_records(draw: st.DrawFn) -> ConditionInput:
    """One record of myasthenia gravis; the antibody known, unknown or not recorded."""
    attributes: dict[str, object] = {}
    antibody = draw(st.sampled_from((*KNOWN_ANTIBODIES, "unknown", None)))
    if antibody is not None:
        attributes["antibody"] = antibody
    in_remission = draw(st.sampled_from((True, False, None)))
    if in_remission is not None:
        attributes["in_remission"] = in_remission
    onset = AT - dt.timedelta(days=draw(st.integers(30, 3000)))
    return ConditionInput("myasthenia-gravis", onset=onset, attributes=attributes)


@st.composite
def patients(draw: st.DrawFn) -> PatientState:
    """One to three records of myasthenia gravis (a record may be entered twice), phenytoin or
    not, and no pyridostigmine yet."""
    records = draw(st.lists(myasthenia_records(), min_size=1, max_size=3))
    records += draw(st.lists(st.sampled_from(records), max_size=2))
    phenytoin = draw(
        st.sampled_from(
            [
                (),
                (MedicationInput("phenytoin", started=hours_before(24 * 400)),),
                (MedicationInput("phenytoin"),),
            ]
        )
    )
    return PatientState(conditions=tuple(records), medications=phenytoin)


def _unknown_antibody(record: ConditionInput) -> bool:
    return record.attributes.get("antibody", "unknown") == "unknown"


def _with_antibody(state: PatientState, antibody: str) -> PatientState:
    """The same patient with every unknown or unrecorded antibody known to be `antibody`."""
    return dataclasses.replace(
        state,
        conditions=tuple(
            dataclasses.replace(record, attributes={**record.attributes, "antibody": antibody})
            if _unknown_antibody(record)
            else record
            for record in state.conditions
        ),
    )


def _pyridostigmine(kb: KnowledgeBase, state: PatientState) -> Level:
    (caution,) = evaluate(state, ["pyridostigmine"], AT, kb).cautions
    return caution.level


@SETTINGS
@given(patient=patients(), years=st.integers(1, 10))
def test_an_unknown_antibody_never_makes_a_tolerated_chronic_medication_more_cautious(
    kb: KnowledgeBase, patient: PatientState, years: int
):
    chronic = MedicationInput("pyridostigmine", started=hours_before(24 * 365 * years))
    assert 24 * 365 * years > CHRONIC_MEDICATION_HOURS
    state = dataclasses.replace(patient, medications=(*patient.medications, chronic))

    unknown = _pyridostigmine(kb, state)
    known = [_pyridostigmine(kb, _with_antibody(state, value)) for value in KNOWN_ANTIBODIES]

    assert unknown <= min(known), (state, unknown, known)


@SETTINGS
@given(patient=patients())
def test_an_unknown_antibody_is_read_the_most_cautious_way_for_a_new_drug(
    kb: KnowledgeBase, patient: PatientState
):
    unknown = _pyridostigmine(kb, patient)
    known = [_pyridostigmine(kb, _with_antibody(patient, value)) for value in KNOWN_ANTIBODIES]

    assert unknown >= max(known), (patient, unknown, known)
