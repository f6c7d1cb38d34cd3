"""The coverage map of the reference tables (fixtures/knowledge/coverage.toml).

Every cell's listed rules must give at least the cell's level to the row's patient, and every
row and column of clinical-reference.md §5 and §5.1 must be in the map.
"""

from __future__ import annotations

import pytest

from periop.drugs.engine import Level
from periop.drugs.engine.coverage import check_coverage
from tests.unit.knowledge.conftest import COLUMNS

# The rows of clinical-reference.md §5, in its order.
SECTION_5_ROWS = (
    "MG generalised",
    "MG ocular",
    "MG MuSK",
    "LEMS (± SCLC)",
    "CMS (genotype-dependent)",
    "Botulism",
    "Organophosphate / AChEI toxicity",
    "Penicillamine-induced MG (active)",
    "Hypermagnesaemia",
    "Stiff-person syndrome",
    "Isaacs syndrome",
    "Spinal cord injury",
    "Stroke / hemiplegia",
    "Guillain-Barré syndrome",
    "Burns",
    "Immobilisation",
    "Critical illness neuro-/myopathy, prolonged ICU",
    "Severe sepsis",
    "Major trauma / crush",
    "Duchenne / Becker MD",
    "Myotonic dystrophy",
    "MH susceptibility",
    "BChE deficiency, homozygous / silent",
    "BChE heterozygous or acquired low BChE",
    "No NMJ condition",
)
SECTION_5_1_ROWS = ("MG (any)", "MuSK MG", "LEMS", "CMS", "Penicillamine-induced MG", "Epilepsy")
SECTION_5_1_COLUMNS = (
    "Pyridostigmine (chronic)",
    "3,4-DAP / amifampridine",
    "Penicillamine",
    "Phenytoin / carbamazepine (chronic)",
)
# The rows of §7 (interacting drug or state); a row may have several cells.
SECTION_7_ROWS = (
    "Chronic pyridostigmine (or any AChEI)",
    "Chronic pyridostigmine",
    "Neostigmine given, then SCh",
    "Aminoglycosides",
    "Polymyxin B, colistin",
    "Polymyxin B",
    "MgSO4",
    "MgSO4 + calcium-channel blocker (nifedipine, nicardipine)",
    "MgSO4 + aminoglycoside",
    "Chronic phenytoin or carbamazepine (>= about 10-14 days)",
    "Chronic anticonvulsant",
    "Acute phenytoin (< about 10 days)",
    "Organophosphate exposure (weeks)",
    "Burns (low BChE)",
    "Sugammadex",
    "Amifampridine (3,4-DAP)",
    "Penicillamine",
)
# The drugs of §8.
SECTION_8_ROWS = (
    "Succinylcholine",
    "Neostigmine (Bloxiverz)",
    "Neostigmine",
    "Sugammadex (Bridion)",
    "ASA 2023 guideline",
    "Pyridostigmine (Mestinon)",
    "Amifampridine (Firdapse)",
    "Gentamicin",
    "Polymyxin B",
)


@pytest.fixture(scope="module")
def results(kb):
    return check_coverage(kb)


@pytest.fixture(scope="module")
def cells(kb):
    return kb.coverage.cells


def test_every_section_5_cell_is_in_the_map(cells):
    present = {(cell.row, cell.column) for cell in cells if cell.table == "§5"}

    expected = {(row, column) for row in SECTION_5_ROWS for column in COLUMNS}
    assert expected - present == set()
    assert present - expected == set()


def test_every_section_5_1_cell_is_in_the_map(cells):
    present = {(cell.row, cell.column) for cell in cells if cell.table == "§5.1"}

    expected = {(row, column) for row in SECTION_5_1_ROWS for column in SECTION_5_1_COLUMNS}
    assert expected == present


def test_every_section_7_and_8_row_is_in_the_map(cells):
    assert {cell.row for cell in cells if cell.table == "§7"} == set(SECTION_7_ROWS)
    assert {cell.row for cell in cells if cell.table == "§8"} == set(SECTION_8_ROWS)


def test_the_map_uses_the_same_drugs_as_the_matrix_tests(kb):
    for column, drugs in COLUMNS.items():
        assert kb.coverage.columns[("§5", column)] == drugs


def test_every_cell_is_covered_by_rules_or_excluded_with_a_reason(cells):
    for cell in cells:
        if cell.excluded is None:
            assert cell.rules is not None, cell.name
            assert cell.rules or cell.level == Level.NONE, cell.name
        else:
            assert cell.excluded.strip(), cell.name


def test_every_cell_listed_rule_fires_at_the_cell_level_for_the_row_patient(results):
    failing = {result.cell.name: result.problems for result in results if result.problems}

    assert failing == {}


# §5 Burns x AMINO is split: MO before ~day 7, then DA (S07, S09).
def test_a_split_cell_checks_each_case_at_its_own_level(results):
    burns = {
        result.cell.case: result
        for result in results
        if (result.cell.table, result.cell.row, result.cell.column) == ("§5", "Burns", "AMINO")
    }

    assert burns["before day 7"].levels["rocuronium"] == Level.MONITOR
    assert burns["day 7 to 2 years"].levels["rocuronium"] == Level.ADJUST


# §5 Hypermagnesaemia x Mg: MO (hold extra boluses); the paralysing-level rule adds AV (§6.3, U).
def test_the_paralysing_magnesium_case_lists_both_rules(results):
    (result,) = [
        result
        for result in results
        if result.cell.row == "Hypermagnesaemia" and result.cell.case == "9.0 mg/dL or more"
    ]

    assert result.levels["magnesium-sulfate"] == Level.AVOID
    assert result.problems == ()
