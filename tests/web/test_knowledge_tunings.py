"""The local-tuning pages: a department administrator proposes within the floors, two
reviewers of the two professions sign off with a comment, and each sees only their own
departments' tunings, with the same services, messages and refusals as the API."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from periop.accounts.models import Role
from periop.audit.models import AuditEvent
from periop.drugs import registry
from periop.drugs.engine import Level
from periop.drugs.models import LocalTuning, TuningSignOff
from periop.drugs.tunings import tuning_propose, tuning_sign_off
from tests.conftest import (
    _member,
    _reviewer,
    audit_append_queries,
    client_for,
    nothing_changes,
)

pytestmark = pytest.mark.django_db

LIST = "/knowledge-base/tunings/"
NEW = "/knowledge-base/tunings/new"
MONITOR_RULE = "mg-sugammadex-preferred"
REASON = "Alert fatigue: every myasthenic patient gets sugammadex here."


def _browser(user: Any) -> Client:
    """A browser that sends the CSRF token only where a page gave it one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _token(client: Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert found is not None
    return found.group(1)


def _proposal(department: Any, **changes: Any) -> dict[str, Any]:
    return {
        "department": department.pk,
        "rule": MONITOR_RULE,
        "change": "monitor-to-none",
        "level": "",
        "text": "",
        "reason": REASON,
        **changes,
    }


def _avoid_rule() -> str:
    return next(r.id for r in registry.get_knowledge_base().rules if r.level == Level.AVOID)


@contextmanager
def no_tuning_changes() -> Iterator[None]:
    """`nothing_changes`, and no tuning or sign-off written either."""

    def rows() -> tuple[list[Any], list[Any]]:
        return (
            list(LocalTuning.objects.order_by("pk").values()),
            list(TuningSignOff.objects.order_by("pk").values()),
        )

    before = rows()
    with nothing_changes():
        yield
    assert rows() == before, "a refused request changed a tuning"


def _proposed(department: Any, admin: Any) -> LocalTuning:
    return tuning_propose(
        user=admin,
        department=department,
        rule_id=MONITOR_RULE,
        change="monitor-to-none",
        reason=REASON,
    )


def _text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- proposing --------------------------------------------------------------------------


def test_an_administrator_proposes_through_the_form_and_the_list_shows_it(
    department, department_admin
):
    browser = _browser(department_admin)
    token = _token(browser, NEW)

    response = browser.post(NEW, {**_proposal(department), "csrfmiddlewaretoken": token})

    tuning = LocalTuning.objects.get()
    assert response.status_code == 302
    assert response.url == f"{LIST}#tuning-{tuning.pk}"
    assert (tuning.department, tuning.rule_id, tuning.change) == (
        department,
        MONITOR_RULE,
        "monitor-to-none",
    )
    listing = _text(browser.get(LIST))
    assert f"Tuning of {MONITOR_RULE} proposed" in listing
    assert "<strong>Proposed</strong>" in listing
    assert f"by {department_admin.username}" in listing
    assert REASON in listing
    assert "Awaiting a consultant anaesthetist's sign-off" in listing
    assert "Awaiting a clinical pharmacist's sign-off" in listing
    # Audited as the API audits it: the service's event, by the administrator.
    event = AuditEvent.objects.get(resource_type="knowledge-base-tuning")
    assert (event.action, event.actor_username, event.department_id) == (
        "create",
        department_admin.username,
        department.pk,
    )
    assert json.loads(event.payload)["rule"] == MONITOR_RULE


def test_a_proposal_without_the_csrf_token_is_refused(department, department_admin):
    browser = _browser(department_admin)

    with no_tuning_changes():
        response = browser.post(NEW, _proposal(department))

    assert response.status_code == 403


def test_lowering_avoid_is_a_form_error_with_the_apis_message(department, department_admin):
    rule_id = _avoid_rule()
    api = client_for(department_admin).post(
        "/api/v1/knowledge-base/tunings",
        {key: value for key, value in _proposal(department, rule=rule_id).items() if value},
        format="json",
    )
    (api_message,) = api.json()["change"]
    browser = _browser(department_admin)
    token = _token(browser, NEW)

    with no_tuning_changes():
        response = browser.post(
            NEW, {**_proposal(department, rule=rule_id), "csrfmiddlewaretoken": token}
        )

    assert response.status_code == 400
    page = _text(response)
    assert "contraindicated and avoid are never lowered locally" in api_message
    # Next to the change it concerns, and in the summary at the top.
    error = re.search(r'<div id="id_change_error">(.*?)</div>', page, re.S)
    assert error is not None
    assert api_message in error.group(1)
    assert f"Change: {api_message}" in page
    # The form keeps what was typed.
    assert f'<option value="{rule_id}" selected>' in page
    assert REASON in page


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"rule": "no-such-rule"}, "rule", "No rule 'no-such-rule'"),
        ({"reason": "  "}, "reason", "This field is required."),
        ({"change": "lower"}, "change", "Select a valid choice."),
        ({"change": "raise", "level": "loud"}, "level", "Unknown level"),
        ({"change": "raise", "level": "monitor"}, "change", "raises nothing"),
        ({"change": "local-text", "text": ""}, "change", "Write the local text"),
    ],
)
def test_bad_proposals_get_a_message_on_their_field(
    client, department, department_admin, changes, field, words
):
    client.force_login(department_admin)

    with no_tuning_changes():
        response = client.post(NEW, _proposal(department, **changes))

    assert response.status_code == 400
    error = re.search(rf'<div id="id_{field}_error">(.*?)</div>', _text(response), re.S)
    assert error is not None, field
    assert words in error.group(1)
    # Each link of the error summary leads to an element of the page (for a group of radio
    # buttons, its first button), as the summary's pattern needs.
    page = _text(response)
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary is not None
    targets = re.findall(r'href="#([^"]+)"', summary.group(0))
    assert targets
    for target in targets:
        assert f'id="{target}"' in page, target


def test_a_raise_and_local_text_are_proposed(client, department, department_admin):
    client.force_login(department_admin)

    raised = client.post(NEW, _proposal(department, change="raise", level="avoid"))
    text = client.post(
        NEW, _proposal(department, change="local-text", text="Bleep the on-call specialist.")
    )

    assert (raised.status_code, text.status_code) == (302, 302)
    assert list(LocalTuning.objects.order_by("pk").values_list("change", "level", "text")) == [
        ("raise", "avoid", ""),
        ("local-text", "", "Bleep the on-call specialist."),
    ]
    listing = _text(client.get(LIST))
    assert f"{MONITOR_RULE}</code>: raise the level to avoid" in listing
    assert "Local text:</strong> Bleep the on-call specialist." in listing


# --- signing off ------------------------------------------------------------------------


def test_two_reviewers_sign_off_with_comments_and_the_tuning_is_in_force(
    department, department_admin, consultant_reviewer, pharmacist_reviewer
):
    tuning = _proposed(department, department_admin)
    url = f"/knowledge-base/tunings/{tuning.pk}/sign-off"
    field = f"t{tuning.pk}-comment"

    consultant = _browser(consultant_reviewer)
    page = _text(consultant.get(LIST))
    assert f"Sign off the tuning of {MONITOR_RULE} as consultant anaesthetist" in page
    first = consultant.post(
        url,
        {field: "Agreed for this theatre suite.", "csrfmiddlewaretoken": _token(consultant, LIST)},
    )
    assert first.status_code == 302
    page = _text(consultant.get(LIST))
    assert "<strong>Signed once</strong>" in page
    assert "Signed off by kb-consultant (consultant anaesthetist)" in page
    assert "Agreed for this theatre suite." in page
    # Signed once by this reviewer: no second button for them.
    assert "Sign off the tuning of" not in page

    pharmacist = _browser(pharmacist_reviewer)
    second = pharmacist.post(
        url, {field: "Pharmacy agrees.", "csrfmiddlewaretoken": _token(pharmacist, LIST)}
    )

    assert second.status_code == 302
    page = _text(pharmacist.get(LIST))
    assert "<strong>In force</strong>" in page
    assert "Signed off by kb-pharmacist (clinical pharmacist)" in page
    assert "Pharmacy agrees." in page
    assert "Awaiting" not in page
    signs = AuditEvent.objects.filter(resource_type="knowledge-base-tuning", action="sign")
    assert [
        (event.actor_username, json.loads(event.payload)["comment"])
        for event in signs.order_by("sequence")
    ] == [
        ("kb-consultant", "Agreed for this theatre suite."),
        ("kb-pharmacist", "Pharmacy agrees."),
    ]
    # The administrator sees the same.
    admin_page = _text(_browser(department_admin).get(LIST))
    assert "<strong>In force</strong>" in admin_page


def test_a_sign_off_without_the_csrf_token_is_refused(
    department, department_admin, consultant_reviewer
):
    tuning = _proposed(department, department_admin)
    browser = _browser(consultant_reviewer)

    with no_tuning_changes():
        response = browser.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {})

    assert response.status_code == 403


def test_a_second_sign_off_of_the_same_profession_is_shown_as_an_error(
    client, department, department_admin, consultant_reviewer
):
    tuning = _proposed(department, department_admin)
    tuning_sign_off(user=consultant_reviewer, tuning=tuning)
    second_consultant = _reviewer("kb-consultant-2", "consultant-anaesthetist", department)
    client.force_login(second_consultant)

    with no_tuning_changes():
        response = client.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {})

    assert response.status_code == 400
    page = _text(response)
    assert "error-summary" in page
    assert "This tuning already has a consultant anaesthetist's sign-off." in page


def test_a_comment_too_long_is_refused_with_its_message(
    client, department, department_admin, consultant_reviewer
):
    tuning = _proposed(department, department_admin)
    client.force_login(consultant_reviewer)

    with no_tuning_changes():
        response = client.post(
            f"/knowledge-base/tunings/{tuning.pk}/sign-off", {f"t{tuning.pk}-comment": "x" * 2001}
        )

    assert response.status_code == 400
    assert "Comment: Ensure this value has at most 2000 characters" in _text(response)


# --- who may do what ----------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client, department, department_admin):
    tuning = _proposed(department, department_admin)

    for response in (
        client.get(LIST),
        client.get(NEW),
        client.post(NEW, _proposal(department)),
        client.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {}),
    ):
        assert response.status_code == 302
        assert response.url.startswith("/login")


def test_other_roles_are_refused_as_by_the_api(
    client, department, department_admin, anesthetist, consultant_reviewer
):
    tuning = _proposed(department, department_admin)
    client.force_login(anesthetist)
    with no_tuning_changes():
        assert client.get(LIST).status_code == 403
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, _proposal(department)).status_code == 403
        assert client.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {}).status_code == 403

    # A reviewer proposes nothing: no form, and a posted proposal finds no department (404),
    # as the API answers.
    client.force_login(consultant_reviewer)
    with no_tuning_changes():
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, _proposal(department)).status_code == 404

    # An administrator signs nothing off (403, as the API).
    client.force_login(department_admin)
    with no_tuning_changes():
        assert client.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {}).status_code == 403


def test_another_departments_people_neither_see_nor_act_on_the_tuning(
    client, department, other_department, department_admin
):
    tuning = _proposed(department, department_admin)
    outsider_admin = _member("other-admin", Role.ADMIN, other_department)
    outsider_reviewer = _reviewer("other-reviewer", "clinical-pharmacist", other_department)

    client.force_login(outsider_admin)
    assert MONITOR_RULE not in _text(client.get(LIST))
    with no_tuning_changes():
        assert client.post(NEW, _proposal(department)).status_code == 404
    client.force_login(outsider_reviewer)
    assert MONITOR_RULE not in _text(client.get(LIST))
    with no_tuning_changes():
        page_refusal = client.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {})
        api_refusal = client_for(outsider_reviewer).post(
            f"/api/v1/knowledge-base/tunings/{tuning.pk}/sign-off"
        )
    assert (page_refusal.status_code, api_refusal.status_code) == (404, 404)
    assert client.post("/knowledge-base/tunings/999999/sign-off", {}).status_code == 404


def test_the_header_links_the_tunings_for_administrators_and_reviewers(
    client, department_admin, consultant_reviewer, anesthetist
):
    link = f'href="{LIST}"'
    client.force_login(department_admin)
    assert link in client.get("/").content.decode()
    client.force_login(consultant_reviewer)
    assert link in client.get("/knowledge-base/releases/").content.decode()
    client.force_login(anesthetist)
    assert link not in client.get("/").content.decode()


def test_the_list_costs_the_same_for_1_and_many_tunings(
    client, department, department_admin, consultant_reviewer, django_assert_num_queries
):
    client.force_login(consultant_reviewer)
    for many in (1, 9):
        for _ in range(many):
            tuning = _proposed(department, department_admin)
            tuning_sign_off(user=consultant_reviewer, tuning=tuning)
        # the session, the user, the user's roles in every department (read once: the role
        # check, the departments reviewed and visible, the header's links), the workplace's
        # memberships, the profession, the tunings with their proposers and departments, their
        # sign-offs with the reviewers
        with django_assert_num_queries(7):
            response = client.get(LIST)
        assert response.status_code == 200
        assert _text(response).count("Signed off by kb-consultant") == LocalTuning.objects.count()


# --- each request reads the user's roles and the department once ---------------------------

# The session, the user, the user's roles in every department (the role check, then passed to
# the view and the services), the workplace's memberships (the header).
PAGE_START = 4


def _settled(user: Any) -> Client:
    """A browser whose session already holds the workplace, so no request saves it again."""
    client = Client()
    client.force_login(user)
    assert client.get(LIST).status_code == 200
    return client


def test_the_proposal_form_reads_the_departments_once(
    department, department_admin, django_assert_num_queries
):
    browser = _settled(department_admin)

    # the start, then the departments the user administers (the form's choices)
    with django_assert_num_queries(PAGE_START + 1):
        response = browser.get(NEW)

    assert response.status_code == 200
    assert f'<option value="{department.pk}" selected>Main theatres</option>' in _text(response)


def test_a_proposal_reads_its_department_once(
    department, department_admin, django_assert_num_queries
):
    browser = _settled(department_admin)

    # the start, the departments the user administers (the one proposed for among them), then
    # the proposal and its audit event in one savepoint
    with django_assert_num_queries(PAGE_START + 1 + 3 + audit_append_queries()):
        response = browser.post(NEW, _proposal(department))

    assert response.status_code == 302
    assert LocalTuning.objects.get().department == department


def test_a_refused_proposal_reads_its_department_once(
    department, other_department, department_admin, django_assert_num_queries
):
    browser = _settled(department_admin)

    # the start and the departments the user administers, for the floor's form error and for
    # another department's 404 alike
    with no_tuning_changes():
        with django_assert_num_queries(PAGE_START + 1):
            floor = browser.post(NEW, _proposal(department, rule=_avoid_rule()))
        with django_assert_num_queries(PAGE_START + 1):
            elsewhere = browser.post(NEW, _proposal(other_department))

    assert (floor.status_code, elsewhere.status_code) == (400, 404)


def test_a_sign_off_reads_the_reviewers_roles_once(
    department, department_admin, consultant_reviewer, django_assert_num_queries
):
    tuning = _proposed(department, department_admin)
    browser = _settled(consultant_reviewer)

    # the start, the tuning, the profession, then in one savepoint the sign-offs so far
    # (locked), the sign-off and its audit event
    with django_assert_num_queries(PAGE_START + 2 + 4 + audit_append_queries()):
        response = browser.post(f"/knowledge-base/tunings/{tuning.pk}/sign-off", {})

    assert response.status_code == 302
    assert TuningSignOff.objects.get().reviewer == consultant_reviewer
