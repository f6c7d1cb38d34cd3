"""The coverage map (coverage.toml): its validation and the honesty check of each cell."""

from __future__ import annotations

from typing import Any

import pytest

from periop.drugs.engine import KnowledgeBaseError, Level
from periop.drugs.engine.coverage import check_coverage
from tests.unit.engine.builders import KnowledgeFiles

COVERAGE = "knowledge/coverage.toml"


def with_map(kb_files: KnowledgeFiles, **cell: Any) -> dict[str, Any]:
    kb_files.add_rule(
        "mg-rocuronium",
        drugs=["rocuronium"],
        level="adjust",
        when={"conditions": ["myasthenia-gravis"]},
    )
    entry = {
        "table": "§5",
        "row": "MG",
        "column": "AMINO",
        "reference": "DA",
        "level": "adjust",
        "patient": "mg",
        "rules": ["mg-rocuronium"],
        **cell,
    }
    kb_files.documents["coverage.toml"] = {
        "columns": [{"table": "§5", "column": "AMINO", "drugs": ["rocuronium"]}],
        "patients": [
            {
                "id": "mg",
                "description": "Myasthenia gravis for a year.",
                "conditions": [
                    {"code": "myasthenia-gravis", "onset_hours": 8760, "attributes": {}}
                ],
            }
        ],
        "cells": [entry],
    }
    return entry


def test_a_knowledge_base_without_a_map_has_no_coverage(kb_files: KnowledgeFiles):
    kb = kb_files.load()

    assert kb.coverage is None
    assert check_coverage(kb) == ()


def test_an_honest_cell_has_no_problems(kb_files: KnowledgeFiles):
    with_map(kb_files)

    (result,) = check_coverage(kb_files.load())

    assert result.problems == ()
    assert result.levels == {"rocuronium": Level.ADJUST}


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ({"level": "avoid"}, "rule 'mg-rocuronium' gives adjust, below the reference level avoid."),
        ({"level": "avoid"}, "rocuronium gets adjust, below the reference level avoid."),
        ({"rules": []}, "uncovered: no rule and no exclusion for reference level adjust."),
        ({"rules": None}, "uncovered: no rule and no exclusion for reference level adjust."),
    ],
)
def test_a_dishonest_or_uncovered_cell_is_reported(kb_files: KnowledgeFiles, cell, problem):
    entry = with_map(kb_files, **cell)
    if entry["rules"] is None:
        del entry["rules"]

    (result,) = check_coverage(kb_files.load())

    assert problem in result.problems


def test_a_rule_that_does_not_fire_for_the_patient_is_reported(kb_files: KnowledgeFiles):
    with_map(kb_files, patient="nobody")
    kb_files.documents["coverage.toml"]["patients"].append(
        {"id": "nobody", "description": "No condition."}
    )

    (result,) = check_coverage(kb_files.load())

    assert "rule 'mg-rocuronium' gives no finding for patient 'nobody'." in result.problems


def test_an_excluded_cell_needs_no_rule(kb_files: KnowledgeFiles):
    entry = with_map(kb_files, excluded="No code in the contract.")
    del entry["rules"]

    (result,) = check_coverage(kb_files.load())

    assert result.problems == ()


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ({"rules": ["no-such-rule"]}, "unknown rule id 'no-such-rule'"),
        ({"patient": "nobody"}, "unknown patient 'nobody'"),
        ({"excluded": "Both."}, "either covered by rules or excluded, not both"),
        ({"level": "severe"}, "level 'severe' is not one of"),
        ({"column": "SUX"}, "column SUX of §5 has no drugs"),
        ({"drugs": ["rocuronum"]}, "unknown drug 'rocuronum'"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_it_refuses_an_invalid_cell(kb_files: KnowledgeFiles, cell, message):
    with_map(kb_files, **cell)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert raised.value.path == COVERAGE
    assert message in raised.value.message


def test_it_refuses_a_cell_listed_twice(kb_files: KnowledgeFiles):
    entry = with_map(kb_files)
    kb_files.documents["coverage.toml"]["cells"].append(dict(entry))

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert "duplicate cell" in raised.value.message


def test_it_refuses_a_patient_attribute_outside_the_schema(kb_files: KnowledgeFiles):
    with_map(kb_files)
    patient = kb_files.documents["coverage.toml"]["patients"][0]
    patient["conditions"][0]["attributes"] = {"antibody": "acetylcholine"}

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert "attribute 'antibody'" in raised.value.message
