"""What the OpenAPI schema says of every operation: the answers that middleware, not the view,
gives (a body over the limit, a database that cannot serve the request)."""

from __future__ import annotations

from typing import Any

_UNAVAILABLE = {
    "description": "The database is down, read-only or full: try again after Retry-After seconds.",
    "headers": {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": "Seconds to wait before retrying.",
        }
    },
}
_TOO_LARGE = {
    "description": "The request body is larger than the server's limit (1 MB by default); "
    "it was not read."
}
_METHODS_WITH_BODIES = {"post", "put", "patch"}


def shared_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool, **kwargs: Any
) -> dict[str, Any]:
    """drf-spectacular post-processing hook: adds 503 to every operation and 413 to every
    operation that takes a body."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault("503", _UNAVAILABLE)
            if method in _METHODS_WITH_BODIES:
                responses.setdefault("413", _TOO_LARGE)
    return result
