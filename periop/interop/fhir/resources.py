"""Small helpers every FHIR resource of the export uses: instants, references, entries."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any


def instant(value: dt.datetime) -> str:
    """A FHIR instant: ISO 8601 in UTC, with seconds (and their fraction, when there is one)."""
    return value.astimezone(dt.UTC).isoformat()


def reference(url: str, display: str | None = None) -> dict[str, str]:
    value = {"reference": url}
    if display:
        value["display"] = display
    return value


def person_name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


@dataclass
class Entries:
    """A Bundle's entries in order, each under a fresh `urn:uuid:` full URL."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, resource: dict[str, Any]) -> str:
        url = f"urn:uuid:{uuid.uuid4()}"
        self.items.append({"fullUrl": url, "resource": resource})
        return url
