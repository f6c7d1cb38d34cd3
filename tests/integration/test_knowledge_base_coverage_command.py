"""`manage.py knowledge_base coverage`: every reference-table cell is covered honestly."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from periop.drugs.registry import knowledge_base_directory

PROJECT = Path(__file__).resolve().parents[2]
MG_SUX_CELL = """row = "MG generalised"
column = "SUX"
reference = "DA SENS- / VAR / PROLONG if on pyridostigmine (A: S20, S21, S22; C: S28)"
level = "adjust"
patient = "mg-generalized"
rules = ["sux-mg-resistance"]
"""


def copy_of_the_knowledge_base(tmp_path):
    copy = tmp_path / "knowledge"
    shutil.copytree(knowledge_base_directory(), copy)
    return copy


def coverage_exit_code(path=None):
    arguments = [sys.executable, "manage.py", "knowledge_base", "coverage"]
    if path is not None:
        arguments += ["--path", str(path)]
    return subprocess.run(arguments, cwd=PROJECT, capture_output=True, text=True, check=False)


def test_coverage_prints_each_cell_with_its_rules_or_exclusion(capsys):
    call_command("knowledge_base", "coverage")

    output = capsys.readouterr().out
    # §5, MG generalised x SUX: DA, covered by the myasthenic resistance rule.
    assert "§5 MG generalised x SUX: reference adjust" in output
    assert "rules: sux-mg-resistance" in output
    # §7, sugammadex with hormonal contraceptives: no medication code in the contract.
    assert "excluded: The contract has no medication codes for hormonal contraceptives" in output
    assert "failing: 0" in output


def test_coverage_exits_zero_on_the_real_knowledge_base():
    completed = coverage_exit_code()

    assert completed.returncode == 0, completed.stderr
    assert "failing: 0" in completed.stdout


def test_coverage_fails_on_a_cell_with_neither_rules_nor_exclusion(tmp_path, capsys):
    copy = copy_of_the_knowledge_base(tmp_path)
    coverage = copy / "coverage.toml"
    text = coverage.read_text(encoding="utf-8")
    assert MG_SUX_CELL in text
    coverage.write_text(
        text.replace(MG_SUX_CELL, MG_SUX_CELL.replace('rules = ["sux-mg-resistance"]\n', "")),
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as raised:
        call_command("knowledge_base", "coverage", "--path", str(copy))

    assert "§5 MG generalised x SUX" in str(raised.value)
    assert "uncovered: no rule and no exclusion" in capsys.readouterr().out
    completed = coverage_exit_code(copy)
    assert completed.returncode != 0


def test_coverage_fails_when_a_listed_rule_gives_less_than_the_cell(tmp_path, capsys):
    copy = copy_of_the_knowledge_base(tmp_path)
    rules = copy / "rules" / "myasthenia.toml"
    text = rules.read_text(encoding="utf-8")
    start = text.index('id = "sux-mg-resistance"')
    lowered = text[start:].replace('level = "adjust"', 'level = "monitor"', 1)
    rules.write_text(text[:start] + lowered, encoding="utf-8")

    with pytest.raises(CommandError):
        call_command("knowledge_base", "coverage", "--path", str(copy))

    output = capsys.readouterr().out
    assert "rule 'sux-mg-resistance' gives monitor, below the reference level adjust." in output


def test_coverage_fails_when_a_listed_rule_does_not_fire_for_the_row(tmp_path, capsys):
    copy = copy_of_the_knowledge_base(tmp_path)
    coverage = copy / "coverage.toml"
    text = coverage.read_text(encoding="utf-8")
    wrong_rule = MG_SUX_CELL.replace("sux-mg-resistance", "lems-antibiotic-avoid")
    coverage.write_text(text.replace(MG_SUX_CELL, wrong_rule), encoding="utf-8")

    with pytest.raises(CommandError):
        call_command("knowledge_base", "coverage", "--path", str(copy))

    assert "rule 'lems-antibiotic-avoid' gives no finding" in capsys.readouterr().out


def test_validate_refuses_a_coverage_cell_naming_an_unknown_rule(tmp_path):
    copy = copy_of_the_knowledge_base(tmp_path)
    coverage = copy / "coverage.toml"
    text = coverage.read_text(encoding="utf-8")
    coverage.write_text(
        text.replace(MG_SUX_CELL, MG_SUX_CELL.replace("sux-mg-resistance", "no-such-rule")),
        encoding="utf-8",
    )

    with pytest.raises(CommandError) as raised:
        call_command("knowledge_base", "validate", "--path", str(copy))

    assert "coverage.toml" in str(raised.value)
    assert "unknown rule id 'no-such-rule'" in str(raised.value)


def test_coverage_fails_without_a_coverage_map(tmp_path):
    copy = copy_of_the_knowledge_base(tmp_path)
    (copy / "coverage.toml").unlink()

    with pytest.raises(CommandError) as raised:
        call_command("knowledge_base", "coverage", "--path", str(copy))

    assert "no coverage.toml" in str(raised.value)
