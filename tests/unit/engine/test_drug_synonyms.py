"""Drug synonyms (vocabulary v1.1): loaded, resolved to their code, and unique."""

from __future__ import annotations

import pytest

from periop.drugs.engine import KnowledgeBaseError
from tests.unit.engine.builders import KnowledgeFiles


def test_it_resolves_a_synonym_and_a_code_to_the_code(kb_files: KnowledgeFiles):
    kb_files.drug("succinylcholine")["synonyms"] = ["suxamethonium"]

    kb = kb_files.load()

    assert kb.drugs["succinylcholine"].synonyms == ("suxamethonium",)
    assert kb.canonical_drug_code("suxamethonium") == "succinylcholine"
    assert kb.canonical_drug_code("succinylcholine") == "succinylcholine"
    assert kb.canonical_drug_code("scoline") is None
    assert kb.canonical_drug_code(None) is None


def test_it_rejects_a_synonym_that_is_another_drugs_code(kb_files: KnowledgeFiles):
    kb_files.drug("succinylcholine")["synonyms"] = ["rocuronium"]

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.entry == "drug 'succinylcholine'"
    assert raised.value.message == "synonym 'rocuronium' is already the code of 'rocuronium'."


def test_it_rejects_a_synonym_given_to_two_drugs(kb_files: KnowledgeFiles):
    kb_files.drug("rocuronium")["synonyms"] = ["esmeron"]
    kb_files.drug("vecuronium")["synonyms"] = ["esmeron"]

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.entry == "drug 'vecuronium'"
    assert raised.value.message == "synonym 'esmeron' is already a synonym of 'rocuronium'."


def test_it_rejects_a_synonym_that_is_not_lower_case(kb_files: KnowledgeFiles):
    kb_files.drug("succinylcholine")["synonyms"] = ["Suxamethonium"]

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert "must be lower case" in raised.value.message
