"""The check's fast input path gives exactly what `CheckInput` validates, or leaves the body to it.

`CheckInputFastPath` reads plain bodies without DRF's field machinery. It may decline any body
(the serializer then reads it), but a body it accepts must come out as the serializer's
validated data: the same keys in the same order, the same types, the same values (a weight's
Decimal to its exponent, a time's offset). Two properties, on generated bodies:
- whatever the body (valid, invalid, oddly typed), an accepted body is the serializer's;
- a valid body in plain form (JSON types, codes and synonyms as the knowledge base spells them)
  is never declined, so the fast path really serves ordinary checks.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from periop.drugs.engine import RECEPTOR_STATES
from periop.drugs.registry import get_knowledge_base
from periop.drugs.serializers import (
    MAX_DRUGS,
    CheckInput,
    CheckInputFastPath,
    check_input_validate,
)

NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
AT = "2026-11-22T08:00:00+00:00"
SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def same(fast: Any, slow: Any, where: str = "body") -> None:
    """Equal, and alike in type, key order, a Decimal's exponent and a time's offset."""
    assert type(fast) is type(slow), f"{where}: {type(fast)} != {type(slow)}"
    if isinstance(fast, dict):
        assert list(fast) == list(slow), f"{where}: keys {list(fast)} != {list(slow)}"
        for key in fast:
            same(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(fast, list):
        assert len(fast) == len(slow), f"{where}: {len(fast)} items != {len(slow)}"
        for index, (one, other) in enumerate(zip(fast, slow, strict=True)):
            same(one, other, f"{where}[{index}]")
    elif isinstance(fast, Decimal):
        assert fast.as_tuple() == slow.as_tuple(), f"{where}: {fast!r} != {slow!r}"
    elif isinstance(fast, dt.datetime):
        assert (fast, fast.utcoffset()) == (slow, slow.utcoffset()), f"{where}: {fast} != {slow}"
    else:
        assert fast == slow, f"{where}: {fast!r} != {slow!r}"


def serializer_reading(body: Any) -> dict[str, Any] | None:
    serializer = CheckInput(data=copy.deepcopy(body))
    return serializer.validated_data if serializer.is_valid() else None


# --- generated bodies ----------------------------------------------------------------------


def days(start: dt.date, end: dt.date) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=start, max_value=end)


def time_points(before: dt.date) -> st.SearchStrategy[Any]:
    """Dates and offset date-times up to `before` (exclusive), as the contract writes them."""
    return st.one_of(
        days(dt.date(2000, 1, 1), before - dt.timedelta(days=1)).map(dt.date.isoformat),
        st.builds(
            lambda day, hour, offset: f"{day.isoformat()}T{hour:02d}:15:00{offset}",
            days(dt.date(2000, 1, 1), before - dt.timedelta(days=2)),
            st.integers(0, 23),
            st.sampled_from(["+00:00", "+05:30", "-08:00", "Z"]),
        ),
    )


def attribute_values(definition: Any) -> st.SearchStrategy[Any]:
    if definition.type == "boolean":
        return st.booleans()
    if definition.type == "choice":
        return st.sampled_from(definition.choices)
    low = definition.minimum if definition.minimum is not None else -1000
    high = definition.maximum if definition.maximum is not None else 1000
    return st.one_of(
        st.integers(int(-(-low // 1)), int(high // 1)),
        st.floats(low, high, allow_nan=False, allow_infinity=False),
    )


def bad_attribute_values(definition: Any) -> tuple[Any, ...]:
    if definition.type == "boolean":
        return (1, 0, "true", None)
    if definition.type == "choice":
        return ("bogus", "", 1, None, [definition.choices[0]])
    low = definition.minimum if definition.minimum is not None else -1000
    high = definition.maximum if definition.maximum is not None else 1000
    return (low - 1, high + 1, "3", True, None, float("nan"))


def conditions(kb: Any) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def condition(draw: st.DrawFn) -> dict[str, Any]:
        code = draw(st.sampled_from(sorted(kb.conditions)))
        definitions = kb.conditions[code].attributes
        names = (
            draw(st.lists(st.sampled_from(sorted(definitions)), unique=True)) if definitions else []
        )
        attributes = {name: draw(attribute_values(definitions[name])) for name in names}
        item: dict[str, Any] = {"code": code}
        onset = draw(st.none() | time_points(NOW.date() - dt.timedelta(days=2)))
        if onset is not None or draw(st.booleans()):
            item["onset"] = onset
        if onset is not None and draw(st.booleans()):
            item["resolved"] = None
        if attributes or draw(st.booleans()):
            item["attributes"] = attributes
        return item

    return condition()


def synonyms(kb: Any) -> dict[str, list[str]]:
    """Drug code -> every name it is known by (the code among them)."""
    names: dict[str, list[str]] = {}
    for name, code in sorted(kb.index.drug_names.items()):
        names.setdefault(code, []).append(name)
    return names


def planned_drugs(kb: Any) -> st.SearchStrategy[list[str]]:
    by_code = synonyms(kb)

    @st.composite
    def planned(draw: st.DrawFn) -> list[str]:
        known = sorted(by_code)
        codes = draw(st.lists(st.sampled_from(known), min_size=1, max_size=8, unique=True))
        return [draw(st.sampled_from(by_code[code])) for code in codes]

    return planned()


def medications(kb: Any) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def medication(draw: st.DrawFn) -> dict[str, Any]:
        item: dict[str, Any] = {"code": draw(st.sampled_from(sorted(kb.index.drug_names)))}
        started = draw(st.none() | time_points(NOW.date() - dt.timedelta(days=400)))
        if started is not None or draw(st.booleans()):
            item["started"] = started
        if draw(st.booleans()):
            item["stopped"] = None
        return item

    return medication()


def patients() -> st.SearchStrategy[dict[str, Any]]:
    values = {
        "age_years": st.none() | st.integers(0, 130),
        "weight_kg": st.one_of(
            st.none(),
            st.integers(1, 400),
            st.decimals("0.3", "400", places=2).map(float),
            st.decimals("0.3", "400", places=1).map(str),
        ),
        "sex": st.sampled_from([None, "female", "male", "other", "unknown"]),
    }

    @st.composite
    def patient(draw: st.DrawFn) -> dict[str, Any]:
        return {key: draw(value) for key, value in values.items() if draw(st.booleans())}

    return patient()


def valid_bodies(kb: Any) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies the serializer accepts, in plain form (JSON types, names as the knowledge base
    spells them), their keys in any order."""
    optional = {
        "at": st.sampled_from([AT, "2026-11-22T13:30:00+05:30"]),
        "patient": st.none() | patients(),
        "conditions": st.lists(conditions(kb), max_size=4),
        "medications": st.lists(medications(kb), max_size=3),
        "receptor_state": st.sampled_from([None, *RECEPTOR_STATES]),
        "department": st.none() | st.integers(1, 10**6),
    }

    @st.composite
    def body(draw: st.DrawFn) -> dict[str, Any]:
        item = {key: draw(value) for key, value in optional.items() if draw(st.booleans())}
        item["drugs"] = draw(planned_drugs(kb))
        keys = draw(st.permutations(list(item)))
        return {key: item[key] for key in keys}

    return body()


# One defect at a time, so that the rest of the body is valid and an accepting fast path shows.
ODD_TIMES = (
    None,
    5,
    "",
    "2026-13-01",
    "1850-01-01",
    "2026-11-12T14:00:00",
    "2026-11-12 14:00:00+00:00",
    " 2024-05-01",
    "2026-12-25",
    "2026-12-25T10:00:00+00:00",
    [],
)
ODD_NAMES = ("", " rocuronium", "rocuronium ", "Rocuronium", "no-such-drug", None, 5, True, [])
TOP_DEFECTS: dict[str, tuple[Any, ...]] = {
    "at": (None, "2026-11-22", "2026-11-22T08:00:00", 5, "1800-01-01T00:00:00Z"),
    "patient": ("adult", [], 62),
    "conditions": (None, {}, "myasthenia-gravis", [{"code": "stroke"}] * 51),
    "medications": (None, "pyridostigmine", [{"code": "neostigmine"}] * 51),
    "receptor_state": ("sideways", "", 1, "UP", True, ["up"]),
    "department": (0, -1, "1", True, 1.0, 2**70),
    "drugs": (None, [], "rocuronium", ["rocuronium"] * (MAX_DRUGS + 1), {"rocuronium": 1}),
    "notes": ("an unknown field",),
}
PATIENT_DEFECTS: dict[str, tuple[Any, ...]] = {
    "age_years": (-1, 131, "34", 34.0, 34.5, True, 2**70),
    "weight_kg": (0, 401, -62, 0.2, 400.01, 62.123, "", "sixty", True, float("inf"), []),
    "sex": ("F", "", 1, True, ["female"]),
    "height_cm": (170,),
}


CONDITION_DEFECTS = (
    "code",
    "onset",
    "resolved",
    "order",
    "after the planned time",
    "attributes",
    "unknown attribute",
    "attribute value",
    "extra",
)
MEDICATION_DEFECTS = ("code", "started", "stopped", "order", "extra")
DEFECTS = (
    [("top", key) for key in TOP_DEFECTS]
    + [("top", "no drugs"), ("drugs", "again"), ("drugs", "odd")]
    + [("patient", key) for key in PATIENT_DEFECTS]
    + [("condition", kind) for kind in CONDITION_DEFECTS]
    + [("medication", kind) for kind in MEDICATION_DEFECTS]
)


def add_defect(
    kb: Any, body: dict[str, Any], place: str, kind: str, pick: Callable[[Sequence[Any]], Any]
) -> None:
    """Gives `body` one defect of this kind; `pick` chooses among the ways to do it."""
    if place == "top":
        if kind == "no drugs":
            del body["drugs"]
        else:
            body[kind] = pick(TOP_DEFECTS[kind])
    elif place == "patient":
        if not isinstance(body.get("patient"), dict):
            body["patient"] = {}
        body["patient"][kind] = pick(PATIENT_DEFECTS[kind])
    elif place == "drugs":
        drugs = body["drugs"]
        if kind == "again":  # the same drug, maybe by another name
            name = pick(synonyms(kb)[kb.index.drug_names[drugs[0]]])
        else:
            name = pick(ODD_NAMES)
        drugs.insert(pick(range(len(drugs) + 1)), name)
    elif place == "condition":
        condition = pick(body["conditions"])
        definitions = kb.conditions[condition["code"]].attributes
        if kind == "code":
            code = condition["code"]
            condition["code"] = pick([" " + code, code.upper(), "no-such", None, 7])
        elif kind in ("onset", "resolved"):
            condition[kind] = pick(ODD_TIMES)
        elif kind == "order":
            condition["onset"], condition["resolved"] = "2010-01-01", "2001-01-01"
        elif kind == "after the planned time":
            later = ["2026-12-25", "2026-11-24", "2026-11-22T08:30:00+00:00"]
            condition["onset"] = pick(later)
        elif kind == "attributes":
            condition["attributes"] = pick([None, ["antibody"], "achr"])
        elif kind == "unknown attribute" or not definitions:
            condition.setdefault("attributes", {})["no_such_attribute"] = True
        elif kind == "attribute value":
            name = pick(sorted(definitions))
            condition.setdefault("attributes", {})[name] = pick(
                bad_attribute_values(definitions[name])
            )
        else:
            condition["severity"] = "mild"
    else:
        medication = pick(body["medications"])
        if kind == "code":
            medication["code"] = pick(ODD_NAMES)
        elif kind in ("started", "stopped"):
            medication[kind] = pick(ODD_TIMES)
        elif kind == "order":
            medication["started"], medication["stopped"] = "2026-01-02", "2025-01-01"
        else:
            medication["dose"] = "60 mg"


@st.composite
def with_one_defect(draw: st.DrawFn, kb: Any) -> dict[str, Any]:
    """A valid body with one defect (each kind of defect as likely as another)."""
    body = copy.deepcopy(draw(valid_bodies(kb)))
    place, kind = draw(st.sampled_from(DEFECTS))
    if place == "condition" and not body.get("conditions"):
        body["conditions"] = [draw(conditions(kb))]
    if place == "medication" and not body.get("medications"):
        body["medications"] = [draw(medications(kb))]
    add_defect(kb, body, place, kind, lambda options: draw(st.sampled_from(options)))
    return body


EXAMPLE = {
    "at": AT,
    "patient": {"age_years": 34, "weight_kg": 62, "sex": "female"},
    "conditions": [
        {
            "code": "myasthenia-gravis",
            "onset": "2024-05-01",
            "attributes": {"antibody": "achr", "distribution": "generalized"},
        },
        {"code": "stroke", "onset": "2026-11-12T14:00:00+00:00", "resolved": None},
    ],
    "medications": [{"code": "pyridostigmine", "started": "2024-05-03", "stopped": None}],
    "receptor_state": None,
    "drugs": ["succinylcholine", "rocuronium", "sugammadex", "neostigmine", "gentamicin"],
    "department": 3,
}


def every_single_defect(kb: Any) -> Iterator[dict[str, Any]]:
    """The contract's example with each defect in turn, every way of giving it (the n-th way of
    each choice for n up to the longest list of ways)."""
    for place, kind in DEFECTS:
        for n in range(12):
            body = copy.deepcopy(EXAMPLE)
            add_defect(kb, body, place, kind, lambda options, n=n: list(options)[n % len(options)])
            yield body


# --- the properties ------------------------------------------------------------------------


@pytest.fixture
def fast_path(db):
    return CheckInputFastPath(CheckInput(), get_knowledge_base())


@pytest.mark.django_db
@SETTINGS
@given(data=st.data())
def test_a_body_the_fast_path_accepts_is_validated_as_the_serializer_validates_it(fast_path, data):
    kb = fast_path.knowledge_base
    body = data.draw(st.one_of(with_one_defect(kb), valid_bodies(kb).map(lambda body: [body])))
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        fast = fast_path.read(copy.deepcopy(body))
        slow = serializer_reading(body)
    if fast is not None:
        assert slow is not None, f"the serializer refuses what the fast path accepted: {body}"
        same(fast, slow)


@pytest.mark.django_db
def test_every_single_defect_of_the_contracts_example_is_read_as_the_serializer_reads_it(
    fast_path,
):
    accepted = refused = 0
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        assert fast_path.read(copy.deepcopy(EXAMPLE)) is not None
        for body in every_single_defect(fast_path.knowledge_base):
            fast = fast_path.read(copy.deepcopy(body))
            slow = serializer_reading(body)
            if slow is None:
                refused += 1
            if fast is not None:
                accepted += 1
                assert slow is not None, (
                    f"the serializer refuses what the fast path accepted: {body}"
                )
                same(fast, slow)
    assert refused > 250
    assert accepted >= 10  # some defects are not: a null onset, an ongoing medication


@pytest.mark.django_db
@SETTINGS
@given(data=st.data())
def test_a_valid_body_in_plain_form_is_never_left_to_the_serializer(fast_path, data):
    body = data.draw(valid_bodies(fast_path.knowledge_base))
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        slow = serializer_reading(body)
        fast = fast_path.read(copy.deepcopy(body))
    assert slow is not None, f"a body meant to be valid is refused: {body}"
    assert fast is not None, f"the fast path declined a valid body: {body}"
    same(fast, slow)


@pytest.mark.django_db
def test_the_fast_path_leaves_the_body_as_it_was(fast_path):
    body = {
        "at": AT,
        "patient": {"weight_kg": 62},
        "conditions": [{"code": "myasthenia-gravis", "attributes": {"antibody": "achr"}}],
        "medications": [{"code": "suxamethonium", "started": "2024-05-03"}],
        "drugs": ["rocuronium-bromide", "sugammadex"],
    }
    before = copy.deepcopy(body)
    validated = fast_path.read(body)

    assert validated is not None
    assert body == before
    assert validated["drugs"] == ["rocuronium", "sugammadex"]
    assert validated["medications"][0]["code"] == "succinylcholine"
    assert validated["patient"]["weight_kg"].as_tuple() == Decimal("62.00").as_tuple()
    validated["conditions"][0]["attributes"]["antibody"] = "musk"
    assert body["conditions"][0]["attributes"] == {"antibody": "achr"}


@pytest.mark.django_db
def test_a_declined_body_still_gets_the_serializers_field_messages():
    body = {"drugs": ["rocuronium", "rocuronium-bromide"], "department": "1"}
    with pytest.raises(ValidationError) as raised:
        check_input_validate(body)
    assert set(raised.value.detail) == {"drugs"}
    assert "listed more than once" in str(raised.value.detail["drugs"][0])


@pytest.mark.django_db
def test_the_fast_path_follows_the_active_knowledge_base(monkeypatch):
    check_input_validate({"at": AT, "drugs": ["rocuronium"]})
    seen: list[Any] = []
    original = CheckInputFastPath.__init__

    def recording(self, validator, knowledge_base):
        seen.append(knowledge_base)
        original(self, validator, knowledge_base)

    monkeypatch.setattr(CheckInputFastPath, "__init__", recording)
    check_input_validate({"at": AT, "drugs": ["rocuronium"]})
    assert seen == []  # the same release: the reader built for it is kept

    kb = get_knowledge_base()
    other = copy.copy(kb)
    monkeypatch.setattr("periop.drugs.serializers.get_knowledge_base", lambda: other)
    check_input_validate({"at": AT, "drugs": ["rocuronium"]})
    assert seen == [other]
