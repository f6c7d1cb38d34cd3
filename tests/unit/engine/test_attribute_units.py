"""Unit conversions between condition attributes: loading and validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from periop.drugs.engine import KnowledgeBaseError
from tests.unit.engine.builders import KnowledgeFiles

CONVERSION = {
    "from": "tbsa_fraction",
    "to": "tbsa_percent",
    "factor": "100",
    "round_to": "1",
    "tolerance": "1",
    "reason": "x 100",
    "references": ["R1"],
}


def with_fraction(kb_files: KnowledgeFiles, **changes: object) -> None:
    burn = kb_files.condition("burn")
    burn["attributes"]["tbsa_fraction"] = {"type": "number", "min": 0, "max": 1, "label": "TBSA"}
    burn["conversions"] = [{**CONVERSION, **changes}]


def test_it_loads_a_conversion_and_counts_its_source_as_used(kb_files: KnowledgeFiles):
    with_fraction(kb_files)
    kb_files.add_rule(
        "big-burn", when={"conditions": ["burn"], "attributes": {"tbsa_percent": {"min": 20}}}
    )

    kb = kb_files.load()

    (conversion,) = kb.conditions["burn"].conversions
    assert (conversion.source, conversion.to, conversion.factor) == (
        "tbsa_fraction",
        "tbsa_percent",
        Decimal("100"),
    )
    assert conversion.convert(0.255) == Decimal("26")
    assert kb.conditions["burn"].attributes["tbsa_fraction"].informational is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"to": "missing"}, "unknown attribute 'missing'"),
        ({"to": "tbsa_fraction"}, "cannot convert into itself"),
        ({"factor": "0"}, "factor and round_to must be above 0"),
        ({"references": []}, "references"),
    ],
)
def test_it_rejects_a_bad_conversion(kb_files: KnowledgeFiles, changes, message):
    with_fraction(kb_files, **changes)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert message in raised.value.message
