"""Unit conversions between condition attributes: loading, validation, and what the rules read.

The properties run on the real knowledge base's serum magnesium (mg/dL, with conversions from
mmol/L and mEq/L) and on a made-up condition with conversions into two attributes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from periop.drugs.engine import (
    ConditionInput,
    Evaluation,
    KnowledgeBaseError,
    Level,
    PatientState,
    evaluate,
    load_knowledge_base,
)
from periop.drugs.engine.attribute_units import UnitConversion, converted_values
from periop.drugs.engine.knowledge import AttributeDefinition
from periop.drugs.engine.timeline import UNKNOWN
from tests.unit.engine.builders import KnowledgeFiles
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY

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


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"round_to": "0"}, "factor and round_to must be above 0"),
        ({"from": "tbsa_label", "to": "tbsa_percent"}, "'tbsa_label' is not a number"),
    ],
)
def test_it_rejects_a_zero_precision_and_a_source_that_is_not_a_number(
    kb_files: KnowledgeFiles, changes, message
):
    with_fraction(kb_files, **changes)
    kb_files.condition("burn")["attributes"]["tbsa_label"] = {"type": "boolean", "label": "Label"}

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert message in raised.value.message


@pytest.mark.parametrize("round_to", ["0.5", "2", "10", "0.10", "1E+1"])
def test_it_rejects_a_precision_that_is_not_a_power_of_ten_written_as_one(
    kb_files: KnowledgeFiles, round_to: str
):
    """Rounding keeps round_to's decimal places, not its digits: "0.5" would round to tenths."""
    with_fraction(kb_files, round_to=round_to)

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert f'round_to {round_to!r} must be "1", "0.1", "0.01"' in raised.value.message


def test_it_names_the_position_of_the_conversion_that_is_wrong(kb_files: KnowledgeFiles):
    with_fraction(kb_files)
    burn = kb_files.condition("burn")
    burn["attributes"]["tbsa_per_mille"] = {"type": "number", "min": 0, "label": "TBSA"}
    burn["conversions"].append(
        {**CONVERSION, "from": "tbsa_per_mille", "factor": "0.1", "round_to": "0"}
    )

    with pytest.raises(KnowledgeBaseError) as raised:
        kb_files.load()

    assert "condition 'burn' conversions #2: factor and round_to" in str(raised.value)


def test_it_rejects_two_conversions_of_one_attribute_and_a_chain(kb_files: KnowledgeFiles):
    with_fraction(kb_files)
    burn = kb_files.condition("burn")
    burn["conversions"].append({**CONVERSION, "to": "tbsa_per_mille"})
    burn["attributes"]["tbsa_per_mille"] = {"type": "number", "min": 0, "label": "TBSA"}

    with pytest.raises(KnowledgeBaseError) as twice:
        kb_files.load()

    burn["conversions"][1] = {**CONVERSION, "from": "tbsa_per_mille", "to": "tbsa_fraction"}
    with pytest.raises(KnowledgeBaseError) as chained:
        kb_files.load()

    assert "attribute 'tbsa_fraction' already converts" in twice.value.message
    assert "'tbsa_fraction' is converted into and converts; chain none" in chained.value.message


def test_a_caution_names_the_conversion_and_the_implication_it_was_read_through(
    kb_files: KnowledgeFiles,
):
    """A fraction converts to a percentage, which implies a major burn: the caution of the rule
    on a major burn names both steps, the conversion first. (The loader counts the fraction as
    used through that chain; it once refused it as used by no rule.)"""
    with_fraction(kb_files)
    burn = kb_files.condition("burn")
    burn["attributes"]["major"] = {"type": "boolean", "label": "Major burn"}
    burn["implications"] = [
        {
            "when": {"tbsa_percent": {"min": 20}},
            "then": {"major": [True]},
            "reason": "Test: a large area.",
            "references": ["R1"],
        }
    ]
    kb_files.add_rule(
        "major-burn",
        drugs=["rocuronium"],
        when={"conditions": ["burn"], "attributes": {"major": [True]}},
    )
    kb = kb_files.load()
    burned = ConditionInput(
        code="burn", onset=AT - dt.timedelta(days=5), attributes={"tbsa_fraction": 0.3}
    )
    state = PatientState(
        conditions=(burned,), medications=(), weight_kg=None, receptor_state_override=None
    )

    (caution,) = evaluate(state, ("rocuronium",), AT, kb).cautions

    assert "major-burn" in {finding.rule for finding in caution.findings}
    assert [note for note in caution.assumptions if "read as" in note] == [
        "Burn injury: TBSA 0.3 read as total body surface area burned 30 % (x 100).",
        "Burn injury: major burn not recorded; read as true from total body surface area "
        "burned 30.",
    ]


# ---------------------------------------------------------------------------------------------
# What the rules read
# ---------------------------------------------------------------------------------------------

KB = load_knowledge_base(KNOWLEDGE_DIRECTORY)
AT = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
MAGNESIUM = KB.conditions["hypermagnesemia"]
MG_DL = "serum_mg_mg_dl"
BY_SOURCE = {item.source: item for item in MAGNESIUM.conversions}
RULES = {rule.id: rule for rule in KB.rules}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def magnesium(**attributes: object) -> Evaluation:
    """Magnesium sulfate for a patient with hypermagnesaemia of 10 hours."""
    state = PatientState(
        conditions=(
            ConditionInput(
                code="hypermagnesemia", onset=AT - dt.timedelta(hours=10), attributes=attributes
            ),
        ),
        medications=(),
        weight_kg=None,
        receptor_state_override=None,
    )
    return evaluate(state, ("magnesium-sulfate",), AT, KB)


def _hundredths(low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low, high).map(lambda n: float(Decimal(n) / 100))


@SETTINGS
@given(
    st.sampled_from(sorted(BY_SOURCE)),
    _hundredths(0, 1000),
    st.one_of(st.none(), st.integers(-5, 5)),
    st.one_of(st.none(), _hundredths(0, 2000)),
)
@example("serum_mg_mmol_l", 3.0, 1, None)  # 7.3 mg/dL against 7.4 recorded: they agree
@example("serum_mg_mmol_l", 3.0, -1, None)  # and against 7.2
def test_a_value_in_another_unit_reads_as_its_conversion_and_a_contradiction_as_both(
    source, value, steps, other_mg_dl
):
    """A value converts to what the rules read (magnesium in mmol/L or mEq/L as mg/dL). Recorded
    with the value in mg/dL, it changes nothing within the tolerance; beyond it both readings are
    kept: the rules of either fire and the contradiction is named. `steps` places the recorded
    mg/dL in tenths of the tolerance around the converted value (None: not recorded), or
    `other_mg_dl` anywhere."""
    conversion = BY_SOURCE[source]
    converted = conversion.convert(value)
    recorded: Decimal | None = None
    if steps is not None:
        recorded = converted + steps * conversion.tolerance / 2
    elif other_mg_dl is not None:
        recorded = Decimal(str(other_mg_dl))
    attributes: dict[str, object] = {source: value}
    if recorded is not None and recorded >= 0:
        attributes[MG_DL] = float(recorded)
    else:
        recorded = None

    evaluation = magnesium(**attributes)
    (caution,) = evaluation.cautions

    readings = [converted] if recorded is None else [recorded]
    contradicts = recorded is not None and abs(converted - recorded) > conversion.tolerance
    if contradicts:
        readings.append(converted)
    alone = [magnesium(**{MG_DL: float(reading)}).cautions[0] for reading in readings]
    assert caution.level == max(each.level for each in alone)
    assert {f.rule for f in caution.findings} == {f.rule for each in alone for f in each.findings}
    named = [note for note in evaluation.assumptions if "contradicts" in note]
    read_as = [note for note in evaluation.assumptions if "read as serum magnesium" in note]
    assert bool(named) == contradicts
    assert bool(read_as) == (recorded is None)
    # The caution itself says how the value was read exactly when a rule that reads the
    # magnesium in mg/dL is among its findings.
    reads_mg_dl = any(MG_DL in RULES[finding.rule].when.attributes for finding in caution.findings)
    on_caution = [note for note in caution.assumptions if "read as serum magnesium" in note]
    assert bool(on_caution) == (recorded is None and reads_mg_dl)


@SETTINGS
@given(_hundredths(0, 1000), _hundredths(0, 2000), st.one_of(st.none(), _hundredths(0, 2000)))
def test_both_other_units_are_read_and_every_reading_counts(mmol, meq, mg_dl):
    """Magnesium in mmol/L and in mEq/L together: each converted value that is not the recorded
    mg/dL (beyond the tolerance) is a reading of its own, whichever conversion is listed first."""
    attributes: dict[str, object] = {"serum_mg_mmol_l": mmol, "serum_mg_meq_l": meq}
    if mg_dl is not None:
        attributes[MG_DL] = mg_dl
    (caution,) = magnesium(**attributes).cautions

    readings = {Decimal(str(mg_dl))} if mg_dl is not None else set()
    for source, value in (("serum_mg_mmol_l", mmol), ("serum_mg_meq_l", meq)):
        converted = BY_SOURCE[source].convert(value)
        if mg_dl is None or abs(converted - Decimal(str(mg_dl))) > BY_SOURCE[source].tolerance:
            readings.add(converted)
    alone = [magnesium(**{MG_DL: float(reading)}).cautions[0] for reading in readings]
    assert caution.level == max(each.level for each in alone)
    assert {f.rule for f in caution.findings} == {f.rule for each in alone for f in each.findings}


def test_a_pair_exactly_the_tolerance_apart_agrees():
    """3.0 mmol/L is 7.3 mg/dL; a recorded 7.2 or 7.4 mg/dL is within 0.1 of it. 3.7 mmol/L is
    9.0 mg/dL: 8.8 recorded is a contradiction."""
    for mg_dl in (7.2, 7.4):
        evaluation = magnesium(serum_mg_mmol_l=3.0, serum_mg_mg_dl=mg_dl)
        assert not [note for note in evaluation.assumptions if "contradicts" in note]
    (caution,) = magnesium(serum_mg_mmol_l=3.7, serum_mg_mg_dl=8.8).cautions
    assert caution.level == Level.AVOID
    assert [note for note in caution.assumptions if "contradicts the recorded 8.8 mg/dL" in note]


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=0, max_value=1000, places=3),
    st.sampled_from([Decimal("2.43"), Decimal("1.215"), Decimal("100"), Decimal("0.1")]),
    st.sampled_from([Decimal("1"), Decimal("0.1"), Decimal("0.01")]),
)
@example(Decimal("0.5"), Decimal("1"), Decimal("1"))  # a tie goes up
def test_a_conversion_rounds_half_up_to_its_precision(value, factor, round_to):
    conversion = UnitConversion("a", "b", factor, round_to, Decimal("0.1"), "x", ("R1",))
    exact = value * factor

    converted = conversion.convert(value)

    assert converted % round_to == 0
    assert -round_to / 2 < converted - exact <= round_to / 2


def _number(name: str, label: str, unit: str) -> AttributeDefinition:
    return AttributeDefinition(name=name, type="number", label=label, unit=unit)


ATTRIBUTES = {
    "length_cm": _number("length_cm", "Length", "cm"),
    "length_m": _number("length_m", "Length in metres", "m"),
    "length_mm": _number("length_mm", "Length in millimetres", "mm"),
    "mass_g": _number("mass_g", "Mass", "g"),
    "mass_kg": _number("mass_kg", "Mass in kilograms", "kg"),
}
CONVERSIONS = (
    UnitConversion("length_m", "length_cm", Decimal(100), Decimal(1), Decimal(1), "x 100", ()),
    UnitConversion("length_mm", "length_cm", Decimal("0.1"), Decimal(1), Decimal(1), "/ 10", ()),
    UnitConversion("mass_kg", "mass_g", Decimal(1000), Decimal(1), Decimal(5), "x 1000", ()),
)


@settings(max_examples=100, deadline=None)
@given(
    st.permutations(CONVERSIONS),
    st.fixed_dictionaries(
        {name: st.one_of(st.just(UNKNOWN), st.integers(0, 40)) for name in ATTRIBUTES}
    ),
)
@example(CONVERSIONS[::-1], dict.fromkeys(ATTRIBUTES, 3))
def test_every_conversion_into_an_attribute_counts_whatever_the_order(conversions, values):
    """Conversions into two attributes, listed in any order: each attribute reads its recorded
    value first, then every converted value that it does not already hold (all of them when
    nothing is recorded), each with a note naming the value as recorded."""
    for target in ("length_cm", "mass_g"):
        readings, notes = converted_values(target, ATTRIBUTES, tuple(conversions), values, UNKNOWN)

        recorded = values[target]
        expected = [] if recorded is UNKNOWN else [recorded]
        explained = []
        for item in CONVERSIONS:
            if item.to != target or values[item.source] is UNKNOWN:
                continue
            converted = item.convert(values[item.source])
            if recorded is UNKNOWN or abs(converted - recorded) > item.tolerance:
                expected.append(converted)
                explained.append(item.source)
        assert set(readings) == set(expected)
        assert len(readings) == len(set(readings))
        if recorded is not UNKNOWN:
            assert readings[0] == recorded
        assert len(notes) == len(explained)
        for source in explained:
            label = ATTRIBUTES[source].label
            assert [note for note in notes if note.startswith(f"{label} {values[source]} ")]
