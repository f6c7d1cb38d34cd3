"""What a caution card says, once every finding has contributed: advice joined without repeats,
and no advice to use a drug that the same evaluation rates avoid or contraindicated.

Sentences are split at a full stop, question or exclamation mark followed by a capital, digit or
bracket; clauses at a semicolon. Both are plain-text conventions of the knowledge base's texts.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Sequence

from periop.drugs.engine.knowledge import KnowledgeBase
from periop.drugs.engine.matching import remember
from periop.drugs.engine.types import DrugCaution, Finding, Level

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"])")
_CLAUSE_END = re.compile(r";\s+")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# Words in a drug's bracketed name that say how it is given, not what it is called.
_ROUTE_WORDS = frozenset({"intravenous", "oral", "intramuscular"})
# How the knowledge base's texts recommend a drug ({drug} is its name): "prefer sugammadex"
# (but not "do not give succinylcholine"), "sugammadex preferred", "neostigmine is a reasonable
# alternative", "reverse ... with sugammadex", and a clause that opens with the drug
# ("Sugammadex after rocuronium").
_RECOMMENDING = (
    r"(?<!not )(?<!never )(?<!n't )\b(?:prefer|use|give|choose|switch to)\s+{drug}\b",
    r"\b{drug}\s+(?:is\s+)?(?:the\s+)?(?:preferred|preferable)\b",
    r"\b{drug}\s+is\s+(?:a|the)\s+(?:reasonable\s+)?alternative\b",
    r"\breverse\b[^;]*\bwith\s+{drug}\b",
    r"^{drug}\s+(?:after|for)\b",
)


def sentences(text: str) -> list[str]:
    """The sentences of a text, stripped."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def _normal(sentence: str) -> str:
    lowered = sentence.lower().replace("train-of-four", "tof")
    return " ".join(_NOT_WORD.split(lowered)).strip()


def unrepeated(texts: Iterable[str]) -> str:
    """The texts joined, each sentence once: a sentence that repeats another, or whose words all
    stand in that order inside a longer one ("Confirm a TOF ratio of at least 0.9 before
    extubation" inside the monitoring guidance), is left out."""
    return _unrepeated(tuple(texts))


# The texts come from the knowledge base, so the same few combinations recur across
# evaluations: remembering them keeps evaluation as fast as before.
@functools.lru_cache(maxsize=4096)
def _unrepeated(texts: tuple[str, ...]) -> str:
    found = [sentence for text in texts for sentence in sentences(text)]
    normal = [_normal(sentence) for sentence in found]
    kept = []
    for position, sentence in enumerate(found):
        mine = normal[position]
        repeated = any(
            (other == mine and earlier < position) or (other != mine and _says(other, mine))
            for earlier, other in enumerate(normal)
        )
        if not repeated:
            kept.append(sentence)
    return " ".join(kept)


_NEGATIONS = frozenset({"not", "never", "no", "avoid", "without"})


def _says(longer: str, shorter: str) -> bool:
    """Whether the longer sentence says all the shorter one does: its words stand there in
    order, and not under a negation ("give x" is not said by "do not give x")."""
    padded = f" {longer} "
    start = padded.find(f" {shorter} ")
    while start != -1:
        before = padded[:start].split()
        if not before or before[-1] not in _NEGATIONS:
            return True
        start = padded.find(f" {shorter} ", start + 1)
    return False


def drug_names(kb: KnowledgeBase, code: str) -> tuple[str, ...]:
    """The names a text may call a drug by: its code in words, its name without the bracket, and
    a bracketed synonym ("suxamethonium"), never a route ("intravenous")."""
    name = kb.drugs[code].name
    bare = re.sub(r"\s*\([^)]*\)", "", name).strip()
    names = {code.replace("-", " ").lower(), bare.lower()}
    for inner in re.findall(r"\(([^)]*)\)", name):
        if inner.strip().lower() not in _ROUTE_WORDS:
            names.add(inner.strip().lower())
    return tuple(sorted(names, key=len, reverse=True))


@functools.lru_cache(maxsize=256)
def _recommending(names: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for every way of recommending the drug of these names."""
    drug = "(?:" + "|".join(re.escape(name).replace(r"\ ", r"\s+") for name in names) + ")"
    return re.compile(
        "|".join(f"(?:{pattern.format(drug=drug)})" for pattern in _RECOMMENDING), re.IGNORECASE
    )


def recommends(clause: str, names: Sequence[str]) -> bool:
    """Whether a clause advises using the drug of these names."""
    lowered = clause.lower()
    if not any(name in lowered for name in names):
        return False  # the usual case, decided without a regular expression
    pattern = _recommending(tuple(names))
    # A clause may open with a label ("Lambert-Eaton syndrome: sugammadex for rocuronium").
    _, colon, labelled = clause.partition(": ")
    return pattern.search(clause) is not None or bool(colon and pattern.search(labelled))


@functools.lru_cache(maxsize=8192)
def _without(text: str, names: tuple[str, ...]) -> str:
    """The text with every clause that recommends the drug left out."""
    lowered = text.lower()
    if not any(name in lowered for name in names):
        return text
    kept_sentences = []
    for sentence in sentences(text):
        end = sentence[-1] if sentence[-1] in ".!?" else "."
        body = sentence[:-1] if sentence[-1] in ".!?" else sentence
        clauses = []
        label = ""  # "Myasthenia gravis" of a left-out "Myasthenia gravis: prefer ..." clause
        for clause in _CLAUSE_END.split(body):
            if not recommends(clause, names):
                clauses.append(f"{label}: {clause}" if label else clause)
                label = ""
                continue
            head, colon, rest = clause.partition(": ")
            if colon and rest and not recommends(head, names) and not label:
                label = head
        if clauses:
            joined = "; ".join(clauses)
            kept_sentences.append(joined[:1].upper() + joined[1:] + end)
    return " ".join(kept_sentences)


def rated_out_note(kb: KnowledgeBase, code: str, level: Level) -> str:
    """What a card says where advice to use a rated-out drug was left out."""
    name = kb.drugs[code].name
    return f"{name} is rated {level.code} in this evaluation, so advice to use it is left out."


def without_rated_out_advice(
    cautions: tuple[DrugCaution, ...], kb: KnowledgeBase
) -> tuple[DrugCaution, ...]:
    """The cautions with no advice to use a drug that this evaluation rates avoid or
    contraindicated: such a clause is left out of the card's summary, what to do instead,
    monitoring, reversal and dose text, and of each finding's summary, and the changed card
    text says which drug was left out and why. This holds for the rated-out drug's own card too:
    a milder finding's "sugammadex is the preferred reversal" never sits under its avoid."""
    rated_out = tuple(
        (caution.drug, caution.level) for caution in cautions if caution.level >= Level.AVOID
    )
    if not rated_out:
        return cautions
    editors = kb.index.editor_memo
    edit = editors.get(rated_out)
    if edit is None:
        edit = CardEditor(kb, rated_out)
        remember(editors, rated_out, edit, _EDITORS)
    return tuple(edit.card(caution) for caution in cautions)


# Editors per knowledge base, and cards and texts remembered per editor: each cleared when full,
# so that a long-running server's memory stays bounded whatever plans it sees (at most 64
# editors of 512 cards and 512 texts each; usual plans need a few editors of a few dozen cards).
_EDITORS = 64
_EDITED = 512


class CardEditor:
    """Leaves advice to use the rated-out drugs out of a text, each drug in the order given, and
    says which drug was left out and why. A pure function of the text for one knowledge base and
    one set of rated-out drugs, so the texts it edited are remembered: card texts come from the
    knowledge base, and the same ones recur across evaluations."""

    __slots__ = ("_cards", "_edited", "_names", "_notes")

    def __init__(self, kb: KnowledgeBase, rated_out: tuple[tuple[str, Level], ...]) -> None:
        self._names = tuple(drug_names(kb, code) for code, _ in rated_out)
        self._notes = tuple(rated_out_note(kb, code, level) for code, level in rated_out)
        self._edited: dict[tuple[str, bool], str] = {}
        # Cards edited, by the identity of the card as given: the evaluation reuses its cards
        # across patients (evaluate.py). Each entry holds the card itself, so its identity
        # cannot pass to another object while the entry lasts.
        self._cards: dict[int, tuple[DrugCaution, DrugCaution]] = {}

    def card(self, caution: DrugCaution) -> DrugCaution:
        """The card with every advice to use a rated-out drug left out (`_card_without`)."""
        found = self._cards.get(id(caution))
        if found is not None and found[0] is caution:
            return found[1]
        edited = _card_without(caution, self)
        remember(self._cards, id(caution), (caution, edited), _EDITED)
        return edited

    def __call__(self, text: str, with_note: bool = True) -> str:
        if not text:
            return text
        key = (text, with_note)
        edited = self._edited.get(key)
        if edited is None:
            edited = self._edit(text, with_note)
            remember(self._edited, key, edited, _EDITED)
        return edited

    def _edit(self, text: str, with_note: bool) -> str:
        notes = []
        for names, note in zip(self._names, self._notes, strict=True):
            shorter = _without(text, names)
            if shorter != text:
                text = shorter
                notes.append(note)
        if not notes or not with_note:
            return text or " ".join(notes)
        return " ".join([text, *notes]) if text else " ".join(notes)


def _card_without(caution: DrugCaution, edited: CardEditor) -> DrugCaution:
    changes: dict[str, object] = {}
    for field in ("summary", "instead", "monitoring", "reversal"):
        before = getattr(caution, field)
        after = edited(before)
        if after != before:
            changes[field] = after
    if caution.dose is not None:
        text = edited(caution.dose.text)
        if text != caution.dose.text:
            changes["dose"] = dataclasses.replace(caution.dose, text=text)
    findings: list[Finding] = []
    for finding in caution.findings:
        summary = edited(finding.summary, with_note=False)
        findings.append(
            finding if summary == finding.summary else dataclasses.replace(finding, summary=summary)
        )
    if any(new is not old for new, old in zip(findings, caution.findings, strict=True)):
        changes["findings"] = tuple(findings)
    return dataclasses.replace(caution, **changes) if changes else caution  # type: ignore[arg-type]
