"""The API's JSON parser, and the same rules for the CDS Hooks endpoints, which read their bodies
themselves. Its own module: DRF reads its parser setting while importing its views, so the
parser cannot live beside the API conventions, which import those views."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
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
    """DRF's JSON parser (the request's charset, strict JSON: no NaN or Infinity), refusing
    with a 400 what would otherwise crash later (review F10): nesting deeper than
    MAX_JSON_DEPTH, and lone surrogates, which are not Unicode text and cannot be stored, logged
    or sent back."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_body(stream.read() if stream is not None else b"", encoding=encoding)
        except ValueError as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from None


def json_body(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH, encoding: str = "utf-8") -> Any:
    """`raw` parsed as JSON by the API's rules: decoded strictly (UTF-8 unless the request
    names another charset), no NaN or Infinity, no nesting deeper than `max_depth`, no lone
    surrogates. ValueError, whose text says what is wrong, for anything else.

    Lone surrogates are looked for string by string only when the text could hold one: a
    strict decoding yields none, so only a `\\uD800`-`\\uDFFF` escape can (a pair is walked
    too, and passes). The depth is read off the containers alone. A CDS Hooks body of 4 kB
    took 214 us when every string was walked, and 38 us to parse alone."""
    try:
        # `bytes.decode` takes text encodings only: a charset such as zlib or base64, which
        # Python knows and Django keeps, is a LookupError here, never bytes inflated.
        text = raw.decode(encoding)
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"nested more than {max_depth} levels deep.") from None
    except (ValueError, LookupError) as error:
        raise ValueError(str(error)) from None
    if _nests_deeper(data, max_depth):
        raise ValueError(f"nested more than {max_depth} levels deep.")
    if (_SURROGATE_ESCAPE.search(text) or _has_surrogate(text)) and _holds_surrogate(data):
        raise ValueError("surrogate characters are not allowed.")
    return data


def fhir_json_body(raw: bytes) -> Any:
    """`json_body` for JSON that carries FHIR resources (a CDS Hooks request, a FHIR server's
    answer): nested up to MAX_FHIR_JSON_DEPTH, always UTF-8 (FHIR requires it), a byte order
    mark ignored as RFC 8259 section 8.1 allows."""
    return json_body(raw, max_depth=MAX_FHIR_JSON_DEPTH, encoding="utf-8-sig")


# An escape of a UTF-16 surrogate, lone or one of a pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON.")


def _nests_deeper(data: Any, limit: int) -> bool:
    """Whether parsed JSON nests more than `limit` containers deep; level by level, without
    recursion. JSON gives plain dicts and lists only, so their exact class is enough."""
    level = [data] if data.__class__ is dict or data.__class__ is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for container in level
            for child in (container.values() if container.__class__ is dict else container)
            if child.__class__ is dict or child.__class__ is list
        ]
    return False


def _holds_surrogate(data: Any) -> bool:
    """Whether any string of parsed JSON, key or value, holds a lone surrogate."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
