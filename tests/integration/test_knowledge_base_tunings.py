"""Local tuning proposals: department administrators propose within the floors, two
reviewers of different professions sign off, and the impact preview shows the effect."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.utils import timezone

from periop.api import DomainError
from periop.assessments.services.impact import impact_preview
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.models import TuningSignOff
from periop.drugs.releases import release_bootstrap
from periop.drugs.tunings import (
    department_tunings,
    tuning_propose,
    tuning_sign_off,
    tunings_by_id,
)
from tests.knowledge_releases import signed_assessments

pytestmark = pytest.mark.django_db

MONITOR_RULE = "mg-sugammadex-preferred"


def _avoid_rule() -> str:
    from periop.drugs.engine import Level

    return next(r.id for r in registry.get_knowledge_base().rules if r.level == Level.AVOID)


def test_an_administrator_proposes_and_two_reviewers_bring_it_into_force(
    department, department_admin, consultant_reviewer, pharmacist_reviewer
):
    tuning = tuning_propose(
        user=department_admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason="Alert fatigue: every myasthenic patient gets sugammadex here.",
    )
    assert department_tunings(department.pk) == {}

    tuning_sign_off(user=consultant_reviewer, tuning=tuning)
    assert department_tunings(department.pk) == {}
    with pytest.raises(DomainError, match="someone else"):
        tuning_sign_off(user=consultant_reviewer, tuning=tuning)
    tuning_sign_off(user=pharmacist_reviewer, tuning=tuning)

    (in_force,) = department_tunings(department.pk)[MONITOR_RULE]
    assert in_force.change == "monitor-to-none"
    assert in_force.who == department_admin.username
    assert in_force.why.startswith("Alert fatigue")
    actions = list(
        AuditEvent.objects.filter(resource_type="knowledge-base-tuning")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "sign", "sign"]


def test_the_checks_tunings_in_force_are_those_the_assessments_replay_with(
    department,
    other_department,
    department_admin,
    consultant_reviewer,
    pharmacist_reviewer,
    django_assert_num_queries,
):
    """Checks read a department's tunings with one plain statement, replays read named
    tunings through the ORM: both must give the same tunings, field for field."""
    signed = []
    for text in ("Bleep 1234.", "Call the neuromuscular team."):
        tuning = tuning_propose(
            user=department_admin,
            department=department,
            rule_id=MONITOR_RULE,
            change="local-text",
            text=text,
            reason="Local pathway.",
        )
        tuning_sign_off(user=pharmacist_reviewer, tuning=tuning)
        tuning_sign_off(user=consultant_reviewer, tuning=tuning)
        signed.append(tuning.pk)
    half = tuning_propose(
        user=department_admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason="Alert fatigue.",
    )
    tuning_sign_off(user=consultant_reviewer, tuning=half)

    # One statement, and no column left unread is asked for afterwards.
    with django_assert_num_queries(1):
        in_force = department_tunings(department.pk)

    assert in_force == tunings_by_id([*signed, half.pk])
    assert [tuning.text for tuning in in_force[MONITOR_RULE]] == [
        "Bleep 1234.",
        "Call the neuromuscular team.",
    ]
    (first, _) = in_force[MONITOR_RULE]
    assert first.signed_by == (consultant_reviewer.username, pharmacist_reviewer.username)
    assert first.when.endswith("+00:00")
    assert first.signed_at.endswith("+00:00")
    assert department_tunings(other_department.pk) == {}


def test_lowering_avoid_is_refused_with_a_clear_message(department, department_admin):
    rule_id = _avoid_rule()

    with pytest.raises(DomainError) as refused:
        tuning_propose(
            user=department_admin,
            department=department,
            rule_id=rule_id,
            change="monitor-to-none",
            reason="Fewer alerts.",
        )

    assert rule_id in refused.value.message
    assert "never lowered" in refused.value.message
    assert not AuditEvent.objects.filter(resource_type="knowledge-base-tuning").exists()


def test_only_the_departments_administrator_proposes(department, anesthetist):
    with pytest.raises(DomainError, match="administrator"):
        tuning_propose(
            user=anesthetist,
            department=department,
            rule_id=MONITOR_RULE,
            change="local-text",
            text="Call the on-call specialist.",
            reason="Local pathway.",
        )


def test_only_a_reviewer_of_the_tunings_department_signs_it_off(
    department, other_department, department_admin, consultant_reviewer
):
    """The service itself checks the department, whichever door the request came through."""
    from tests.conftest import _reviewer

    tuning = tuning_propose(
        user=department_admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason="Alert fatigue.",
    )
    outsider = _reviewer("other-reviewer", "clinical-pharmacist", other_department)

    with pytest.raises(Http404):
        tuning_sign_off(user=outsider, tuning=tuning, comment="Not mine to sign.")

    assert not TuningSignOff.objects.exists()
    assert not AuditEvent.objects.filter(action="sign").exists()
    signed = tuning_sign_off(user=consultant_reviewer, tuning=tuning, comment="  Agreed.  ")
    assert (signed.kind, signed.comment) == ("consultant-anaesthetist", "Agreed.")


def test_tunings_and_their_sign_offs_are_immutable(
    department, department_admin, consultant_reviewer
):
    tuning = tuning_propose(
        user=department_admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="raise",
        level="adjust",
        reason="Local policy.",
    )
    tuning_sign_off(user=consultant_reviewer, tuning=tuning)
    for table in ("drugs_localtuning", "drugs_tuningsignoff"):
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a constant table name)


def test_the_impact_preview_shows_a_tunings_effect_and_marks_it(
    department, department_admin, consultant_reviewer, pharmacist_reviewer, anesthetist
):
    release_bootstrap()
    signed = signed_assessments(Actor.from_user(anesthetist), department)
    tuning = tuning_propose(
        user=department_admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason="Alert fatigue.",
    )
    tuning_sign_off(user=consultant_reviewer, tuning=tuning)
    tuning_sign_off(user=pharmacist_reviewer, tuning=tuning)

    impact = impact_preview(
        kb=registry.get_knowledge_base(),
        department_ids={department.pk},
        now=timezone.now(),
        tunings=department_tunings(department.pk),
    )

    assert impact.changed == 1
    assert [(r.drug, r.level, r.down) for r in impact.changed_rows] == [
        ("sugammadex", "monitor", 1)
    ]
    assert impact.examples[0].assessment_id == signed[0].pk
