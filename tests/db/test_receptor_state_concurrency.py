"""Simultaneous receptor-state records for one patient on PostgreSQL: each replaces the one
before, none is a 500, and one record stays in force (review F12)."""

import threading

import pytest
from django.db import connection

from periop.assessments.models import PatientReceptorState
from periop.audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import PatientFactory

WRITERS = 8


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_simultaneous_receptor_state_records_each_replace_the_last(
    audit_guard_lifted, transactional_db, anesthetist, department
):
    patient = PatientFactory(department=department)
    client_for(anesthetist)  # the token exists before the threads start
    start = threading.Barrier(WRITERS)
    statuses: list[int] = []

    def record(number: int) -> None:
        client = client_for(anesthetist)
        client.raise_request_exception = False
        try:
            start.wait(timeout=30)
            response = client.post(
                f"/api/v1/patients/{patient.pk}/receptor-state",
                {"value": "up", "reason": f"Writer {number}."},
                format="json",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses) == [201] * WRITERS
    records = PatientReceptorState.objects.filter(patient=patient)
    assert records.count() == WRITERS
    assert records.filter(cleared_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(resource_type="patient-receptor-state").count() == WRITERS
