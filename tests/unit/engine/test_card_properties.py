"""Properties of what the cards say, over generated patients and the real knowledge base.

The oracles: api-contract.md (doses in mg with a weight; the level vocabulary: avoid means
"avoid unless no reasonable alternative", contraindicated "do not give") and the newcomer review
of 29 Nov 2026 (no repeated monitoring, no "do not give" beside "titrate", no advice to use a
drug the same evaluation rates out).
"""

from __future__ import annotations

import dataclasses
import re

from hypothesis import given
from hypothesis import strategies as st

from periop.drugs.engine import ConditionInput, DrugCaution, Level, PatientState, evaluate
from periop.drugs.engine.card_text import drug_names, recommends, sentences
from periop.drugs.engine.evaluate import CONFLICT_PREFIX
from tests.unit.engine.test_properties import (
    AT,
    KB,
    SETTINGS,
    attribute_values,
    patients,
    planned_drugs,
    pytestmark,
    time_points,
)

# Conditions under which the knowledge base rates a reversal agent or a blocker avoid or
# contraindicated while other findings recommend it: where advice can contradict a rating.
RATING_OUT_CONDITIONS = (
    "renal-impairment",
    "myasthenia-gravis",
    "myotonic-dystrophy",
    "muscular-dystrophy",
    "congenital-myasthenic-syndrome",
    "burn",
    "stroke",
)
REVERSAL_AND_BLOCKERS = ("sugammadex", "neostigmine", "rocuronium", "vecuronium", "succinylcholine")


@st.composite
def rating_out_conditions(draw: st.DrawFn) -> ConditionInput:
    assert KB is not None
    definition = KB.conditions[draw(st.sampled_from(RATING_OUT_CONDITIONS))]
    attributes = draw(
        st.fixed_dictionaries(
            {},
            optional={name: attribute_values(a) for name, a in definition.attributes.items()},
        )
    )
    return ConditionInput(definition.code, draw(time_points()), None, attributes)


@st.composite
def rating_out_cases(draw: st.DrawFn) -> tuple[PatientState, list[str]]:
    """Generated patients and plans, half of them with conditions that rate a reversal agent or
    a blocker out and with those drugs planned, so that contradictions are reachable."""
    patient = draw(patients())
    drugs = draw(planned_drugs())
    if draw(st.booleans()):
        extra = draw(st.lists(rating_out_conditions(), min_size=1, max_size=3))
        patient = dataclasses.replace(patient, conditions=(*patient.conditions, *extra))
        more = draw(st.lists(st.sampled_from(REVERSAL_AND_BLOCKERS), min_size=2, unique=True))
        drugs = list(dict.fromkeys([*drugs, *more]))
    return patient, drugs


__all__ = ["pytestmark"]


def _advice(caution: DrugCaution) -> list[str]:
    """Every clause of the card's text that could advise a drug."""
    texts = [caution.summary, caution.instead, caution.monitoring, caution.reversal]
    texts += [finding.summary for finding in caution.findings]
    if caution.dose is not None:
        texts.append(caution.dose.text)
    return [clause for text in texts for clause in re.split(r"[.;:]\s+", text) if clause]


@SETTINGS
@given(case=rating_out_cases())
def test_no_card_recommends_a_drug_the_same_evaluation_rates_avoid_or_contraindicated(
    case: tuple[PatientState, list[str]],
):
    assert KB is not None
    patient, drugs = case
    evaluation = evaluate(patient, drugs, AT, KB)
    rated_out = [c.drug for c in evaluation.cautions if c.level >= Level.AVOID]

    for caution in evaluation.cautions:
        for code in rated_out:
            names = drug_names(KB, code)
            for clause in _advice(caution):
                lowered = clause.lower()
                assert not recommends(clause, names), (caution.drug, code, clause)
                for name in names:
                    # Independent of the detector: the knowledge base's recommending phrases.
                    assert f"prefer {name}" not in lowered, (caution.drug, clause)
                    assert f"{name} preferred" not in lowered, (caution.drug, clause)
                    assert f"{name} is preferred" not in lowered, (caution.drug, clause)
                    assert f"use {name} after" not in lowered.replace("not use", ""), clause


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_monitoring_and_reversal_never_repeat_a_sentence(patient: PatientState, drugs: list[str]):
    assert KB is not None
    for caution in evaluate(patient, drugs, AT, KB).cautions:
        for text in (caution.monitoring, caution.reversal):
            said = [" ".join(re.findall(r"[a-z0-9]+", s.lower())) for s in sentences(text)]
            assert len(said) == len(set(said)), (caution.drug, text)


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_an_avoid_or_contraindicated_card_leads_with_instead_and_titrates_only_after_override(
    patient: PatientState, drugs: list[str]
):
    assert KB is not None
    for caution in evaluate(patient, drugs, AT, KB).cautions:
        name = KB.drugs[caution.drug].name
        name = name[:1].lower() + name[1:] if name[1:2].islower() else name
        if caution.level == Level.CONTRAINDICATED:
            assert caution.instead.startswith(f"Do not give {name}.")
        elif caution.level == Level.AVOID:
            assert caution.instead.startswith(f"Avoid {name} unless")
        else:
            assert caution.instead == ""
        restrictive = caution.level >= Level.AVOID
        if restrictive:
            assert not caution.summary.startswith(CONFLICT_PREFIX), caution.summary
        if caution.dose is not None:
            assert caution.dose.only_after_override is restrictive


@SETTINGS
@given(patient=patients(), drugs=planned_drugs())
def test_a_per_kg_dose_is_also_given_in_mg_when_the_weight_is_known(
    patient: PatientState, drugs: list[str]
):
    assert KB is not None
    for caution in evaluate(patient, drugs, AT, KB).cautions:
        dose = caution.dose
        if dose is None or dose.per_kg_mg is None:
            continue
        if patient.weight_kg is None:
            assert dose.total_mg is None
        else:
            assert dose.total_mg is not None, caution.drug
