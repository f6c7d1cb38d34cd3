"""The command-line twins: check_cautions and knowledge_base."""

import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from periop.drugs.registry import get_knowledge_base, knowledge_base_directory


def run(*arguments):
    from io import StringIO

    out = StringIO()
    call_command("check_cautions", *arguments, stdout=out)
    return out.getvalue()


def test_check_cautions_prints_a_readable_table():
    output = run(
        "--condition",
        "burn:onset=2026-11-17",
        "--drug",
        "succinylcholine",
        "--at",
        "2026-11-22T08:00",
    )

    assert "succinylcholine" in output
    assert "CONTRAINDICATED" in output
    assert "Assumed:" in output


def test_check_cautions_prints_the_same_cautions_as_the_api():
    output = run(
        "--condition",
        "stroke:onset=2026-11-12T14:00+00:00,motor_deficit=true",
        "--condition",
        "myasthenia-gravis:onset=2024-05-01,antibody=achr",
        "--medication",
        "pyridostigmine:started=2024-05-03",
        "--drug",
        "succinylcholine",
        "--drug",
        "rocuronium",
        "--at",
        "2026-11-22T08:00+00:00",
        "--weight",
        "62",
        "--json",
    )

    payload = json.loads(output)
    levels = {caution["drug"]: caution["level"] for caution in payload["cautions"]}
    assert levels == {"succinylcholine": "contraindicated", "rocuronium": "adjust"}
    assert payload["knowledge_base"]["version"] == get_knowledge_base().version


def test_check_cautions_reads_times_without_offset_in_the_given_time_zone():
    output = run(
        "--condition",
        "burn:onset=2026-11-22T06:00",
        "--drug",
        "succinylcholine",
        "--at",
        "2026-11-22T08:00",
        "--time-zone",
        "Europe/Oslo",
        "--json",
    )

    assert json.loads(output)["at"] == "2026-11-22T07:00:00+00:00"


def test_check_cautions_rejects_an_unknown_drug_clearly():
    with pytest.raises(CommandError, match="drugs: Unknown drug code 'suxx'"):
        run("--drug", "suxx")


def test_check_cautions_rejects_an_unknown_attribute_clearly():
    with pytest.raises(CommandError, match=r"conditions\[0\].attributes: depth"):
        run("--condition", "burn:depth=full", "--drug", "rocuronium")


def test_check_cautions_rejects_a_malformed_condition():
    with pytest.raises(CommandError, match="expected KEY=VALUE"):
        run("--condition", "burn:onset", "--drug", "rocuronium")


@pytest.mark.django_db
def test_knowledge_base_show_prints_version_digest_and_counts(capsys):
    call_command("knowledge_base", "show")

    output = capsys.readouterr().out
    kb = get_knowledge_base()
    assert f"Version:        {kb.version}" in output
    assert kb.digest in output
    assert f"Rules: {len(kb.rules)}" in output
    assert "Growth chart: CDC 2000 weight-for-age (" in output


def test_knowledge_base_validate_accepts_the_active_knowledge_base(capsys):
    call_command("knowledge_base", "validate")

    assert "Valid: knowledge base" in capsys.readouterr().out


def test_knowledge_base_validate_names_the_file_and_rule_at_fault(tmp_path):
    broken = tmp_path / "knowledge"
    shutil.copytree(knowledge_base_directory(), broken)
    rules = sorted((broken / "rules").glob("*.toml"))[0]
    text = rules.read_text()
    first_id = text.split('id = "', 1)[1].split('"', 1)[0]
    rules.write_text(text.replace('references = ["', 'references = ["S999", "', 1))

    with pytest.raises(CommandError) as raised:
        call_command("knowledge_base", "validate", "--path", str(broken))

    message = str(raised.value)
    assert rules.name in message
    assert "S999" in message
    # The message names the rule at fault, not only its file.
    assert f"'{first_id}'" in message or f'"{first_id}"' in message or f" {first_id}" in message


def test_check_cautions_accepts_synonyms_and_prints_the_codes():
    output = json.loads(
        run(
            "--condition",
            "burn:onset=2026-11-17,tbsa_percent=30",
            "--medication",
            "magnesium-sulphate:started=2026-11-21",
            "--drug",
            "suxamethonium",
            "--drug",
            "rocuronium-bromide",
            "--at",
            "2026-11-22T08:00+00:00",
            "--json",
        )
    )

    succinylcholine, rocuronium = output["cautions"]
    assert succinylcholine["drug"] == "succinylcholine"
    assert succinylcholine["level"] == "contraindicated"
    assert rocuronium["drug"] == "rocuronium"
    assert any(
        "medication:magnesium-sulfate" in finding["triggered_by"]
        for finding in rocuronium["findings"]
    )


def test_check_cautions_reads_serum_magnesium_in_mmol_per_litre():
    output = json.loads(
        run(
            "--condition",
            "hypermagnesemia:onset=2026-11-22,serum_mg_mmol_l=4.0",
            "--drug",
            "magnesium-sulfate",
            "--at",
            "2026-11-22T08:00+00:00",
            "--json",
        )
    )

    assert output["cautions"][0]["level"] == "avoid"
