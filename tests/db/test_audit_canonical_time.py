"""The canonical time form is the same on every database, for every year (finding F1)."""

import datetime as dt

import pytest

from periop.audit import chain, verification
from periop.audit.services import Actor, audit_event_append
from periop.audit.verification import audit_chain_verify

pytestmark = pytest.mark.django_db


def append(data_time):
    return audit_event_append(
        actor=Actor.system(), action="create", resource_type="medication", data_time=data_time
    )


def test_years_before_1000_are_written_with_four_digits():
    early = dt.datetime(1, 1, 1, 0, 1, 15, tzinfo=dt.UTC)

    assert chain.iso_utc(early) == "0001-01-01T00:01:15.000000Z"
    assert chain.iso_utc(dt.datetime(999, 6, 1, tzinfo=dt.UTC)) == "0999-06-01T00:00:00.000000Z"


@pytest.mark.parametrize("year", [1, 999, 1000, 2026, 9999])
def test_an_untouched_event_of_any_year_verifies(year):
    append(dt.datetime(year, 6, 1, 12, 30, tzinfo=dt.UTC))
    append(None)

    result = audit_chain_verify()

    assert result.ok, result.problem
    assert result.events == 2


@pytest.mark.parametrize("year", [1, 999, 2026])
def test_the_database_returns_the_text_that_was_hashed(year):
    when = dt.datetime(year, 6, 1, 12, 30, 0, 17, tzinfo=dt.UTC)
    append(when)

    (row,) = list(verification._rows())

    assert row[chain.HASHED_FIELDS.index("data_time")] == chain.iso_utc(when)


def test_tampering_after_an_early_dated_event_is_still_found():
    from tests.db.test_audit_tampering import as_owner

    append(dt.datetime(1, 1, 1, tzinfo=dt.UTC))
    append(None)
    append(None)
    as_owner("UPDATE audit_auditevent SET resource_type = 'patient' WHERE sequence = 3")

    result = audit_chain_verify()

    assert result.first_broken_sequence == 3


def test_events_hashed_with_the_old_unpadded_years_still_verify(monkeypatch):
    # Until the fix the year was written with strftime("%Y"), which does not pad years before
    # 1000 on Linux: such events, already in ledgers, must stay verifiable.
    def unpadded(value):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    with monkeypatch.context() as patched:
        patched.setattr(chain, "iso_utc", unpadded)
        append(dt.datetime(7, 3, 4, 5, 6, tzinfo=dt.UTC))
    assert unpadded(dt.datetime(7, 3, 4, tzinfo=dt.UTC)).startswith("7-")
    append(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    result = audit_chain_verify()

    assert result.ok, result.problem


def test_the_reviews_reproduction_a_medication_started_in_year_999_verifies(department):
    # The review's reproduction, through the service rather than the ledger directly.
    from periop.assessments.services.records import patient_medication_record
    from tests.factories import PatientFactory

    # The record services now refuse a start before birth, so the patient row is written
    # directly with a birth date that lets the year-999 start through to the ledger.
    patient = PatientFactory(department=department, birth_date=dt.date(900, 1, 1))
    patient_medication_record(
        actor=Actor.system(), patient=patient, code="pyridostigmine", started=dt.date(999, 6, 1)
    )

    result = audit_chain_verify()

    assert result.ok, result.problem
