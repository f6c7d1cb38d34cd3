"""What a caution card says: durations in words, no internal section references, no repeated
monitoring sentences, per-kg doses in mg, and no advice to use a drug the same evaluation rates
avoid or contraindicated."""

from __future__ import annotations

import re

import pytest

from periop.drugs.engine.timeline import duration_text, window_text
from tests.unit.knowledge.conftest import ago, caution_alone, check, condition, patient

HOURS_FIGURE = re.compile(r"\b\d+(\.\d+)?\s?h\b")


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (1, "1 hour"),
        (0.5, "0.5 hours"),
        (24, "24 hours"),
        (72, "72 hours"),
        (240, "10 days"),
        (336, "2 weeks"),
        (2160, "90 days"),
        (4380, "6 months"),
        (8760, "1 year"),
        (17520, "2 years"),
    ],
)
def test_a_duration_is_given_in_words(hours, words):
    assert duration_text(hours) == words


def test_a_window_is_given_in_words():
    assert window_text(0, 24) == "0 to 24 hours"
    assert window_text(24, 72) == "24 to 72 hours"
    assert window_text(72, 17520) == "72 hours to 2 years"
    assert window_text(17520, None) == "from 2 years"


def test_a_burn_of_unknown_onset_names_its_possible_phases_in_words(kb):
    # §4.2, major burn: MO to 24 h, AV to 72 h, CI to 2 years; with an unknown onset every phase
    # is possible, and the assumption names them in words, never as "17520 h".
    evaluation = check(kb, patient(condition("burn", None, tbsa_percent=32)), ["succinylcholine"])

    text = " ".join(evaluation.assumptions)
    assert "72 hours to 2 years" in text
    assert not HOURS_FIGURE.search(text), text


def _user_facing_texts(kb):
    """Every text of the knowledge base that a card or the knowledge-base page shows a clinician:
    each rule's summary, rationale, monitoring, reversal, dose texts and phase summaries, and
    the guidance added to every caution of a kind. (`evidence` is a grade list, not prose.)"""
    for rule in kb.rules:
        yield rule.id, "summary", rule.summary
        yield rule.id, "rationale", rule.rationale
        yield rule.id, "monitoring", rule.monitoring or ""
        yield rule.id, "reversal", rule.reversal or ""
        for position, dose in enumerate(rule.doses, 1):
            yield rule.id, f"dose #{position}", dose.text
        for position, phase in enumerate(rule.phases, 1):
            yield rule.id, f"phase #{position}", phase.summary
    yield "guidance", "neuromuscular_monitoring", kb.guidance.neuromuscular_monitoring.text


def test_no_user_facing_text_names_an_internal_section(kb):
    # "(§11 item 3, grade U)" means nothing to a pharmacist; the grade and the source ids say it.
    found = [(rule, field) for rule, field, text in _user_facing_texts(kb) if "§" in text]

    assert found == []


def test_no_user_facing_text_gives_a_duration_as_bare_hours(kb):
    found = [
        (rule, field, match.group())
        for rule, field, text in _user_facing_texts(kb)
        for match in [HOURS_FIGURE.search(text)]
        if match
    ]

    assert found == []
