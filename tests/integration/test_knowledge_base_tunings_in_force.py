"""Local tunings in force: once signed off, a tuning changes what checks and assessments of its
department show (raised, monitor lowered to none, local text), always marked `locally_tuned`;
other departments, mere proposals and replays of the record are untouched."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments import services
from periop.assessments.services.replay import assessment_replay
from periop.assessments.services.signed_records import signed_records_verify
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs.releases import release_bootstrap
from periop.drugs.tunings import tuning_propose, tuning_sign_off
from tests.conftest import _member, api_token_for
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

MONITOR_RULE = "mg-sugammadex-preferred"  # monitor, for sugammadex with myasthenia gravis
ADJUST_RULE = "mg-aminosteroid-sensitivity"  # adjust, for rocuronium with myasthenia gravis
DRUGS = ["rocuronium", "sugammadex"]


def _check(department_id: int) -> dict:
    return {
        "at": "2026-11-22T08:00:00+00:00",
        "department": department_id,
        "patient": {"age_years": 34, "weight_kg": 62},
        "conditions": [
            {"code": "myasthenia-gravis", "onset": "2024-05-01", "attributes": {"antibody": "achr"}}
        ],
        "drugs": DRUGS,
    }


@pytest.fixture
def in_force(department, department_admin, consultant_reviewer, pharmacist_reviewer):
    """Proposes a tuning in the department and has both reviewers sign it off."""

    def bring(signed: bool = True, **proposal):
        tuning = tuning_propose(user=department_admin, department=department, **proposal)
        tuning_sign_off(user=consultant_reviewer, tuning=tuning)
        if signed:
            tuning_sign_off(user=pharmacist_reviewer, tuning=tuning)
        return tuning

    return bring


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def _caution(body: dict, drug: str) -> dict:
    return next(caution for caution in body["cautions"] if caution["drug"] == drug)


def _myasthenic(department, anesthetist):
    patient = PatientFactory(department=department)
    services.patient_condition_record(
        actor=Actor.from_user(anesthetist),
        patient=patient,
        code="myasthenia-gravis",
        onset=(timezone.now() - dt.timedelta(days=3000)).date(),
        attributes={"antibody": "achr"},
    )
    return patient


def _assess(patient, department, anesthetist):
    return services.assessment_create(
        actor=Actor.from_user(anesthetist),
        patient=patient,
        department=department,
        planned_at=(timezone.now() + dt.timedelta(days=1)).replace(microsecond=0),
        procedure="Thymectomy",
        weight_kg=Decimal("70"),
        drugs=DRUGS,
    )


def test_a_check_shows_monitor_lowered_to_none_marked_with_who_when_and_why(
    in_force, department, pharmacist, department_admin, consultant_reviewer, pharmacist_reviewer
):
    tuning = in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")

    response = _api(pharmacist).post("/api/v1/checks", _check(department.pk), format="json")

    assert response.status_code == 200
    body = response.json()
    sugammadex = _caution(body, "sugammadex")
    assert sugammadex["level"] == "none"
    assert sugammadex["locally_tuned"] is True
    (finding,) = sugammadex["findings"]
    assert finding["rule"] == MONITOR_RULE  # never hidden
    assert finding["level"] == "none"
    (mark,) = finding["locally_tuned"]
    assert mark["change"] == "monitor-to-none"
    assert (mark["from_level"], mark["to_level"]) == ("monitor", "none")
    assert mark["who"] == department_admin.username
    assert mark["why"] == "Alert fatigue."
    assert mark["signed_by"] == [consultant_reviewer.username, pharmacist_reviewer.username]
    assert mark["tuning"] == tuning.pk
    assert body["tunings"] == [tuning.pk]
    assert _caution(body, "rocuronium")["level"] == "adjust"
    assert "locally_tuned" not in _caution(body, "rocuronium")
    event = AuditEvent.objects.filter(resource_type="check").latest("sequence")
    payload = json.loads(event.payload)
    assert payload["cautions"] == {"rocuronium": "adjust", "sugammadex": "none"}
    assert payload["tunings"] == [tuning.pk]


def test_another_department_and_a_mere_proposal_change_nothing(
    in_force, department, other_department, pharmacist
):
    in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")
    in_force(signed=False, rule_id=ADJUST_RULE, change="raise", level="avoid", reason="Policy.")
    elsewhere = _member("pharmacist-elsewhere", Role.PHARMACIST, other_department)

    other = _api(elsewhere).post("/api/v1/checks", _check(other_department.pk), format="json")
    here = _api(pharmacist).post("/api/v1/checks", _check(department.pk), format="json")

    assert _caution(other.json(), "sugammadex")["level"] == "monitor"
    assert "tunings" not in other.json()
    assert "locally_tuned" not in _caution(other.json(), "sugammadex")
    # The raise has one sign-off of two: proposed, not in force.
    assert _caution(here.json(), "rocuronium")["level"] == "adjust"
    assert "locally_tuned" not in _caution(here.json(), "rocuronium")


def test_a_raise_and_local_text_reach_an_assessment_and_its_acknowledgements(
    in_force, department, anesthetist
):
    raised = in_force(rule_id=ADJUST_RULE, change="raise", level="avoid", reason="Local policy.")
    note = in_force(
        rule_id=MONITOR_RULE,
        change="local-text",
        text="Call the on-call neuromuscular specialist, bleep 1234.",
        reason="Local pathway.",
    )
    patient = _myasthenic(department, anesthetist)

    assessment = _assess(patient, department, anesthetist)

    snapshot = json.loads(assessment.cautions_snapshot)
    assert snapshot["tunings"] == sorted([raised.pk, note.pk])
    rocuronium = _caution(snapshot, "rocuronium")
    assert rocuronium["level"] == "avoid"
    assert rocuronium["findings"][0]["locally_tuned"][0]["to_level"] == "avoid"
    sugammadex = _caution(snapshot, "sugammadex")
    assert sugammadex["level"] == "monitor"
    assert sugammadex["findings"][0]["locally_tuned"][0]["text"].endswith("bleep 1234.")
    assert assessment.highest_level == "avoid"
    assert assessment.acknowledgement_required == [{"drug": "rocuronium", "level": "avoid"}]

    detail = _api(anesthetist).get(f"/api/v1/assessments/{assessment.pk}").json()
    assert _caution(detail, "rocuronium")["findings"][0]["locally_tuned"][0]["why"] == (
        "Local policy."
    )


def test_the_web_card_says_the_finding_is_locally_tuned(
    in_force, department, anesthetist, department_admin, client
):
    in_force(
        rule_id=MONITOR_RULE,
        change="local-text",
        text="Call the on-call neuromuscular specialist, bleep 1234.",
        reason="Local pathway.",
    )
    assessment = _assess(_myasthenic(department, anesthetist), department, anesthetist)
    client.force_login(anesthetist)

    page = client.get(f"/assessments/{assessment.pk}/").content.decode()

    when = json.loads(assessment.cautions_snapshot)["cautions"][1]["findings"][0]
    assert "Local note: Call the on-call neuromuscular specialist, bleep 1234." in page
    proposed_on = when["locally_tuned"][0]["when"][:10]
    assert f"Locally tuned: Local pathway. ({department_admin.username}, {proposed_on})" in page


def test_a_patient_check_and_an_edit_apply_the_tunings_in_force(in_force, department, anesthetist):
    patient = _myasthenic(department, anesthetist)
    draft = _assess(patient, department, anesthetist)
    assert _caution(json.loads(draft.cautions_snapshot), "sugammadex")["level"] == "monitor"
    in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")

    checked = _api(anesthetist).post(
        f"/api/v1/patients/{patient.pk}/checks", {"drugs": DRUGS}, format="json"
    )
    edited = services.assessment_update(
        actor=Actor.from_user(anesthetist),
        assessment=draft,
        expected_revision=draft.revision,
        procedure="Thymectomy (robotic)",
    )

    assert checked.status_code == 200
    assert _caution(checked.json(), "sugammadex")["level"] == "none"
    assert _caution(checked.json(), "sugammadex")["findings"][0]["locally_tuned"]
    assert _caution(json.loads(edited.cautions_snapshot), "sugammadex")["level"] == "none"


def test_the_plan_re_evaluates_with_the_tunings_in_force(in_force, department, anesthetist):
    in_force(rule_id=ADJUST_RULE, change="raise", level="avoid", reason="Local policy.")
    assessment = _assess(_myasthenic(department, anesthetist), department, anesthetist)

    plan = _api(anesthetist).get(f"/api/v1/assessments/{assessment.pk}").json()["plan"]

    levels = {line["drug"]: line["level"] for line in plan}
    assert levels["rocuronium"] == "avoid"


def test_replay_applies_the_tunings_the_snapshot_names_and_is_identical(
    in_force, department, anesthetist
):
    release_bootstrap()
    patient = _myasthenic(department, anesthetist)
    before = _assess(patient, department, anesthetist)  # evaluated before any tuning
    in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")
    in_force(rule_id=ADJUST_RULE, change="raise", level="avoid", reason="Local policy.")
    tuned = _assess(patient, department, anesthetist)

    assert _caution(json.loads(tuned.cautions_snapshot), "rocuronium")["level"] == "avoid"
    actor = Actor.from_user(anesthetist)
    services.caution_acknowledge(
        actor=actor, assessment=tuned, drug="rocuronium", decision="accepted"
    )
    tuned = services.assessment_sign(actor=actor, assessment=tuned)
    for assessment in (before, tuned):
        result = assessment_replay(assessment)
        assert result["identical"] is True, result["differences"]
    # The signed record's digest covers the stored cautions, tunings and marks included.
    assert signed_records_verify(limit=10) == (1, [])


def test_a_caller_in_two_departments_sees_the_tunings_of_the_department_checked(
    in_force, department, other_department, pharmacist, django_assert_num_queries
):
    from tests.conftest import audit_append_queries
    from tests.factories import MembershipFactory

    tuning = in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ANESTHETIST)
    client = _api(pharmacist)

    # The caller's departments and their tunings are one statement, whichever is checked.
    with django_assert_num_queries(2 + audit_append_queries()):
        elsewhere = client.post("/api/v1/checks", _check(other_department.pk), format="json")
    with django_assert_num_queries(2 + audit_append_queries()):
        here = client.post("/api/v1/checks", _check(department.pk), format="json")

    assert _caution(elsewhere.json(), "sugammadex")["level"] == "monitor"
    assert "tunings" not in elsewhere.json()
    assert _caution(here.json(), "sugammadex")["level"] == "none"
    assert here.json()["tunings"] == [tuning.pk]


def test_a_superuser_checking_for_a_department_they_are_not_in_sees_its_tunings(
    in_force, department, other_department
):
    from tests.factories import UserFactory

    tuning = in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")
    superuser = UserFactory(username="root-on-call", is_superuser=True)

    response = _api(superuser).post("/api/v1/checks", _check(department.pk), format="json")

    assert response.status_code == 200
    assert _caution(response.json(), "sugammadex")["level"] == "none"
    assert response.json()["tunings"] == [tuning.pk]


def test_the_departments_read_with_their_tunings_are_those_read_one_by_one(
    in_force, department, other_department, pharmacist
):
    """`tunings_by_department` (one statement) against `user_department_ids` and
    `department_tunings` (one query each): the same departments, the same tunings in force."""
    from periop.accounts.permissions import CHECK_ROLES, user_department_ids
    from periop.drugs.tunings import department_tunings, tunings_by_department
    from tests.factories import DepartmentFactory, MembershipFactory

    in_force(rule_id=MONITOR_RULE, change="monitor-to-none", reason="Alert fatigue.")
    in_force(rule_id=ADJUST_RULE, change="raise", level="avoid", reason="Local policy.")
    in_force(signed=False, rule_id=ADJUST_RULE, change="local-text", text="Local.", reason="Draft.")
    quiet, audited = DepartmentFactory(), DepartmentFactory()
    MembershipFactory(user=pharmacist, department=other_department, role=Role.ADMIN)
    MembershipFactory(user=pharmacist, department=quiet, role=Role.ANESTHETIST)
    MembershipFactory(user=pharmacist, department=audited, role=Role.AUDITOR)

    together = tunings_by_department(pharmacist, CHECK_ROLES)

    one_by_one = {
        department_id: department_tunings(department_id)
        for department_id in user_department_ids(pharmacist, CHECK_ROLES)
    }
    assert together == one_by_one
    assert set(together) == {department.pk, other_department.pk, quiet.pk}
    assert sorted(together[department.pk]) == sorted([MONITOR_RULE, ADJUST_RULE])
    assert together[other_department.pk] == {}
    assert together[quiet.pk] == {}
    assert tunings_by_department(pharmacist, []) == {}
