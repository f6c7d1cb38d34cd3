"""The local-tuning API: department administrators propose within the floors, two reviewers of
the two professions sign off, and each sees only their own departments' tunings."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from periop.accounts.models import Role
from periop.drugs import registry
from periop.drugs.engine import Level
from periop.drugs.models import LocalTuning
from tests.conftest import _member, api_token_for, audit_append_queries, nothing_changes

pytestmark = pytest.mark.django_db

URL = "/api/v1/knowledge-base/tunings"
MONITOR_RULE = "mg-sugammadex-preferred"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def _proposal(department, **changes):
    return {
        "department": department.pk,
        "rule": MONITOR_RULE,
        "change": "monitor-to-none",
        "reason": "Alert fatigue: every myasthenic patient gets sugammadex here.",
        **changes,
    }


def test_an_administrator_proposes_and_two_reviewers_bring_it_into_force(
    department, department_admin, consultant_reviewer, pharmacist_reviewer
):
    admin = _client(department_admin)

    created = admin.post(URL, _proposal(department), format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "proposed"
    assert body["proposed_by"] == department_admin.username
    assert body["sign_offs"] == []
    sign_off_url = f"{URL}/{body['id']}/sign-off"

    first = _client(consultant_reviewer).post(sign_off_url)
    assert first.status_code == 200
    assert first.json()["status"] == "proposed"
    with nothing_changes():
        again = _client(consultant_reviewer).post(sign_off_url)
    assert again.status_code == 400
    assert "someone else" in again.json()["detail"]

    second = _client(pharmacist_reviewer).post(sign_off_url)

    assert second.status_code == 200
    assert second.json()["status"] == "in-force"
    assert [(s["kind"], s["reviewer"]) for s in second.json()["sign_offs"]] == [
        ("consultant-anaesthetist", consultant_reviewer.username),
        ("clinical-pharmacist", pharmacist_reviewer.username),
    ]
    (listed,) = admin.get(URL).json()
    assert listed["id"] == body["id"]
    assert listed["status"] == "in-force"


def test_two_reviewers_of_the_same_profession_do_not_bring_it_into_force(
    department, department_admin, consultant_reviewer
):
    from tests.conftest import _reviewer

    second_consultant = _reviewer("kb-consultant-2", "consultant-anaesthetist", department)
    created = _client(department_admin).post(URL, _proposal(department), format="json").json()
    sign_off_url = f"{URL}/{created['id']}/sign-off"
    _client(consultant_reviewer).post(sign_off_url)

    with nothing_changes():
        refused = _client(second_consultant).post(sign_off_url)

    assert refused.status_code == 400
    assert "already has a consultant anaesthetist's sign-off" in refused.json()["detail"]


def test_lowering_avoid_is_refused_with_the_floor_message(department, department_admin):
    rule_id = next(
        rule.id for rule in registry.get_knowledge_base().rules if rule.level == Level.AVOID
    )

    with nothing_changes():
        refused = _client(department_admin).post(
            URL, _proposal(department, rule=rule_id), format="json"
        )

    assert refused.status_code == 400
    (message,) = refused.json()["change"]
    assert rule_id in message
    assert "contraindicated and avoid are never lowered locally" in message


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"rule": "no-such-rule"}, "rule", "No rule 'no-such-rule'"),
        ({"reason": "  "}, "reason", ""),
        ({"change": "lower"}, "change", "not a valid choice"),
        ({"change": "raise", "level": "loud"}, "level", "Unknown level"),
        ({"change": "raise", "level": "none"}, "change", "raises nothing"),
        ({"change": "local-text", "text": ""}, "change", "Write the local text"),
        ({"colour": "red"}, "colour", "Unknown field"),
    ],
)
def test_bad_proposals_get_a_message_on_their_field(
    department, department_admin, changes, field, words
):
    with nothing_changes():
        refused = _client(department_admin).post(
            URL, _proposal(department, **changes), format="json"
        )

    assert refused.status_code == 400
    assert field in refused.json()
    assert words in refused.json()[field][0]


def test_only_administrators_propose_and_only_in_their_department(
    department, other_department, department_admin, anesthetist, consultant_reviewer
):
    with nothing_changes():
        assert (
            _client(anesthetist).post(URL, _proposal(department), format="json").status_code == 403
        )
        assert (
            _client(consultant_reviewer).post(URL, _proposal(department), format="json").status_code
            == 404
        )
        assert (
            _client(department_admin)
            .post(URL, _proposal(other_department), format="json")
            .status_code
            == 404
        )
    assert APIClient().get(URL).status_code == 401
    assert _client(anesthetist).get(URL).status_code == 403


def test_each_sees_and_signs_only_their_departments_tunings(
    department, other_department, department_admin, consultant_reviewer
):
    created = _client(department_admin).post(URL, _proposal(department), format="json").json()
    outsider_admin = _member("other-admin", Role.ADMIN, other_department)
    from tests.conftest import _reviewer

    outsider_reviewer = _reviewer("other-reviewer", "clinical-pharmacist", other_department)

    assert _client(outsider_admin).get(URL).json() == []
    assert [t["id"] for t in _client(consultant_reviewer).get(URL).json()] == [created["id"]]
    with nothing_changes():
        refused = _client(outsider_reviewer).post(f"{URL}/{created['id']}/sign-off")
    assert refused.status_code == 404
    assert _client(department_admin).post(f"{URL}/{created['id']}/sign-off").status_code == 403


def test_a_sign_off_carries_the_reviewers_comment(
    department, department_admin, consultant_reviewer
):
    created = _client(department_admin).post(URL, _proposal(department), format="json").json()
    sign_off_url = f"{URL}/{created['id']}/sign-off"
    with nothing_changes():
        refused = _client(consultant_reviewer).post(
            sign_off_url, {"comment": "x" * 2001}, format="json"
        )
        unknown = _client(consultant_reviewer).post(sign_off_url, {"note": "?"}, format="json")
    assert (refused.status_code, unknown.status_code) == (400, 400)
    assert "comment" in refused.json()
    assert "note" in unknown.json()

    signed = _client(consultant_reviewer).post(
        sign_off_url, {"comment": "Agreed for theatres."}, format="json"
    )

    assert signed.status_code == 200
    assert [(s["reviewer"], s["comment"]) for s in signed.json()["sign_offs"]] == [
        (consultant_reviewer.username, "Agreed for theatres.")
    ]


# --- each request reads the user's roles and the department once ---------------------------

# The token with its user, then the user's roles in every department (the role check, then
# passed to the view and the services).
API_START = 2
# The tuning answered: the tuning with its proposer and department, its sign-offs.
ANSWER = 2


def test_the_list_reads_the_roles_once(
    department, department_admin, consultant_reviewer, django_assert_num_queries
):
    created = _client(department_admin).post(URL, _proposal(department), format="json").json()
    client = _client(consultant_reviewer)

    with django_assert_num_queries(API_START + ANSWER):
        listed = client.get(URL)

    assert [tuning["id"] for tuning in listed.json()] == [created["id"]]


def test_a_proposal_reads_its_department_once(
    department, other_department, department_admin, django_assert_num_queries
):
    client = _client(department_admin)

    # the start, the department, the proposal and its audit event in one savepoint, the answer
    with django_assert_num_queries(API_START + 1 + 3 + audit_append_queries() + ANSWER):
        created = client.post(URL, _proposal(department), format="json")
    # another department: the start, and the department not found among the user's
    with nothing_changes(), django_assert_num_queries(API_START + 1):
        refused = client.post(URL, _proposal(other_department), format="json")

    assert created.status_code == 201
    assert created.json()["department"] == department.pk
    assert refused.status_code == 404


def test_a_sign_off_reads_the_reviewers_roles_once(
    department, department_admin, pharmacist_reviewer, django_assert_num_queries
):
    created = _client(department_admin).post(URL, _proposal(department), format="json").json()
    client = _client(pharmacist_reviewer)

    # the start, the tuning, the profession, then in one savepoint the sign-offs so far
    # (locked), the sign-off and its audit event; then the answer
    with django_assert_num_queries(API_START + 2 + 4 + audit_append_queries() + ANSWER):
        signed = client.post(f"{URL}/{created['id']}/sign-off")

    assert signed.status_code == 200
    assert [s["reviewer"] for s in signed.json()["sign_offs"]] == [pharmacist_reviewer.username]
    assert LocalTuning.objects.get().sign_offs.count() == 1
