"""The drug synonyms of the real knowledge base (vocabulary v1.1)."""

from __future__ import annotations

from collections import Counter


def test_every_synonym_is_unique_across_every_code_and_synonym(kb):
    names = Counter(list(kb.drugs))
    for drug in kb.drugs.values():
        names.update(drug.synonyms)

    assert [name for name, count in names.items() if count > 1] == []


def test_every_synonym_resolves_to_its_own_drug(kb):
    for code, drug in kb.drugs.items():
        for synonym in drug.synonyms:
            assert kb.canonical_drug_code(synonym) == code


# §12 introduction and api-contract v1.1: the British name suxamethonium is succinylcholine.
def test_suxamethonium_is_succinylcholine(kb):
    assert kb.canonical_drug_code("suxamethonium") == "succinylcholine"
    assert kb.canonical_drug_code("magnesium-sulphate") == "magnesium-sulfate"
