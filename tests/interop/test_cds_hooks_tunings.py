"""The CDS client's department's signed-off local tunings apply to its cards as they do to its
checks: raised, monitor lowered to none, local text; a tuned card says so in its detail and in
its `extension`. Other departments' tunings and unsigned proposals change nothing."""

from __future__ import annotations

import json

import pytest

from periop.audit.models import AuditEvent
from periop.drugs.tunings import tuning_propose, tuning_sign_off
from periop.interop.cds_hooks.cards import TUNING_EXTENSION
from periop.interop.models import CdsCard
from tests.conftest import _member, _reviewer
from tests.interop.conftest import ATC, MYASTHENIA, full_prefetch, hook_body, order

pytestmark = pytest.mark.django_db

MONITOR_RULE = "mg-sugammadex-preferred"  # monitor, for sugammadex with myasthenia gravis
ADJUST_RULE = "mg-aminosteroid-sensitivity"  # adjust, for rocuronium with myasthenia gravis
SUGAMMADEX = order("mr-sug", (ATC, "V03AB35"), text="sugammadex injection")
ROCURONIUM = order("mr-roc", (ATC, "M03AC09"), text="rocuronium injection")


@pytest.fixture
def in_force(department_admin, consultant_reviewer, pharmacist_reviewer):
    """Proposes a tuning and has both reviewers sign it off (or only one)."""

    def bring(department, *, admin=None, reviewers=None, signed=True, **proposal):
        tuning = tuning_propose(user=admin or department_admin, department=department, **proposal)
        consultant, pharmacist = reviewers or (consultant_reviewer, pharmacist_reviewer)
        tuning_sign_off(user=consultant, tuning=tuning)
        if signed:
            tuning_sign_off(user=pharmacist, tuning=tuning)
        return tuning

    return bring


def _cards(call, *orders):
    response = call(hook_body(*orders, prefetch=full_prefetch(MYASTHENIA, bodyWeight=None)))
    assert response.status_code == 200, response.content
    return response.json()["cards"]


def test_untuned_the_sugammadex_card_is_monitor_without_the_extension(call):
    (card,) = _cards(call, SUGAMMADEX)

    assert card["indicator"] == "info"
    assert "extension" not in card
    assert "Tuned locally" not in card["detail"]


def test_a_raised_rule_raises_the_card_and_marks_it(call, cds_client, in_force):
    tuning = in_force(
        cds_client.department,
        rule_id=MONITOR_RULE,
        change="raise",
        level="avoid",
        reason="Local policy: neostigmine-sparing pathway reviewed first.",
    )

    (card,) = _cards(call, SUGAMMADEX)

    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Avoid: Sugammadex.")
    assert card["extension"][TUNING_EXTENSION] == {
        "tunings": [tuning.pk],
        "levelBeforeTuning": "monitor",
        "level": "avoid",
    }
    assert "**Tuned locally by this department**" in card["detail"]
    assert f"rule `{MONITOR_RULE}` monitor to avoid" in card["detail"]
    assert "Local policy: neostigmine-sparing pathway" in card["detail"]
    assert "signed off by kb-consultant, kb-pharmacist" in card["detail"]
    # The card kept for feedback, and the ledger, hold the tuned level.
    assert CdsCard.objects.get(uuid=card["uuid"]).level == "avoid"
    payload = json.loads(AuditEvent.objects.get(resource_type="cds-hook").payload)
    assert payload["cautions"]["sugammadex"] == "avoid"
    assert payload["tunings"] == [tuning.pk]


def test_a_monitor_lowered_to_none_leaves_no_card(call, cds_client, in_force):
    in_force(
        cds_client.department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason="Alert fatigue: sugammadex is the department's standard.",
    )

    assert _cards(call, SUGAMMADEX) == []


def test_local_text_is_added_and_the_level_kept(call, cds_client, in_force):
    in_force(
        cds_client.department,
        rule_id=ADJUST_RULE,
        change="local-text",
        text="Call the on-call neuromuscular specialist.",
        reason="Local escalation pathway.",
    )

    (card,) = _cards(call, ROCURONIUM)

    assert card["indicator"] == "warning"
    assert "Call the on-call neuromuscular specialist." in card["detail"]
    assert card["extension"][TUNING_EXTENSION]["levelBeforeTuning"] == "adjust"
    assert card["extension"][TUNING_EXTENSION]["level"] == "adjust"


def test_another_departments_tuning_changes_nothing(call, other_department, in_force):
    in_force(
        other_department,
        admin=_member("other-admin", "admin", other_department),
        # A department's tunings are signed off by its own reviewers.
        reviewers=(
            _reviewer("other-consultant", "consultant-anaesthetist", other_department),
            _reviewer("other-pharmacist", "clinical-pharmacist", other_department),
        ),
        rule_id=MONITOR_RULE,
        change="raise",
        level="avoid",
        reason="Their policy.",
    )

    (card,) = _cards(call, SUGAMMADEX)

    assert card["indicator"] == "info"
    assert "extension" not in card


def test_a_proposal_signed_by_one_reviewer_only_changes_nothing(call, cds_client, in_force):
    in_force(
        cds_client.department,
        signed=False,
        rule_id=MONITOR_RULE,
        change="raise",
        level="avoid",
        reason="Not yet in force.",
    )

    (card,) = _cards(call, SUGAMMADEX)

    assert card["indicator"] == "info"
    assert "extension" not in card
