"""kept_on: what a request computes about one object (an assessment's plan, its stored
evaluation), once per object and key."""

from __future__ import annotations

from periop.assessments.services.common import kept_on


class Record:
    pass


def test_it_computes_once_per_key_and_object():
    calls: list[str] = []

    def compute(label: str):
        def run() -> str:
            calls.append(label)
            return f"{label}-result"

        return run

    first, second = Record(), Record()

    assert kept_on(first, "_memo", "a", compute("a")) == "a-result"
    assert kept_on(first, "_memo", "a", compute("a again")) == "a-result"
    assert kept_on(first, "_memo", "b", compute("b")) == "b-result"
    assert kept_on(first, "_other", "a", compute("other")) == "other-result"
    assert kept_on(second, "_memo", "a", compute("second")) == "second-result"
    assert calls == ["a", "b", "other", "second"]


def test_a_result_of_none_is_kept_too():
    calls: list[int] = []

    def compute() -> None:
        calls.append(1)

    first = Record()
    kept_on(first, "_memo", None, compute)
    kept_on(first, "_memo", None, compute)

    assert calls == [1]
