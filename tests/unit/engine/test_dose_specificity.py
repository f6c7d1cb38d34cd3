"""Which finding gives the dose: the most specific one at the caution's level, never the first by
rule id. Each test names its rules so that the id order is the reverse of their specificity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from periop.drugs.engine import ConditionInput, KnowledgeBase, MedicationInput
from tests.unit.engine.builders import KnowledgeFiles, caution_for, hours_before, state

MG = ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes={"antibody": "achr"})
MUSK = ConditionInput(
    "myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes={"antibody": "musk"}
)
UNKNOWN_ANTIBODY = ConditionInput(
    "myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes={"antibody": "unknown"}
)
STROKE = ConditionInput("stroke", onset=hours_before(240))
PHENYTOIN = MedicationInput("phenytoin", started=dt.date(2020, 2, 1))


def _dose(text: str, per_kg: str) -> list[dict[str, object]]:
    return [{"text": text, "per_kg_mg": {"min": per_kg, "max": per_kg}}]


@pytest.fixture
def kb(kb_files: KnowledgeFiles) -> KnowledgeBase:
    add = kb_files.add_rule
    # An interaction rule that names no condition: "a-" sorts before the disease rule.
    add(
        "a-phenytoin-interaction",
        level="adjust",
        when={"medications": ["phenytoin"]},
        doses=_dose("Interaction dose.", "1.0"),
    )
    add(
        "z-myasthenia",
        level="adjust",
        when={"conditions": ["myasthenia-gravis"]},
        doses=_dose("Myasthenic dose.", "0.5"),
    )
    # A rule constraining an attribute: "y-" sorts before "z-".
    add(
        "y-myasthenia-musk",
        level="adjust",
        when={"conditions": ["myasthenia-gravis"], "attributes": {"antibody": ["musk"]}},
        doses=_dose("MuSK dose.", "0.4"),
    )
    # Two conditions matched beat one: "b-" sorts before "x-".
    add(
        "x-myasthenia-and-stroke",
        drugs=["vecuronium"],
        level="adjust",
        when={"conditions": ["myasthenia-gravis", "stroke"]},
        doses=_dose("Either-condition dose.", "0.3"),
    )
    add(
        "b-myasthenia-only",
        drugs=["vecuronium"],
        level="adjust",
        when={"conditions": ["myasthenia-gravis"]},
        doses=_dose("Myasthenia-only dose.", "0.2"),
    )
    return kb_files.load()


def test_a_disease_specific_dose_beats_an_interaction_dose_that_sorts_first(kb: KnowledgeBase):
    caution = caution_for(
        kb, state(MG, medications=(PHENYTOIN,), weight_kg=Decimal(70)), "rocuronium"
    )

    assert [finding.rule for finding in caution.findings] == [
        "a-phenytoin-interaction",
        "z-myasthenia",
    ]
    assert caution.dose is not None
    assert (caution.dose.rule, caution.dose.text) == ("z-myasthenia", "Myasthenic dose.")
    assert caution.dose.total_mg is not None
    assert caution.dose.total_mg.minimum == Decimal("35.0")


def test_the_interaction_dose_applies_when_no_disease_rule_fires(kb: KnowledgeBase):
    caution = caution_for(kb, state(medications=(PHENYTOIN,)), "rocuronium")

    assert caution.dose is not None
    assert caution.dose.rule == "a-phenytoin-interaction"


def test_a_rule_constraining_an_attribute_beats_one_for_any_value(kb: KnowledgeBase):
    caution = caution_for(kb, state(MUSK, medications=(PHENYTOIN,)), "rocuronium")

    assert caution.dose is not None
    assert caution.dose.rule == "y-myasthenia-musk"


def test_an_attribute_met_only_by_an_unknown_value_is_not_specific(kb: KnowledgeBase):
    # The MuSK rule fires on an unknown antibody (the cautious reading), but its dose is not
    # this patient's: the rule for any myasthenia gives it.
    caution = caution_for(kb, state(UNKNOWN_ANTIBODY), "rocuronium")

    assert "y-myasthenia-musk" in {finding.rule for finding in caution.findings}
    assert caution.dose is not None
    assert caution.dose.rule == "z-myasthenia"


def test_more_conditions_matched_beat_fewer(kb: KnowledgeBase):
    both = caution_for(kb, state(MG, STROKE), "vecuronium")
    one = caution_for(kb, state(MG), "vecuronium")

    assert both.dose is not None
    assert both.dose.rule == "x-myasthenia-and-stroke"
    assert one.dose is not None
    assert one.dose.rule == "b-myasthenia-only"


@pytest.mark.parametrize(
    ("in_remission", "dose_rule"),
    [(None, "z-myasthenia"), (False, "y-active-myasthenia-on-phenytoin")],
    ids=["remission unknown", "not in remission"],
)
def test_a_rule_joined_to_a_medication_is_not_specific_through_an_unknown_value(
    kb_files: KnowledgeFiles, in_remission: bool | None, dose_rule: str
):
    # A rule with two parts, a condition constraint and a medication, ranks as any rule does:
    # met only through an unknown value (remission not recorded), its dose is not this
    # patient's.
    kb_files.add_rule(
        "z-myasthenia",
        level="adjust",
        when={"conditions": ["myasthenia-gravis"]},
        doses=_dose("Myasthenic dose.", "0.5"),
    )
    kb_files.add_rule(
        "y-active-myasthenia-on-phenytoin",
        level="adjust",
        when={
            "conditions": ["myasthenia-gravis"],
            "attributes": {"in_remission": [False]},
            "medications": ["phenytoin"],
        },
        doses=_dose("Active myasthenia on phenytoin dose.", "0.4"),
    )
    kb = kb_files.load()
    recorded = {} if in_remission is None else {"in_remission": in_remission}
    myasthenia = ConditionInput("myasthenia-gravis", onset=dt.date(2020, 1, 1), attributes=recorded)

    caution = caution_for(kb, state(myasthenia, medications=(PHENYTOIN,)), "rocuronium")

    assert {finding.rule for finding in caution.findings} == {
        "z-myasthenia",
        "y-active-myasthenia-on-phenytoin",
    }
    assert caution.dose is not None
    assert caution.dose.rule == dose_rule
