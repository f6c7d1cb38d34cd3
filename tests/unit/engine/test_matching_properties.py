"""Properties of rule matching over synthetic knowledge bases with kinds of rule the real one has
few or none of: a condition constraint joined to a medication, and a rule superseding another
through each part of `when` (a condition, an attribute, a phase, a medication and its hours, a
co-present drug, a receptor-state override); and patients with the same condition recorded more
than once.

The oracles: for unknown antibodies, the one of test_tolerated_properties.py
(clinical-reference.md §5.1; api-contract.md, "Uncertain and missing inputs"): an unknown
antibody is read the most cautious way for a drug new to the patient, and never more cautiously
than the least cautious known antibody for a chronic medication the patient already tolerates,
however many records of the condition there are and whatever else the rule needs. For
supersession, matching.py's own contract: a rule fires when it can hold under some reading of
the inputs, and only a rule that holds under every reading may supersede another; so a rule
that fires for one definite reading of a record fires for the record, and for a definite record
a rule that fires always lowers the rules it supersedes.
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
from tests.unit.engine.test_properties import SETTINGS, THREE_YEARS_IN_MINUTES, attribute_values
from tests.unit.engine.test_reading_properties import (
    MINUTES_IN_A_DAY,
    assert_findings_name_what_meets_their_rules,
    assert_the_record_covers_the_reading,
    definite_readings,
)

KNOWN_ANTIBODIES = ("achr", "musk", "seronegative")


def _knowledge_base(root: Path) -> KnowledgeBase:
    files = KnowledgeFiles(root)
    # An antibody recorded against what the distribution implies is read both ways
    # (attribute_readings.py): a reading of known values, never an unknown one.
    files.condition("myasthenia-gravis")["implications"] = [
        {
            "when": {"distribution": ["ocular"]},
            "then": {"antibody": ["seronegative"]},
            "reason": "Test: an implication to contradict.",
            "references": ["R2"],
        }
    ]
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
    attributes["distribution"] = draw(st.sampled_from(("generalized", "ocular")))
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
    """The antibody is neither recorded nor implied by an ocular distribution."""
    unrecorded = record.attributes.get("antibody", "unknown") == "unknown"
    return unrecorded and record.attributes.get("distribution") != "ocular"


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

    # No rule here holds for every known antibody, so the least cautious known antibody is
    # exactly what a tolerated medication gets.
    assert unknown == min(known), (state, unknown, known)


@SETTINGS
@given(patient=patients())
def test_an_unknown_antibody_is_read_the_most_cautious_way_for_a_new_drug(
    kb: KnowledgeBase, patient: PatientState
):
    unknown = _pyridostigmine(kb, patient)
    known = [_pyridostigmine(kb, _with_antibody(patient, value)) for value in KNOWN_ANTIBODIES]

    assert unknown >= max(known), (patient, unknown, known)


def _superseding_knowledge_base(root: Path) -> KnowledgeBase:
    """Rules that supersede a general one through each part of `when`."""
    files = KnowledgeFiles(root)
    add = files.add_rule
    add("roc-general", drugs=["rocuronium"], level="avoid")
    add(
        "roc-achr",
        drugs=["rocuronium"],
        supersedes=["roc-general"],
        when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["achr"]}},
    )
    add(
        "roc-mild-renal-any-status",
        drugs=["rocuronium"],
        supersedes=["roc-general"],
        when={
            "conditions": ["renal-impairment"],
            "condition_status": "any",
            "attributes": {"crcl_ml_min": {"min": 60}},
        },
    )
    add(
        "roc-chronic-phenytoin",
        drugs=["rocuronium"],
        level="adjust",
        supersedes=["roc-general"],
        when={"medications": ["phenytoin"], "medication_hours": {"min": 240}},
    )
    add(
        "roc-with-sugammadex",
        drugs=["rocuronium"],
        supersedes=["roc-general"],
        when={"present": ["sugammadex"], "also_present": ["group:aminoglycoside"]},
    )
    add(
        "roc-down-override",
        drugs=["rocuronium"],
        level="adjust",
        supersedes=["roc-general"],
        when={"receptor_state": ["down"]},
    )
    add("vec-burn", drugs=["vecuronium"], level="avoid", when={"conditions": ["burn"]})
    add(
        "vec-early-burn",
        drugs=["vecuronium"],
        supersedes=["vec-burn"],
        when={"conditions": ["burn"], "condition_status": "any"},
        phases=[
            {"from_hours": 0, "to_hours": 72, "level": "monitor", "summary": "Early burn."},
            {"from_hours": 72, "to_hours": 168, "level": "adjust", "summary": "Burn, days 3-7."},
        ],
    )
    add("sux-general", drugs=["succinylcholine"], level="avoid")
    add(
        "sux-mg-on-pyridostigmine",
        drugs=["succinylcholine"],
        level="adjust",
        supersedes=["sux-general"],
        when={"conditions": ["myasthenia-gravis"], "medications": ["pyridostigmine"]},
    )
    add(
        "sux-stroke-without-deficit",
        drugs=["succinylcholine"],
        supersedes=["sux-general"],
        when={
            "conditions": ["stroke", "spinal-cord-injury"],
            "attributes": {"motor_deficit": [False]},
        },
    )
    # Constraints on attributes of different conditions' schemas: each binds only its own.
    add(
        "vec-musk-or-stroke-deficit",
        drugs=["vecuronium"],
        when={
            "conditions": ["myasthenia-gravis", "stroke"],
            "attributes": {"antibody": ["musk"], "motor_deficit": [True]},
        },
    )
    add("gent-general", drugs=["gentamicin"], level="adjust")
    add(
        "gent-aminoglycoside-and-magnesium",
        drugs=["gentamicin"],
        level="avoid",
        supersedes=["gent-general"],
        when={"also_present": ["magnesium-sulfate"]},
    )
    return files.load()


@pytest.fixture(scope="module")
def superseding(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return _superseding_knowledge_base(tmp_path_factory.mktemp("superseding"))


def _minutes() -> st.SearchStrategy[int]:
    """Minutes, often within the first fortnight, where the hours windows of the rules lie."""
    return st.integers(0, 14 * MINUTES_IN_A_DAY) | st.integers(0, THREE_YEARS_IN_MINUTES)


@st.composite
def _time_points(draw: st.DrawFn) -> dt.datetime | dt.date | None:
    instant = AT - dt.timedelta(minutes=draw(_minutes()))
    return draw(st.sampled_from([None, instant, instant.date()]))


@st.composite
def _ends(draw: st.DrawFn, start: dt.datetime | dt.date | None) -> dt.datetime | dt.date | None:
    if draw(st.booleans()):
        return None
    later = dt.timedelta(minutes=draw(_minutes()))
    if start is None:
        start = AT - dt.timedelta(days=500)
    end = start + later
    return end.date() if isinstance(end, dt.datetime) and draw(st.booleans()) else end


MEDICATIONS = ("phenytoin", "pyridostigmine", "sugammadex", "tobramycin", "magnesium-sulfate")


@st.composite
def any_patients(draw: st.DrawFn, kb: KnowledgeBase) -> PatientState:
    """Conditions and medications of `kb`, with open or definite times and attributes."""
    records = []
    for _ in range(draw(st.integers(0, 3))):
        definition = kb.conditions[draw(st.sampled_from(sorted(kb.conditions)))]
        attributes = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    name: attribute_values(attribute)
                    for name, attribute in definition.attributes.items()
                },
            )
        )
        onset = draw(_time_points())
        records.append(ConditionInput(definition.code, onset, draw(_ends(onset)), attributes))
    courses = []
    for _ in range(draw(st.integers(0, 3))):
        started = draw(_time_points())
        # Mostly the medications the rules name, so that the rules meet them often.
        code = draw(st.sampled_from(MEDICATIONS) | st.sampled_from(sorted(kb.drugs)))
        courses.append(MedicationInput(code, started, draw(_ends(started))))
    return PatientState(
        conditions=tuple(records),
        medications=tuple(courses),
        receptor_state_override=draw(st.sampled_from([None, None, "down", "up"])),
    )


TARGETS = ("rocuronium", "vecuronium", "succinylcholine", "gentamicin")


@st.composite
def _planned(draw: st.DrawFn, kb: KnowledgeBase) -> list[str]:
    """A drug that a general rule and its superseding rules target, and maybe others."""
    first = draw(st.sampled_from(TARGETS))
    others = draw(st.lists(st.sampled_from(sorted(kb.drugs)), max_size=3))
    return list(dict.fromkeys((first, *others)))


@SETTINGS
@given(data=st.data())
def test_a_rule_that_fires_for_a_reading_of_the_record_fires_for_the_record(
    superseding: KnowledgeBase, data: st.DataObject
):
    record = data.draw(any_patients(superseding))
    reading = data.draw(definite_readings(superseding, record))

    assert_the_record_covers_the_reading(
        superseding, record, reading, data.draw(_planned(superseding))
    )


@SETTINGS
@given(data=st.data())
def test_a_rule_that_fires_for_a_definite_record_lowers_the_rules_it_supersedes(
    superseding: KnowledgeBase, data: st.DataObject
):
    record = data.draw(definite_readings(superseding, data.draw(any_patients(superseding))))

    for caution in evaluate(record, data.draw(_planned(superseding)), AT, superseding).cautions:
        rules = {finding.rule for finding in caution.findings}
        lowered = {
            (rule, superseded)
            for rule in rules
            for superseded in superseding.rule(rule).supersedes
            if superseded in rules
        }
        assert not lowered, (caution.drug, lowered)


@SETTINGS
@given(data=st.data())
def test_a_finding_names_what_meets_each_part_of_its_rule(
    superseding: KnowledgeBase, data: st.DataObject
):
    record = data.draw(any_patients(superseding))

    assert_findings_name_what_meets_their_rules(
        superseding, record, data.draw(_planned(superseding))
    )
