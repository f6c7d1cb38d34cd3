"""The JSON rules every body is read by (`periop.parsers.json_body`): the fast reading refuses
exactly what walking every string and container of the parsed value refuses, on any JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from periop.parsers import json_body

LIMIT = 4

# Text with lone surrogates now and then (category Cs), and the characters JSON escapes.
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.characters(categories=["Cs"]),
        st.sampled_from('"\\[]{}'),
    ),
    max_size=6,
)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=25,
)


def refused_by_walking(value, limit: int) -> bool:
    """Every string (key or value) and every container visited, depth counted per container."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict | list):
            if depth > limit:
                return True
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def refused(raw: bytes, limit: int) -> bool:
    try:
        json_body(raw, max_depth=limit)
    except ValueError:
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_fast_reading_refuses_what_walking_refuses(value):
    raw = json.dumps(value).encode()

    assert refused(raw, LIMIT) == refused_by_walking(json.loads(raw), LIMIT)


@settings(max_examples=200, deadline=None)
@given(values)
def test_what_is_accepted_is_read_as_json_reads_it(value):
    raw = json.dumps(value).encode()
    if not refused(raw, LIMIT):
        assert json_body(raw, max_depth=LIMIT) == json.loads(raw)


@pytest.mark.parametrize(
    ("text", "refused_as"),
    [
        ("[[[[1]]]]", None),
        ("[[[[[1]]]]]", "nested more than 4"),
        ('{"a": {"b": {"c": {"d": 1}}}}', None),
        ('{"a": {"b": {"c": {"d": {}}}}}', "nested more than 4"),
        # Brackets in strings are text, escaped quotes too.
        ('["[[[[[[", "\\"]]]]]"]', None),
        ('"\\ud83d\\ude00"', None),
        ('"\\ud83d"', "surrogate"),
        ('{"\\uDFFF": 1}', "surrogate"),
        ('"\\\\ud800"', None),
        ("[NaN]", "NaN is not JSON"),
        ("[-Infinity]", "-Infinity is not JSON"),
        ("[" * 5_000 + "]" * 5_000, "nested more than 4"),
        ("{'a': 1}", "Expecting property name"),
    ],
)
def test_examples(text, refused_as):
    if refused_as is None:
        assert json_body(text.encode(), max_depth=LIMIT) == json.loads(text)
    else:
        with pytest.raises(ValueError, match=refused_as):
            json_body(text.encode(), max_depth=LIMIT)


def test_bytes_that_are_not_utf_8_are_refused():
    """UTF-8 encodes no surrogate: one written in those bytes is refused with the decoding."""
    with pytest.raises(ValueError, match="utf-8"):
        json_body(b'["\xed\xa0\x80"]')
    with pytest.raises(ValueError, match="utf-8"):
        json_body(b"\xff\xfe[]")


def test_a_charset_that_decodes_to_a_surrogate_is_still_refused():
    """A request may name its charset: whatever it decodes to, a lone surrogate is refused."""
    with pytest.raises(ValueError, match="surrogate"):
        json_body(b'["\\ud800"]', encoding="unicode_escape")
