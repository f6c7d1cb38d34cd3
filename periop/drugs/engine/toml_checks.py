"""The vocabularies and structural checks of the knowledge-base TOML files.

`Entry` checks one value's shape (a table, a non-empty string, a choice from a vocabulary) and
names the file and entry in every `KnowledgeBaseError`; `KnowledgeFiles` reads the files and
computes the digest of what it read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from periop.drugs.engine.knowledge import Reference, is_number, show
from periop.drugs.engine.types import KnowledgeBaseError, Level

# The vocabularies of fixtures/knowledge/README.md.
DRUG_CLASSES = (
    "depolarizing-blocker",
    "nondepolarizing-blocker",
    "antibiotic",
    "magnesium",
    "reversal-agent",
    "chronic-nmj-drug",
    "anticonvulsant",
    "calcium-channel-blocker",
    # Vocabulary v1.1 (clinical-reference.md §12).
    "volatile-anesthetic",
    "mood-stabilizer",
    "beta-blocker",
    "antimalarial",
    "antiarrhythmic",
    "botulinum-toxin",
    "statin",
    "immune-checkpoint-inhibitor",
    "cholinesterase-inhibitor",
    "hormonal-contraceptive",
    "antiestrogen",
)
MECHANISM_SITES = (
    "presynaptic",
    "synaptic",
    "postsynaptic",
    "receptor-regulation",
    "muscle",
    "nerve",
    "cns",
    "plasma-enzyme",
    "mixed",
    "none",
)
RECEPTOR_EFFECTS = ("up", "down", "none")
PHASE_STATUSES = ("any", "ongoing", "resolved")
CONDITION_STATUSES = ("active", "any")
DEMOGRAPHICS = ("age", "sex", "weight")
LEVEL_CODES = tuple(level.code for level in sorted(Level, reverse=True))
RULE_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
VERSION_PATTERN = re.compile(r"\d{4}\.(?:0?[1-9]|1[0-2])\.\d+")

Table = dict[str, Any]


class Entry:
    """Where in the knowledge base a value comes from; every check failure names it."""

    def __init__(self, path: str, entry: str) -> None:
        self.path = path
        self.entry = entry

    def at(self, entry: str) -> Entry:
        return Entry(self.path, entry)

    def fail(self, message: str) -> NoReturn:
        raise KnowledgeBaseError(self.path, self.entry, message)

    def keys(self, table: Table, allowed: Collection[str], required: Collection[str]) -> None:
        for key in table:
            if key not in allowed:
                self.fail(f"unknown key '{key}' (allowed: {', '.join(allowed)}).")
        for key in required:
            if key not in table:
                self.fail(f"missing required key '{key}'.")

    def table(self, value: object, what: str) -> Table:
        if not isinstance(value, dict):
            self.fail(f"{what} must be a table, not {show(value)}.")
        return value

    def tables(self, value: object, what: str) -> list[Table]:
        if not isinstance(value, list):
            self.fail(f"{what} must be an array of tables, not {show(value)}.")
        return [self.table(item, what) for item in value]

    def identify(self, table: Table, kind: str, position: int, key: str = "id") -> Entry:
        """The entry named by its id once it has a valid one, else by its position."""
        value = table.get(key)
        valid = isinstance(value, str) and value.strip()
        return self.at(f"{kind} '{value}'" if valid else f"{kind} #{position}")

    def text(self, table: Table, key: str) -> str:
        value = table[key] if key in table else self.fail(f"missing required key '{key}'.")
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{key} must be a non-empty string, not {show(value)}.")
        return value

    def optional_text(self, table: Table, key: str) -> str | None:
        return self.text(table, key) if key in table else None

    def texts(self, table: Table, key: str, nonempty: bool = False) -> tuple[str, ...]:
        values = table.get(key, [])
        if not isinstance(values, list) or not all(
            isinstance(value, str) and value for value in values
        ):
            self.fail(f"{key} must be a list of non-empty strings, not {show(values)}.")
        if nonempty and not values:
            self.fail(f"{key} must not be empty.")
        return tuple(values)

    def choice(self, table: Table, key: str, allowed: tuple[str, ...], default: str = "") -> str:
        value = table.get(key, default) if default else self.text(table, key)
        if value not in allowed:
            self.fail(f"{key} {show(value)} is not one of {', '.join(allowed)}.")
        return str(value)

    def choices(
        self, table: Table, key: str, allowed: Collection[str], unknown: str = ""
    ) -> tuple[str, ...]:
        """A list of strings from `allowed`; `unknown` names what an entry outside it would be."""
        values = self.texts(table, key)
        for value in values:
            if value not in allowed:
                if unknown:
                    self.fail(f"{key}: unknown {unknown} {show(value)}.")
                self.fail(f"{key}: {show(value)} is not one of {', '.join(allowed)}.")
        return values

    def flag(self, table: Table, key: str) -> bool:
        value = table.get(key, False)
        if type(value) is not bool:
            self.fail(f"{key} must be true or false, not {show(value)}.")
        return value

    def number(self, table: Table, key: str, minimum: float | None = None) -> int | float:
        value = table[key]
        if not is_number(value) or isinstance(value, Decimal):
            self.fail(f"{key} must be a number, not {show(value)}.")
        if minimum is not None and value < minimum:
            self.fail(f"{key} {show(value)} must not be below {minimum}.")
        return value

    def date(self, table: Table, key: str) -> dt.date:
        value = table[key]
        if type(value) is not dt.date:
            self.fail(f"{key} must be a TOML date such as 2026-11-22, not {show(value)}.")
        return value

    def decimal(self, value: object, what: str) -> Decimal:
        # Doses are decimals written as strings so that no binary float ever rounds them.
        if type(value) is not str and type(value) is not int:
            self.fail(f'{what} must be a decimal written as a string such as "0.5", not {value!r}.')
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(f"{what} {show(value)} is not a decimal number.")
        if not number.is_finite() or number < 0:
            self.fail(f"{what} {show(value)} must be a finite number of at least 0.")
        return number

    def references(
        self, table: Table, key: str, known: Mapping[str, Reference], nonempty: bool
    ) -> tuple[str, ...]:
        values = self.texts(table, key, nonempty=nonempty)
        for value in values:
            if value not in known:
                self.fail(f"unknown reference id '{value}' (not in references.toml).")
        return values


class KnowledgeFiles:
    """The files read so far, parsed, keyed by their path inside the knowledge-base directory.

    The files come from a directory, or from `texts` (path -> TOML text): a release stored as
    data reads exactly as the directory it was imported from, and has the same digest."""

    def __init__(
        self, directory: Path, texts: Mapping[str, str] | None = None, label: str | None = None
    ) -> None:
        self.directory = directory
        self.texts = texts
        self.label = label or directory.name
        self.documents: dict[str, Table] = {}

    def display(self, relative: str) -> str:
        return f"{self.label}/{relative}"

    def exists(self, relative: str) -> bool:
        if self.texts is not None:
            return relative in self.texts
        return (self.directory / relative).is_file()

    def has_rules(self) -> bool:
        if self.texts is not None:
            return any(name.startswith("rules/") for name in self.texts)
        return (self.directory / "rules").is_dir()

    def rule_files(self) -> list[str]:
        """The rule files' paths, in sorted order."""
        if self.texts is not None:
            return sorted(
                name
                for name in self.texts
                if name.startswith("rules/") and name.endswith(".toml") and name.count("/") == 1
            )
        return [f"rules/{path.name}" for path in sorted((self.directory / "rules").glob("*.toml"))]

    def read(self, relative: str) -> tuple[Table, Entry]:
        entry = Entry(self.display(relative), "")
        try:
            if self.texts is not None:
                if relative not in self.texts:
                    raise FileNotFoundError(relative)
                document = tomllib.loads(self.texts[relative])
            else:
                with (self.directory / relative).open("rb") as handle:
                    document = tomllib.load(handle)
        except FileNotFoundError:
            entry.fail("the file is missing.")
        except OSError as error:
            entry.fail(f"the file cannot be read: {error.strerror}.")
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            entry.fail(f"not valid TOML: {error}.")
        self.documents[relative] = document
        return document, entry

    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(canonical_json(self.documents).encode()).hexdigest()


def canonical_json(value: object) -> str:
    """Sorted-key, compact JSON; dates as ISO 8601 and decimals as strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )


def _json_value(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"Cannot serialise {value!r}.")
