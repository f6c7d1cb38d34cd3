"""A record signed before plans were stored (no plan snapshot) is never judged again by a
later release: its page and its API show the cards stored when it was signed, whatever
release is active since, and only its own release re-evaluates it."""

from __future__ import annotations

import pytest
from django.db import connection

from periop.assessments import guards
from periop.assessments.models import Assessment
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.releases import release_activate, release_bootstrap, release_import
from tests.knowledge_releases import knowledge_copy, set_rule_level, sign_off_all
from tests.knowledge_releases import signed_assessments as signed_fixture_set

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


def without_plan(assessment: Assessment) -> Assessment:
    """The record as one signed before plans were stored: the same rows, no plan snapshot.
    Signed rows are guarded; the change is made around the guards, as a migration of old
    data would be."""
    guards.remove(connection)
    try:
        Assessment.objects.filter(pk=assessment.pk).update(plan_snapshot="")
    finally:
        guards.install(connection)
    return Assessment.objects.get(pk=assessment.pk)


@pytest.fixture
def myasthenia_record(anesthetist, department):
    """Generalised AChR myasthenia, signed with sugammadex planned (a monitor caution from
    `mg-sugammadex-preferred` under the shipped release), stored without its plan."""
    signed = signed_fixture_set(Actor.from_user(anesthetist), department)[0]
    record = without_plan(signed)
    assert record.is_signed
    assert not record.plan_snapshot
    return record


def plan_levels(client, record):
    response = client.get(f"/api/v1/assessments/{record.pk}")
    assert response.status_code == 200, response.content
    return {line["drug"]: line["level"] for line in response.json()["plan"]}


def test_a_record_signed_without_a_plan_keeps_its_stored_levels_under_a_later_release(
    tmp_path,
    registry_restored,
    django_capture_on_commit_callbacks,
    consultant_reviewer,
    pharmacist_reviewer,
    anesthetist,
    anesthetist_client,
    client,
    myasthenia_record,
):
    before = plan_levels(anesthetist_client, myasthenia_record)
    assert before["sugammadex"] == "monitor"

    release_bootstrap()
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_rule_level(directory, "mg-sugammadex-preferred", "monitor", "adjust")
    release, _ = release_import(actor=SYSTEM, directory=directory)
    sign_off_all(release, consultant_reviewer, pharmacist_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        release_activate(actor=SYSTEM, release=release)
    assert registry.get_knowledge_base().version == "2026.12.1"

    # The new release rates sugammadex higher for this patient...
    check = anesthetist_client.post(
        f"/api/v1/patients/{myasthenia_record.patient_id}/checks",
        {"drugs": ["sugammadex"]},
        format="json",
    )
    assert check.status_code == 200, check.content
    assert check.json()["cautions"][0]["level"] == "adjust"

    # ...but the signed record shows what was signed, through the API and its page.
    assert plan_levels(anesthetist_client, myasthenia_record) == before
    client.force_login(anesthetist)
    page = client.get(f"/assessments/{myasthenia_record.pk}/")
    assert page.status_code == 200
    rows = {row.drug: row for row in page.context["plan_rows"]}
    assert rows["sugammadex"].level == "monitor"
    assert {row.drug: row.level for row in rows.values()} == before
