"""The web forms take a drug's synonym (vocabulary v1.1) and clean it to the drug code."""

from __future__ import annotations

import zoneinfo

from periop.drugs.registry import get_knowledge_base
from periop.web.forms import AssessmentForm, MedicationForm

ZONE = zoneinfo.ZoneInfo("Europe/London")


def test_planned_drugs_given_by_synonym_are_cleaned_to_codes():
    form = AssessmentForm(knowledge_base=get_knowledge_base(), time_zone=ZONE)

    cleaned = form.fields["drugs"].clean(["suxamethonium", "rocuronium", "succinylcholine"])

    assert cleaned == ["succinylcholine", "rocuronium"]


def test_an_unknown_planned_drug_is_still_refused():
    form = AssessmentForm(
        data={"drugs": ["scoline"]}, knowledge_base=get_knowledge_base(), time_zone=ZONE
    )

    assert not form.is_valid()
    assert "scoline" in form.errors["drugs"][0]


def test_a_medication_given_by_synonym_is_cleaned_to_its_code():
    form = MedicationForm(
        data={"code": "ecothiopate"}, knowledge_base=get_knowledge_base(), time_zone=ZONE
    )

    form.is_valid()

    assert form.cleaned_data["code"] == "echothiophate"
