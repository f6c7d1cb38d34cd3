"""A loaded knowledge base is read-only: every request and thread shares one, so no code may
change a rule, a phase, a dose or a reference in place."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator, Mapping

import pytest

from periop.drugs.engine import knowledge, load_knowledge_base
from periop.drugs.engine.types import Level
from tests.unit.knowledge.conftest import KNOWLEDGE_DIRECTORY

DECLARED = {
    cls
    for _, cls in inspect.getmembers(knowledge, inspect.isclass)
    if dataclasses.is_dataclass(cls) and cls.__module__ == knowledge.__name__
}


def reachable(value: object, seen: set[int]) -> Iterator[object]:
    """Every object reachable from `value` through dataclass fields, mappings and sequences."""
    if id(value) in seen or isinstance(value, str | bytes | int | float):
        return
    seen.add(id(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield value
        for item in dataclasses.fields(value):
            yield from reachable(getattr(value, item.name), seen)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from reachable(item, seen)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            yield from reachable(item, seen)


@pytest.fixture(scope="module")
def one_of_each_type() -> dict[type, object]:
    """An instance of each type reachable from the shipped release, loaded once when used."""
    found: dict[type, object] = {}
    for value in reachable(load_knowledge_base(KNOWLEDGE_DIRECTORY), set()):
        found.setdefault(type(value), value)
    return found


def test_the_shipped_knowledge_base_holds_every_type_the_knowledge_module_declares(
    one_of_each_type: dict[type, object],
):
    # So that the test below reaches each of them.
    assert set(one_of_each_type) >= DECLARED, DECLARED - set(one_of_each_type)


@pytest.mark.parametrize(
    "cls", sorted(DECLARED, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__
)
def test_no_field_of_a_loaded_knowledge_base_can_be_changed(
    one_of_each_type: dict[type, object], cls: type
):
    instance = one_of_each_type[cls]
    name = dataclasses.fields(instance)[0].name  # type: ignore[arg-type]

    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, name, getattr(instance, name))


def test_a_knowledge_base_is_itself_only_and_can_key_a_cache():
    # Caches of what a release shows are keyed by the knowledge base itself (the catalogue),
    # and two loads are two objects even when their files are the same.
    first = load_knowledge_base(KNOWLEDGE_DIRECTORY)
    second = load_knowledge_base(KNOWLEDGE_DIRECTORY)

    assert first.digest == second.digest
    assert first != second
    assert {first: "first", second: "second"}[first] == "first"


@pytest.mark.parametrize("value", ["12", True, None, float("nan")], ids=repr)
def test_a_number_constraint_never_allows_what_is_not_a_number(value: object):
    # Input is checked before matching; this holds even for a value that slipped past.
    constraint = knowledge.AttributeConstraint(minimum=10, maximum=20)

    assert constraint.allows(12)
    assert not constraint.allows(value)


@pytest.mark.parametrize("level", list(Level))
def test_a_levels_code_is_its_name_in_lower_case_and_reads_back(level: Level):
    assert level.code == level.name.lower()
    assert Level.from_code(level.code) is level
