"""Clients and records for the page tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from periop.audit.models import AuditEvent
from tests.factories import PatientFactory


@pytest.fixture
def anesthetist_browser(anesthetist: Any) -> Client:
    """A browser session of the anaesthetist (one department, chosen automatically)."""
    client = Client()
    client.force_login(anesthetist)
    # The first page stores the department in the session; later pages only read it.
    client.get("/patients/")
    return client


@pytest.fixture
def auditor_browser(auditor: Any) -> Client:
    client = Client()
    client.force_login(auditor)
    client.get("/patients/")
    return client


@pytest.fixture
def patient(department: Any) -> Any:
    return PatientFactory(department=department, mrn="MRN0000042", name="Ada Lovelace")


def events(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("sequence"))


def tomorrow_form(**overrides: Any) -> dict[str, Any]:
    """An assessment form as a browser posts it, planned for tomorrow morning."""
    day = (timezone.now() + dt.timedelta(days=1)).date()
    data: dict[str, Any] = {
        "planned_date": day.isoformat(),
        "planned_time": "08:30",
        "procedure": "Thymectomy",
        "weight_kg": "70",
        "drugs": ["succinylcholine", "rocuronium"],
    }
    data.update(overrides)
    return data
