"""The observation codes (fixtures/knowledge/observations.toml): only codes graded A or B, each
with its source, and each accepted unit mapped to what the engine reads."""

from __future__ import annotations

import pytest

from periop.drugs.engine import KnowledgeBaseError
from periop.drugs.engine.loader import load_knowledge_base_texts, read_release_files
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY


def _load_with(observations: str):
    texts = read_release_files(KNOWLEDGE_DIRECTORY)
    texts["observations.toml"] = observations
    return load_knowledge_base_texts(texts, "test")


ENTRY = """
[[observations]]
measure = "serum-potassium"
system = "http://loinc.org"
code = "2823-3"
display = "Potassium [Moles/volume] in Serum or Plasma"
grade = "{grade}"
sources = ["https://example.org/code-list"]
evidence = "A published code list."
units = {{ "mmol/L" = "{target}" }}
"""


def test_the_real_file_encodes_the_four_confirmed_codes(kb):
    assert {(item.system, item.code) for item in kb.observations} == {
        ("http://loinc.org", "29463-7"),
        ("http://loinc.org", "2823-3"),
        ("http://loinc.org", "19123-9"),
        ("http://loinc.org", "2601-3"),
    }
    for item in kb.observations:
        assert item.grade in {"A", "B"}
        assert item.sources
        assert item.evidence


@pytest.mark.parametrize("grade", ["C", "U"])
def test_a_code_graded_c_or_u_is_refused(grade):
    with pytest.raises(KnowledgeBaseError, match="only codes graded A or B"):
        _load_with(ENTRY.format(grade=grade, target="serum_potassium_mmol_l"))


def test_a_unit_mapped_to_an_unknown_attribute_is_refused():
    with pytest.raises(KnowledgeBaseError, match="neither weight_kg nor a number attribute"):
        _load_with(ENTRY.format(grade="B", target="serum_potassium_mg_dl"))


def test_a_knowledge_base_without_the_file_maps_no_observation():
    texts = read_release_files(KNOWLEDGE_DIRECTORY)
    del texts["observations.toml"]
    assert load_knowledge_base_texts(texts, "test").observations == ()


def test_a_code_without_a_source_is_refused():
    sourceless = ENTRY.format(grade="A", target="serum_potassium_mmol_l").replace(
        'sources = ["https://example.org/code-list"]', "sources = []"
    )
    assert "sources = []" in sourceless

    with pytest.raises(KnowledgeBaseError, match="sources"):
        _load_with(sourceless)
