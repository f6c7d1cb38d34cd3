"""Run inside `manage.py shell` by the fault-injection test, against its own database."""

from __future__ import annotations

import json


def setup() -> None:
    """A department, an anaesthetist with an API key and a patient; prints the key and the
    patient's id."""
    from periop.accounts.models import Department, Membership, Role
    from tests.conftest import api_token_for
    from tests.factories import PatientFactory, UserFactory

    department = Department.objects.create(code="fault", name="Fault", time_zone="UTC")
    user = UserFactory(username="dr-fault")
    Membership.objects.create(user=user, department=department, role=Role.ANESTHETIST)
    patient = PatientFactory(department=department)
    print(api_token_for(user), patient.pk)


def check(created: list[int]) -> None:
    """Every acknowledged medication exists, whole, with its create event in the ledger."""
    from periop.assessments.models import PatientMedication
    from periop.audit.models import AuditEvent

    rows = {row.pk: row for row in PatientMedication.objects.filter(pk__in=created)}
    missing = sorted(set(created) - set(rows))
    assert not missing, f"acknowledged but missing: {missing}"
    assert all(row.code == "pyridostigmine" and row.started for row in rows.values())
    events = set(
        AuditEvent.objects.filter(resource_type="patient-medication", action="create").values_list(
            "resource_id", flat=True
        )
    )
    unaudited = sorted(pk for pk in created if str(pk) not in events)
    assert not unaudited, f"written without their audit event: {unaudited}"
    # Nothing half-written: every medication row has its event, acknowledged or not.
    every = set(PatientMedication.objects.values_list("pk", flat=True))
    assert {str(pk) for pk in every} <= events, "a row without its audit event"
    print(json.dumps({"rows": len(every), "acknowledged": len(created)}))
