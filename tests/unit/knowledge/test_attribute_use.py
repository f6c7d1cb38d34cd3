"""Every attribute the contract accepts changes a caution or says, with a citation, why not."""

from __future__ import annotations

import re

from periop.drugs.engine.attribute_readings import used_attributes, uses_by_rule

# Attributes no rule uses, each with the reference's reason (clinical-reference.md §3, §5, §6).
INFORMATIONAL = {
    ("myasthenia-gravis", "in_remission"),  # §6.1: "in true remission" no level given (S21)
    ("lambert-eaton", "paraneoplastic"),  # §6.2: cancer association, no drug caution (S34)
    ("muscular-dystrophy", "type"),  # §5: one row for Duchenne and Becker
    ("hyperkalemia", "serum_potassium_mmol_l"),  # §12.1: the label gives no threshold (S100)
    ("pregnancy", "gestation_weeks"),  # §12.2: no level by gestational age (S107, S110)
}


def uses(kb):
    by_rule = uses_by_rule(kb.conditions, kb.rules)
    return {
        code: used_attributes(condition, by_rule.get(code, {}))
        for code, condition in kb.conditions.items()
    }


def test_only_the_reviewed_attributes_are_informational(kb):
    informational = {
        (code, name)
        for code, condition in kb.conditions.items()
        for name, attribute in condition.attributes.items()
        if attribute.informational is not None
    }

    assert informational == INFORMATIONAL


def test_every_informational_reason_cites_the_reference(kb):
    for code, name in INFORMATIONAL:
        reason = kb.conditions[code].attributes[name].informational
        assert re.search(r"S\d\d|§\d", reason), (code, name)


def test_every_other_attribute_is_used(kb):
    used = uses(kb)
    for code, condition in kb.conditions.items():
        for name in condition.attributes:
            if (code, name) not in INFORMATIONAL:
                assert used[code].get(name), (code, name)


# §6.3/§12.9 serum magnesium; §6.4 burn size (S09, S10); §6.9/§12.9 dibucaine number.
def test_the_attributes_of_issue_10_change_cautions(kb):
    used = uses(kb)

    assert used["hypermagnesemia"]["serum_mg_mg_dl"] == [
        "hypermagnesemia-magnesium-paralysing-level"
    ]
    assert set(used["burn"]["tbsa_percent"]) == {
        "burn-rocuronium-major-burn-dose",
        "burn-mivacurium-prolonged",
    }
    assert used["butyrylcholinesterase-deficiency"]["dibucaine_number"] == [
        "its implication of genotype"
    ]
