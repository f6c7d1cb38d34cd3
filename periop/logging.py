"""Structured JSON logging that cannot leak patient data.

The formatter writes a fixed set of fields. Anything else attached to a record (a request
object, a serializer's data, `extra=` keys) is dropped, so a careless log call elsewhere in the
code cannot put a name or an MRN into the logs. Messages themselves are written by our code and
by Django, and never carry patient fields (a test holds us to it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from periop.middleware import current_request_id


class RequestIdFilter(logging.Filter):
    """Attaches the id of the request being served, for correlation with audit events."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line with whitelisted fields only."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        status_code = getattr(record, "status_code", None)
        if isinstance(status_code, int):
            entry["status"] = status_code
        if record.exc_info:
            # The exception type and location help operators; its message may quote input.
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        return json.dumps(entry, ensure_ascii=False)
