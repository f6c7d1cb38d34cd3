"""Review of a candidate release: the rule diff, two sign-offs of different kinds, comments,
the activation gate, and the reviewers' pages and API action."""

from __future__ import annotations

import html
import json

import pytest
from django.db import DatabaseError, connection, transaction

from periop.accounts.models import Role
from periop.accounts.services import profession_set
from periop.api import ConflictError, DomainError
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.models import RuleComment, RuleSignOff
from periop.drugs.releases import (
    active_release,
    release_activate,
    release_bootstrap,
    release_import,
)
from periop.drugs.reviews import release_diff, rule_comment, rule_sign_off
from tests.conftest import _member, api_token_for
from tests.knowledge_releases import knowledge_copy, set_rule_level

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
RULE = "mg-sugammadex-preferred"


@pytest.fixture
def candidate(tmp_path, registry_restored):
    """The active release is the real knowledge base; the candidate, a copy of it as
    2026.12.1 with `mg-sugammadex-preferred` at adjust instead of monitor."""
    release_bootstrap()
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_rule_level(directory, RULE, "monitor", "adjust")
    release, _ = release_import(actor=SYSTEM, directory=directory)
    return release


def test_the_diff_names_the_changed_rule_and_its_level_change(candidate):
    (change,) = release_diff(candidate, active_release())

    assert change.rule_id == RULE
    assert change.change == "changed"
    assert (change.level_before, change.level_after) == ("monitor", "adjust")
    assert change.level_changed
    assert change.changed_keys == ["level"]
    assert not change.signed


def test_a_changed_condition_needs_review_as_a_rule_does(tmp_path, registry_restored):
    release_bootstrap()
    directory = knowledge_copy(tmp_path, "2026.12.3")
    conditions = directory / "conditions.toml"
    text = conditions.read_text(encoding="utf-8")
    start = text.index('code = "myasthenia-gravis"')
    at = text.index('receptor_effect = "down"', start)
    conditions.write_text(
        text[:at] + 'receptor_effect = "none"' + text[at + len('receptor_effect = "down"') :],
        encoding="utf-8",
    )
    release, _ = release_import(actor=SYSTEM, directory=directory)

    changes = release_diff(release, active_release())

    assert [(change.rule_id, change.changed_keys) for change in changes] == [
        ("condition:myasthenia-gravis", ["receptor_effect"])
    ]
    with pytest.raises(ConflictError, match="condition:myasthenia-gravis"):
        release_activate(actor=SYSTEM, release=release)


def test_an_unchanged_copy_has_no_rule_to_review_and_activates_at_once(
    tmp_path, registry_restored, django_capture_on_commit_callbacks
):
    release_bootstrap()
    release, _ = release_import(actor=SYSTEM, directory=knowledge_copy(tmp_path, "2026.12.2"))

    assert release_diff(release, active_release()) == []
    with django_capture_on_commit_callbacks(execute=True):
        release_activate(actor=SYSTEM, release=release)
    assert active_release() == release


def test_activation_is_refused_until_both_kinds_have_signed(
    candidate, consultant_reviewer, pharmacist_reviewer, django_capture_on_commit_callbacks
):
    with pytest.raises(ConflictError) as unsigned:
        release_activate(actor=SYSTEM, release=candidate)
    assert RULE in unsigned.value.message
    assert "consultant anaesthetist" in unsigned.value.message
    assert "clinical pharmacist" in unsigned.value.message

    rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)
    with pytest.raises(ConflictError) as half:
        release_activate(actor=SYSTEM, release=candidate)
    assert RULE in half.value.message
    assert "clinical pharmacist" in half.value.message
    assert "consultant anaesthetist" not in half.value.message

    rule_sign_off(user=pharmacist_reviewer, release=candidate, rule_id=RULE)
    with django_capture_on_commit_callbacks(execute=True):
        release_activate(actor=SYSTEM, release=candidate)
    assert active_release() == candidate
    assert registry.get_knowledge_base().digest == candidate.digest


def test_one_person_gives_only_one_of_the_two_sign_offs(candidate, consultant_reviewer):
    rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)
    # Even with another profession recorded since, the second sign-off must be someone else's.
    profession_set(actor="tests", user=consultant_reviewer, profession="clinical-pharmacist")

    with pytest.raises(DomainError, match="someone else"):
        rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)
    assert RuleSignOff.objects.count() == 1


def test_a_kind_is_signed_once(candidate, consultant_reviewer, department):
    other = _member("kb-consultant-2", Role.KB_REVIEWER, department)
    profession_set(actor="tests", user=other, profession="consultant-anaesthetist")
    rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)

    with pytest.raises(DomainError, match="already has a consultant anaesthetist"):
        rule_sign_off(user=other, release=candidate, rule_id=RULE)


def test_only_reviewers_with_a_profession_sign_off(candidate, anesthetist, department):
    with pytest.raises(DomainError, match="Only a knowledge-base reviewer"):
        rule_sign_off(user=anesthetist, release=candidate, rule_id=RULE)
    reviewer = _member("kb-none", Role.KB_REVIEWER, department)
    with pytest.raises(DomainError, match="no profession"):
        rule_sign_off(user=reviewer, release=candidate, rule_id=RULE)
    assert not RuleSignOff.objects.exists()


def test_only_a_changed_rule_can_be_signed_off(candidate, consultant_reviewer):
    with pytest.raises(DomainError, match="not a rule or entry that is new, removed or changed"):
        rule_sign_off(user=consultant_reviewer, release=candidate, rule_id="sux-burn-window")


def test_sign_offs_and_comments_are_audited_and_immutable(
    candidate, consultant_reviewer, pharmacist_reviewer
):
    rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)
    rule_comment(user=pharmacist_reviewer, release=candidate, rule_id=RULE, text="Level agreed.")

    sign = AuditEvent.objects.get(resource_type="knowledge-base-rule")
    assert sign.action == "sign"
    assert sign.actor_username == consultant_reviewer.username
    assert json.loads(sign.payload)["kind"] == "consultant-anaesthetist"
    comment = AuditEvent.objects.get(resource_type="knowledge-base-comment")
    assert json.loads(comment.payload)["text"] == "Level agreed."
    for table in ("drugs_rulesignoff", "drugs_rulecomment"):
        with (
            pytest.raises(DatabaseError, match="immutable"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a constant table name)
    assert RuleComment.objects.get().text == "Level agreed."


def test_an_empty_comment_is_refused(candidate, consultant_reviewer):
    with pytest.raises(DomainError, match="Write the comment"):
        rule_comment(user=consultant_reviewer, release=candidate, rule_id=RULE, text="  ")


# --- the pages ---------------------------------------------------------------------------


def test_the_review_page_shows_the_diff_status_and_forms(candidate, client, consultant_reviewer):
    client.force_login(consultant_reviewer)

    listing = client.get("/knowledge-base/releases/")
    page = client.get("/knowledge-base/releases/2026.12.1/")

    assert "2026.12.1" in listing.content.decode()
    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert RULE in text
    assert "monitor → adjust" in text
    assert "rule-review--level" in text
    assert "Awaiting a consultant anaesthetist's sign-off" in text
    assert "Awaiting a clinical pharmacist's sign-off" in text
    assert f"Sign off {RULE} as consultant anaesthetist" in text


def test_reviewers_sign_off_comment_and_activate_in_the_browser(
    candidate, client, consultant_reviewer, pharmacist_reviewer, django_capture_on_commit_callbacks
):
    url = "/knowledge-base/releases/2026.12.1/"
    client.force_login(consultant_reviewer)
    refused = client.post(url, {"action": "activate"})
    assert refused.status_code == 400
    assert "error-summary" in refused.content.decode()
    assert RULE in refused.content.decode()
    assert active_release() != candidate

    client.post(url, {"action": "sign-off", "rule": RULE})
    client.post(url, {"action": "comment", "rule": RULE, "text": "Agreed with S.."})
    client.force_login(pharmacist_reviewer)
    client.post(url, {"action": "sign-off", "rule": RULE})
    page = client.get(url).content.decode()
    assert "Signed off by kb-consultant (consultant anaesthetist)" in page
    assert "Signed off by kb-pharmacist (clinical pharmacist)" in page
    assert "Agreed with S.." in page
    with django_capture_on_commit_callbacks(execute=True):
        activated = client.post(url, {"action": "activate"})

    assert activated.status_code == 302
    assert active_release() == candidate


def test_the_pages_are_for_reviewers_only(candidate, client, anesthetist):
    client.force_login(anesthetist)

    assert client.get("/knowledge-base/releases/").status_code == 403
    assert (
        client.post("/knowledge-base/releases/2026.12.1/", {"action": "activate"}).status_code
        == 403
    )


def test_a_reviewer_starts_on_the_releases_and_sees_no_patient(
    client, consultant_reviewer, api_client
):
    client.force_login(consultant_reviewer)
    assert client.get("/").url == "/knowledge-base/releases/"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(consultant_reviewer)}")
    assert api_client.get("/api/v1/patients").status_code == 403


# --- the API action --------------------------------------------------------------------


def test_the_api_activates_only_a_signed_release_for_reviewers(
    candidate,
    api_client,
    anesthetist,
    consultant_reviewer,
    pharmacist_reviewer,
    django_capture_on_commit_callbacks,
):
    url = "/api/v1/knowledge-base/releases/2026.12.1/activate"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(anesthetist)}")
    assert api_client.post(url).status_code == 403

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(consultant_reviewer)}")
    refused = api_client.post(url)
    assert refused.status_code == 409
    assert refused.json()["code"] == "unsigned_rules"
    assert RULE in refused.json()["detail"]

    rule_sign_off(user=consultant_reviewer, release=candidate, rule_id=RULE)
    rule_sign_off(user=pharmacist_reviewer, release=candidate, rule_id=RULE)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url)

    assert response.status_code == 200
    assert response.json()["digest"] == candidate.digest
    assert api_client.post("/api/v1/knowledge-base/releases/2099.1.1/activate").status_code == 400
