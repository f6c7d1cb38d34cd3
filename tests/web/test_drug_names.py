"""British and American names: the pick lists find a drug under either."""

import pytest

from periop.drugs.registry import get_knowledge_base

pytestmark = pytest.mark.django_db

# (drug code, British approved name, United States adopted name), from the BNF and USAN.
BOTH_NAMES = [
    ("succinylcholine", "suxamethonium", "succinylcholine"),
    ("magnesium-sulfate", "magnesium sulphate", "magnesium sulfate"),
]


def labels(page: str, code: str) -> str:
    start = page.index(f'value="{code}"')
    return page[start : page.index("</", start)].lower()


@pytest.mark.parametrize(("code", "british", "american"), BOTH_NAMES)
def test_the_planned_drugs_list_carries_both_names(
    anesthetist_browser, patient, code, british, american
):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    label = page[page.index(f'id="drug-{code}"') :]
    label = label[: label.index("</label>")].lower()
    assert british in label
    assert american in label


@pytest.mark.parametrize(("code", "british", "american"), BOTH_NAMES)
def test_the_medication_list_carries_both_names(
    anesthetist_browser, patient, code, british, american
):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode()

    option = labels(page, code)
    assert british in option
    assert american in option


def test_the_cautions_keep_the_knowledge_bases_name():
    # The other spelling is for finding a drug in a list; cards, the plan and the print keep
    # the name the knowledge base gives.
    drugs = get_knowledge_base().drugs
    assert drugs["magnesium-sulfate"].name == "Magnesium sulfate (intravenous)"
    assert all(code in drugs for code, _british, _american in BOTH_NAMES)
