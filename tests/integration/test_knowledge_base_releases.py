"""Knowledge-base releases as data: import, immutability, activation, replay."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from periop.api import ConflictError, DomainError
from periop.assessments.models import Assessment
from periop.assessments.services.replay import (
    assessment_reevaluate,
    assessment_replay,
    cautions_compare,
)
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.models import KnowledgeBaseActivation, KnowledgeBaseRelease
from periop.drugs.releases import (
    active_release,
    release_activate,
    release_bootstrap,
    release_import,
    release_knowledge_base,
)
from tests.conftest import api_token_for
from tests.knowledge_releases import (
    knowledge_copy,
    set_rule_level,
    sign_off_all,
    signed_assessments,
)

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


@pytest.fixture
def reviewers(consultant_reviewer, pharmacist_reviewer):
    return consultant_reviewer, pharmacist_reviewer


@pytest.fixture
def candidate(tmp_path):
    """The real knowledge base as 2026.12.1, with `mg-sugammadex-preferred` at adjust."""
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_rule_level(directory, "mg-sugammadex-preferred", "monitor", "adjust")
    return directory


def activate(release, django_capture_on_commit_callbacks, actor=SYSTEM):
    with django_capture_on_commit_callbacks(execute=True):
        return release_activate(actor=actor, release=release)


def test_import_stores_the_release_once_with_its_content_and_audits_it(anesthetist):
    directory = registry.knowledge_base_directory()
    release, created = release_import(actor=Actor.from_user(anesthetist), directory=directory)
    again, created_again = release_import(actor=SYSTEM, directory=directory)

    assert created
    assert not created_again
    assert again.pk == release.pk
    assert KnowledgeBaseRelease.objects.count() == 1
    assert release.digest == registry.get_knowledge_base().digest
    assert release.version == registry.get_knowledge_base().version
    assert release.imported_by == anesthetist
    assert "rules/myasthenia.toml" in json.loads(release.content)
    event = AuditEvent.objects.get(resource_type="knowledge-base-release")
    assert event.action == "create"
    assert json.loads(event.payload)["digest"] == release.digest


def test_the_stored_content_loads_back_to_the_same_knowledge_base():
    release, _ = release_import(actor=SYSTEM, directory=registry.knowledge_base_directory())
    registry._compiled.pop(release.digest)  # compile it from the row, not from memory
    try:
        kb = release_knowledge_base(release)
    finally:
        registry._compiled[release.digest] = registry.load_directory_knowledge_base()
    assert kb.digest == release.digest
    assert [rule.id for rule in kb.rules] == [
        rule.id for rule in registry.get_knowledge_base().rules
    ]


def test_other_content_under_a_stored_version_is_refused(tmp_path):
    release_import(actor=SYSTEM, directory=registry.knowledge_base_directory())
    changed = knowledge_copy(tmp_path, registry.get_knowledge_base().version)
    set_rule_level(changed, "mg-sugammadex-preferred", "monitor", "adjust")

    with pytest.raises(ConflictError) as raised:
        release_import(actor=SYSTEM, directory=changed)

    assert "already stored with other content" in raised.value.message
    assert KnowledgeBaseRelease.objects.count() == 1


def test_an_invalid_directory_is_refused_naming_the_file(tmp_path):
    broken = knowledge_copy(tmp_path, "2026.12.1")
    set_rule_level(broken, "mg-sugammadex-preferred", "monitor", "sometimes")

    with pytest.raises(DomainError) as raised:
        release_import(actor=SYSTEM, directory=broken)

    assert "myasthenia.toml" in raised.value.message
    assert not KnowledgeBaseRelease.objects.exists()


def _guarded(statement):
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_the_database_refuses_to_change_or_delete_a_release_or_an_activation(
    django_capture_on_commit_callbacks, registry_restored
):
    release = release_bootstrap()
    assert release is not None

    _guarded("UPDATE drugs_knowledgebaserelease SET content = '{}'")
    _guarded("DELETE FROM drugs_knowledgebaserelease")
    _guarded("UPDATE drugs_knowledgebaseactivation SET activated_by_name = 'someone'")
    _guarded("DELETE FROM drugs_knowledgebaseactivation")

    release.refresh_from_db()
    assert release.digest == registry.get_knowledge_base().digest
    assert KnowledgeBaseActivation.objects.count() == 1


def test_bootstrap_imports_and_activates_the_directory_only_when_nothing_is_active(
    registry_restored,
):
    first = release_bootstrap()
    second = release_bootstrap()

    assert first is not None
    assert second is None
    assert active_release() == first
    events = AuditEvent.objects.filter(resource_type="knowledge-base-release")
    assert [event.action for event in events.order_by("sequence")] == ["create", "update"]
    assert events.last().actor_kind == "system"


def test_start_up_follows_the_active_release_in_the_database(
    candidate, django_capture_on_commit_callbacks, registry_restored, settings
):
    settings.KNOWLEDGE_BASE_RECHECK_SECONDS = 0
    release_bootstrap()
    release, _ = release_import(actor=SYSTEM, directory=candidate)
    # Activated by another server: this process sees it on its next look at the database.
    KnowledgeBaseActivation.objects.create(
        release=release, activated_at=timezone.now(), activated_by_name="elsewhere"
    )

    assert registry.start_up().digest == release.digest
    assert registry.get_knowledge_base().version == "2026.12.1"


def test_activation_is_audited_and_refused_for_the_active_release(
    candidate, django_capture_on_commit_callbacks, registry_restored, anesthetist, reviewers
):
    release_bootstrap()
    release, _ = release_import(actor=SYSTEM, directory=candidate)
    sign_off_all(release, *reviewers)
    activate(release, django_capture_on_commit_callbacks, Actor.from_user(anesthetist))

    assert active_release() == release
    assert registry.get_knowledge_base().digest == release.digest
    event = AuditEvent.objects.filter(resource_type="knowledge-base-release").last()
    assert event.action == "update"
    assert event.actor_username == anesthetist.username
    payload = json.loads(event.payload)
    assert payload["activated"]["version"] == "2026.12.1"
    assert payload["replaced"]["version"] == registry.load_directory_knowledge_base().version
    with pytest.raises(ConflictError, match="already active"):
        release_activate(actor=SYSTEM, release=release)


def test_every_signed_assessment_replays_identically_on_its_own_release(
    candidate,
    django_capture_on_commit_callbacks,
    registry_restored,
    anesthetist,
    department,
    reviewers,
):
    actor = Actor.from_user(anesthetist)
    original = release_bootstrap()
    before = signed_assessments(actor, department)
    release, _ = release_import(actor=SYSTEM, directory=candidate)
    sign_off_all(release, *reviewers)
    activate(release, django_capture_on_commit_callbacks)
    after = signed_assessments(actor, department)

    assert {a.knowledge_base_digest for a in before} == {original.digest}
    assert {a.knowledge_base_digest for a in after} == {release.digest}
    for assessment in Assessment.objects.filter(status="signed"):
        result = assessment_replay(assessment)
        assert result["identical"], (assessment.pk, result["differences"])
        assert result["knowledge_base"]["digest"] == assessment.knowledge_base_digest
    # The candidate really differs for the myasthenic patient: replayed on it, the old
    # assessment shows the change, drug by drug.
    myasthenic = before[0]
    recorded = json.loads(myasthenic.cautions_snapshot)["cautions"]
    differences = cautions_compare(
        recorded, assessment_reevaluate(myasthenic, release_knowledge_base(release))
    )
    level_change = {"field": "level", "recorded": "monitor", "replayed": "adjust"}
    assert {"drug": "sugammadex", **level_change} in differences
    assert {
        "drug": "sugammadex",
        "field": "finding",
        "rule": "mg-sugammadex-preferred",
        "recorded": "monitor",
        "replayed": "adjust",
    } in differences


def test_replay_reports_each_difference_when_the_record_differs(anesthetist, department):
    actor = Actor.from_user(anesthetist)
    (assessment, *_) = signed_assessments(actor, department)
    cautions = json.loads(assessment.cautions_snapshot)["cautions"]
    shown = [dict(card) for card in cautions]
    shown[0] = {**shown[0], "level": "none", "findings": [], "dose": None}

    differences = cautions_compare(shown, cautions)

    fields = {(d["drug"], d["field"]) for d in differences}
    assert ("rocuronium", "level") in fields
    assert ("rocuronium", "dose") in fields
    assert ("rocuronium", "finding") in fields
    assert all(d["drug"] == "rocuronium" for d in differences)


def test_the_replay_command_and_endpoint_say_identical(anesthetist, department, api_client):
    (assessment, *_) = signed_assessments(Actor.from_user(anesthetist), department)
    out = StringIO()
    call_command("knowledge_base", "replay", "--assessment", str(assessment.pk), stdout=out)
    assert out.getvalue().strip().endswith("identical")

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(anesthetist)}")
    response = api_client.get(f"/api/v1/assessments/{assessment.pk}/replay")

    assert response.status_code == 200
    body = response.json()
    assert body["identical"] is True
    assert body["differences"] == []
    assert body["knowledge_base"]["digest"] == assessment.knowledge_base_digest
    assert AuditEvent.objects.filter(
        resource_type="assessment", resource_id=str(assessment.pk), action="read"
    ).exists()


def test_the_replay_endpoint_is_department_scoped(anesthetist, department, outsider, api_client):
    (assessment, *_) = signed_assessments(Actor.from_user(anesthetist), department)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(outsider)}")

    assert api_client.get(f"/api/v1/assessments/{assessment.pk}/replay").status_code == 404


def test_the_commands_import_list_and_activate(
    candidate, django_capture_on_commit_callbacks, registry_restored, reviewers
):
    release_bootstrap()
    out = StringIO()
    call_command("knowledge_base", "import", "--path", str(candidate), stdout=out)
    call_command("knowledge_base", "import", "--path", str(candidate), stdout=out)
    sign_off_all(KnowledgeBaseRelease.objects.get(version="2026.12.1"), *reviewers)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("knowledge_base", "activate", "2026.12.1", stdout=out)
    call_command("knowledge_base", "releases", stdout=out)
    text = out.getvalue()

    assert "Imported release 2026.12.1" in text
    assert "already stored: nothing to do" in text
    assert "Release 2026.12.1" in text
    assert "is now active" in text
    assert "* 2026.12.1" in text
    with pytest.raises(CommandError, match="No stored knowledge-base release"):
        call_command("knowledge_base", "activate", "2099.1.1")


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_store_a_release_and_still_be_flushed(
    audit_guard_lifted, registry_restored
):
    # The guards stay in place during the test and are lifted only for the flush.
    release = release_bootstrap()
    assert active_release() == release
    with pytest.raises(DatabaseError, match="immutable"):
        KnowledgeBaseRelease.objects.filter(pk=release.pk).update(version="2099.1.1")
