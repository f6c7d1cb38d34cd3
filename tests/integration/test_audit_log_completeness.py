"""The department audit log is complete (issue 12 item 5): pharmacy checks, failed logins of
its members, and patients' MRNs and override details, in the HTML page and the CSV export."""

from __future__ import annotations

import csv
import io
import os
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import Client, override_settings

from periop.accounts.models import Role
from periop.assessments.models import Assessment, Patient
from periop.audit.models import AuditEvent
from periop.audit.services import Actor, audit_event_append
from tests.api.test_checks import post, valid_body
from tests.conftest import client_for, nothing_changes
from tests.factories import TEST_PASSWORD, MembershipFactory, PatientFactory, UserFactory
from tests.integration.test_reports_figures import add_overridden_assessments

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def audit_log_csv(auditor, department) -> list[dict[str, str]]:
    response = browser(auditor).get(
        f"/reports/departments/{department.pk}/audit-log/", {"format": "csv"}
    )
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def check_rows(rows):
    return [row for row in rows if row["resource_type"] == "check"]


# --- pharmacy checks ---------------------------------------------------------------------------


def test_a_pharmacy_systems_check_appears_in_its_departments_audit_log(
    pharmacist_client, pharmacist, auditor, department
):
    assert post(pharmacist_client, valid_body()).status_code == 200

    (row,) = check_rows(audit_log_csv(auditor, department))
    assert row["actor_username"] == "pharmacist"
    assert row["actor_kind"] == "api-client"
    assert row["department_id"] == str(department.pk)


def test_a_client_in_two_departments_records_its_check_under_the_one_it_names(
    department, other_department, auditor
):
    system = UserFactory(username="pharmacy-system")
    MembershipFactory(user=system, department=department, role=Role.PHARMACIST)
    MembershipFactory(user=system, department=other_department, role=Role.PHARMACIST)
    other_auditor = UserFactory(username="other-auditor")
    MembershipFactory(user=other_auditor, department=other_department, role=Role.AUDITOR)
    client = client_for(system)

    assert post(client, valid_body(department=other_department.pk)).status_code == 200

    assert len(check_rows(audit_log_csv(other_auditor, other_department))) == 1
    assert check_rows(audit_log_csv(auditor, department)) == []


def test_a_check_for_a_department_the_caller_has_no_role_in_is_refused(
    pharmacist_client, other_department
):
    with nothing_changes():
        response = post(pharmacist_client, valid_body(department=other_department.pk))

    assert response.status_code == 403


def test_a_superuser_may_name_any_existing_department_but_not_an_unknown_one(department, auditor):
    root = UserFactory(username="root", is_superuser=True)
    client = client_for(root)

    with nothing_changes():
        assert post(client, valid_body(department=999999)).status_code == 400
    assert post(client, valid_body(department=department.pk)).status_code == 200
    assert len(check_rows(audit_log_csv(auditor, department))) == 1


def test_a_check_without_a_department_from_a_multi_department_client_names_none(
    department, other_department
):
    system = UserFactory(username="pharmacy-system")
    MembershipFactory(user=system, department=department, role=Role.PHARMACIST)
    MembershipFactory(user=system, department=other_department, role=Role.ANESTHETIST)

    assert post(client_for(system), valid_body()).status_code == 200

    event = AuditEvent.objects.get(resource_type="check")
    assert event.department_id is None


# --- failed logins -----------------------------------------------------------------------------


def failed_login(client, username, address="203.0.113.7"):
    return client.post(
        "/login", {"username": username, "password": "wrong-one-1234"}, REMOTE_ADDR=address
    )


def login_failed_events():
    return list(AuditEvent.objects.filter(action="login-failed").order_by("sequence"))


def test_rotating_usernames_cannot_grow_the_ledger_beyond_the_addresss_bound(client, settings):
    # F13: 30 failed logins with 30 usernames once wrote 30 events.
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    for attempt in range(30):
        failed_login(client, f"guess-{attempt}")

    recorded = login_failed_events()
    # Five failures, then one event saying the address was throttled, then nothing.
    assert len(recorded) == 6
    assert [event.actor_username for event in recorded[:5]] == [f"guess-{n}" for n in range(5)]
    assert '"throttled":true' in recorded[5].payload
    assert '"limit":5' in recorded[5].payload


def test_an_address_past_its_bound_is_refused_even_with_the_right_password(
    client, settings, anesthetist
):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for attempt in range(3):
        failed_login(client, f"guess-{attempt}")

    refused = client.post(
        "/login",
        {"username": "dr-anesthetist", "password": TEST_PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    elsewhere = client.post(
        "/login",
        {"username": "dr-anesthetist", "password": TEST_PASSWORD},
        REMOTE_ADDR="198.51.100.9",
    )

    assert refused.status_code == 429
    assert elsewhere.status_code == 302
    assert [event.actor_username for event in AuditEvent.objects.filter(action="login")] == [
        "dr-anesthetist"
    ]


def test_the_bound_ends_with_the_window(client, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 2
    for attempt in range(5):
        failed_login(client, f"guess-{attempt}")
    assert len(login_failed_events()) == 3

    # The window's end, as the cache sees it: the address's count expires.
    from django.core.cache import cache

    cache.delete("periop:login-failures:203.0.113.7")
    failed_login(client, "guess-again")

    assert login_failed_events()[-1].actor_username == "guess-again"


def test_failed_logins_under_a_members_username_appear_in_the_departments_audit_log(
    client, auditor, anesthetist, department, outsider
):
    failed_login(client, "dr-anesthetist")
    failed_login(client, "dr-outsider")
    failed_login(client, "nobody-at-all")

    rows = [row for row in audit_log_csv(auditor, department) if row["action"] == "login-failed"]

    assert [row["actor_username"] for row in rows] == ["dr-anesthetist"]
    assert rows[0]["actor_kind"] == "anonymous"


# --- patients' MRNs and overrides -----------------------------------------------------------


def test_the_audit_log_names_the_patients_mrn_and_each_overrides_drug_and_assessment(
    auditor, anesthetist, department
):
    add_overridden_assessments(department, anesthetist, 2)
    patient = Patient.objects.get(department=department)
    assessments = sorted(Assessment.objects.filter(patient=patient).values_list("pk", flat=True))

    rows = audit_log_csv(auditor, department)
    overrides = [row for row in rows if row["action"] == "override"]
    html = browser(auditor).get(
        f"/reports/departments/{department.pk}/audit-log/", {"action": "override"}
    )

    assert [
        (row["patient_mrn"], row["override_drug"], row["override_assessment"]) for row in overrides
    ] == [(patient.mrn, "succinylcholine", str(pk)) for pk in assessments]
    assert all(row["override_reason"] == "no-alternative" for row in overrides)
    page = html.content.decode()
    assert f"MRN {patient.mrn}" in page
    for pk in assessments:
        assert f"succinylcholine in assessment {pk} (revision 1): no-alternative" in page


def test_the_audit_log_shows_no_mrn_of_another_departments_patient(
    auditor, department, other_department, outsider
):
    # An event recorded under this department about a patient registered elsewhere (a
    # cross-department mistake) names the patient by id only.
    stranger = PatientFactory(department=other_department)
    audit_event_append(
        actor=Actor.from_user(outsider),
        action="read",
        resource_type="patient",
        resource_id=stranger.pk,
        patient_id=stranger.pk,
        department_id=department.pk,
    )

    (row,) = [
        row for row in audit_log_csv(auditor, department) if row["resource_type"] == "patient"
    ]

    assert row["patient_id"] == str(stranger.pk)
    assert row["patient_mrn"] == ""


# --- the count shared between server processes -----------------------------------------------


def redis_cache_settings(url):
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # A prefix of this run's own, so that runs side by side never share counts.
            "KEY_PREFIX": f"periop-test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def shared_cache(settings):
    """Django's cache on the local Redis server, as REDIS_URL configures it in production."""
    settings.CACHES = redis_cache_settings("redis://127.0.0.1:6379/15")
    from django.core.cache import cache

    try:
        cache.get("probe")
    except Exception:
        if os.environ.get("CI"):
            raise
        pytest.skip("No Redis server on 127.0.0.1:6379.")
    yield settings.CACHES["default"]
    cache.clear()


def test_with_redis_every_process_sees_one_count_per_address(client, settings, shared_cache):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    for attempt in range(2):
        failed_login(client, f"guess-{attempt}")

    # Another server process: its own connection to the same cache, nothing in memory.
    other_process = RedisCache(shared_cache["LOCATION"], shared_cache)
    assert other_process.get("periop:login-failures:203.0.113.7") == 2
    other_process.incr("periop:login-failures:203.0.113.7")

    refused = failed_login(client, "guess-after-the-other-process")

    assert refused.status_code == 429
    assert len(login_failed_events()) == 3  # two failures, then the throttled one


def test_an_unreachable_cache_never_stops_a_login(client, anesthetist, caplog):
    with override_settings(CACHES=redis_cache_settings("redis://127.0.0.1:1/0")):
        failed = failed_login(client, "dr-anesthetist")
        signed_in = client.post(
            "/login",
            {"username": "dr-anesthetist", "password": TEST_PASSWORD},
            REMOTE_ADDR="203.0.113.7",
        )

    assert failed.status_code == 200  # the login form again, with its error
    assert signed_in.status_code == 302
    assert [event.actor_username for event in login_failed_events()] == ["dr-anesthetist"]
    assert "could not be" in caplog.text
