"""The API's JSON parser, and the same rules for the CDS Hooks endpoints, which read their bodies
themselves. Its own module: DRF reads its parser setting while importing its views, so the
parser cannot live beside the API conventions, which import those views."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions, parsers

# No request of this API nests deeper than a few levels (a condition's attributes inside the
# list of conditions); deeper JSON is refused before any code walks it recursively.
MAX_JSON_DEPTH = 20
# A CDS Hooks request carries FHIR resources as the EHR holds them, inside Bundles: extensions
# within extensions, contained resources, dosage within dosage instructions. Real resources
# nest deeper than the REST API's inputs, and refusing one would leave the order unchecked,
# so this limit only stops what no FHIR server sends (and Python's own parser's limit).
MAX_FHIR_JSON_DEPTH = 64


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 what would otherwise crash later (review F10):
    nesting deeper than MAX_JSON_DEPTH, and lone surrogates, which are not Unicode text and
    cannot be stored, logged or sent back."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        json_problem = parsed_json_problem(data)
        if json_problem:
            raise exceptions.ParseError(f"JSON parse error - {json_problem}")
        return data


def json_body(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`raw` parsed as JSON by the API parser's rules; ValueError, with a message for the
    caller, for anything else: not JSON (or not UTF-8), nesting deeper than `max_depth`, or
    lone surrogates."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"The JSON is nested more than {max_depth} levels deep.") from None
    except (ValueError, UnicodeDecodeError):
        raise ValueError("The body is not JSON.") from None
    problem = parsed_json_problem(data, max_depth=max_depth)
    if problem:
        raise ValueError(f"The JSON is refused: {problem}")
    return data


def parsed_json_problem(data: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str:
    """What makes parsed JSON unacceptable, or an empty string. Walks without recursion."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return "surrogate characters are not allowed."
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"nested more than {max_depth} levels deep."
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return ""


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
