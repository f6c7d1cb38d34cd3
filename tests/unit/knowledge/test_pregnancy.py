"""Vocabulary v1.1: pregnancy and the post-partum period (clinical-reference.md §12.2)."""

from __future__ import annotations

import pytest

from tests.unit.knowledge.conftest import (
    MONITOR,
    NONE,
    ago,
    caution_alone,
    condition,
    patient,
)


def delivered(days: float):
    return patient(condition("postpartum", ago(days=days)))


# §12.2: SUX post-partum MO PROLONG (A: S103, S104, S105); MIVA MO PROLONG (A: S106);
# rocuronium (A: S108) and vecuronium (A: S109) MO PROLONG.
@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium", "rocuronium", "vecuronium"])
@pytest.mark.parametrize("days", [1, 3, 20, 55])
def test_post_partum_prolongs_the_enzyme_and_aminosteroid_blockers(kb, drug, days):
    caution = caution_alone(kb, delivered(days), drug)

    assert (caution.level, caution.effects) == (MONITOR, ("prolonged",))


# §12.2: atracurium is unchanged post-partum (A: S107, S109): NO.
def test_post_partum_does_not_caution_atracurium(kb):
    assert caution_alone(kb, delivered(2), "atracurium").level == NONE


# §12.2: the enzyme is back within 6-8 weeks (B: S71); after 8 weeks nothing applies
# (design choice, §12.11 item 15).
@pytest.mark.parametrize("drug", ["succinylcholine", "mivacurium", "rocuronium"])
def test_post_partum_cautions_end_eight_weeks_after_delivery(kb, drug):
    assert caution_alone(kb, delivered(57), drug).level == NONE


# §12.2: term pregnancy does not prolong SUX (A: S103): NO.
def test_pregnancy_does_not_caution_succinylcholine(kb):
    state = patient(condition("pregnancy", ago(days=270), gestation_weeks=39))

    assert caution_alone(kb, state, "succinylcholine").level == NONE


# §12.2: MIVA at term MO SENS+/PROLONG (A: S107); rocuronium in the second trimester MO PROLONG
# (A: S110).
@pytest.mark.parametrize(
    ("drug", "effects"),
    [
        ("mivacurium", ("increased_sensitivity", "prolonged")),
        ("rocuronium", ("prolonged",)),
    ],
)
def test_pregnancy_cautions_mivacurium_and_rocuronium(kb, drug, effects):
    state = patient(condition("pregnancy", ago(days=150), gestation_weeks=21))

    caution = caution_alone(kb, state, drug)

    assert (caution.level, caution.effects) == (MONITOR, effects)
