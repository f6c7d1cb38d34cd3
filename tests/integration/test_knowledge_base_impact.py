"""Impact preview: a candidate release replayed on the department's signed assessments."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.services.impact import impact_preview
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.releases import release_bootstrap, release_import, release_knowledge_base
from tests.conftest import _member
from tests.factories import UserFactory
from tests.knowledge_releases import knowledge_copy, set_rule_level, signed_assessments

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
RULE = "mg-sugammadex-preferred"


def _candidate(tmp_path, version, new_level):
    directory = knowledge_copy(tmp_path, version)
    set_rule_level(directory, RULE, "monitor", new_level)
    release, _ = release_import(actor=SYSTEM, directory=directory)
    return release


@pytest.fixture
def signed(registry_restored, anesthetist, department):
    release_bootstrap()
    return signed_assessments(Actor.from_user(anesthetist), department)


def test_it_counts_the_assessments_that_would_change_per_drug_and_level(
    signed, tmp_path, department
):
    release = _candidate(tmp_path, "2026.12.1", "adjust")

    impact = impact_preview(
        kb=release_knowledge_base(release), department_ids={department.pk}, now=timezone.now()
    )

    assert impact.replayed == 3
    assert impact.changed == 1
    (row,) = impact.changed_rows
    assert (row.drug, row.level, row.up, row.down, row.other) == ("sugammadex", "monitor", 1, 0, 0)
    (example,) = impact.examples
    assert example.assessment_id == signed[0].pk
    assert (example.recorded, example.replayed, example.rules) == ("monitor", "adjust", (RULE,))
    assert example.conditions == ("myasthenia-gravis",)


def test_a_lowered_rule_counts_down(signed, tmp_path, department):
    release = _candidate(tmp_path, "2026.12.2", "none")

    impact = impact_preview(
        kb=release_knowledge_base(release), department_ids={department.pk}, now=timezone.now()
    )

    assert [(r.drug, r.level, r.up, r.down) for r in impact.changed_rows] == [
        ("sugammadex", "monitor", 0, 1)
    ]


def test_the_active_release_changes_nothing(signed, department):
    impact = impact_preview(
        kb=registry.get_knowledge_base(), department_ids={department.pk}, now=timezone.now()
    )

    assert impact.replayed == 3
    assert impact.changed == 0
    assert impact.examples == []


def test_only_the_window_and_the_departments_count(
    registry_restored, anesthetist, department, other_department, tmp_path
):
    release_bootstrap()
    actor = Actor.from_user(anesthetist)
    with time_machine.travel(timezone.now() - dt.timedelta(days=100), tick=True):
        signed_assessments(actor, department)
    signed_assessments(actor, department)
    outsider = _member("other-anaesthetist", Role.ANESTHETIST, other_department)
    signed_assessments(Actor.from_user(outsider), other_department)
    kb = release_knowledge_base(_candidate(tmp_path, "2026.12.1", "adjust"))
    now = timezone.now()

    assert impact_preview(kb=kb, department_ids={department.pk}, now=now).replayed == 3
    longer = impact_preview(kb=kb, department_ids={department.pk}, now=now, days=120)
    assert (longer.replayed, longer.changed) == (6, 2)
    assert impact_preview(kb=kb, department_ids=None, now=now).replayed == 6


def test_a_process_pool_gives_the_same_figures(signed, tmp_path, department):
    release = _candidate(tmp_path, "2026.12.1", "adjust")
    kb = release_knowledge_base(release)
    now = timezone.now()

    alone = impact_preview(kb=kb, department_ids={department.pk}, now=now)
    pooled = impact_preview(
        kb=kb, texts=release.texts(), department_ids={department.pk}, now=now, workers=2
    )

    assert pooled.counts == alone.counts
    assert pooled.examples == alone.examples
    assert pooled.changed == alone.changed == 1


# --- the pages ---------------------------------------------------------------------------


def test_the_page_shows_the_impact_with_de_identified_examples(
    signed, tmp_path, client, consultant_reviewer
):
    _candidate(tmp_path, "2026.12.1", "adjust")
    client.force_login(consultant_reviewer)

    response = client.get("/knowledge-base/releases/2026.12.1/impact")

    text = response.content.decode()
    assert response.status_code == 200
    assert "<dt>Replayed</dt><dd>3</dd>" in text
    assert "<dt>Would change</dt><dd>1</dd>" in text
    assert "Example 1: sugammadex monitor → adjust" in text
    assert f"/assessments/{signed[0].pk}/" not in text
    assert signed[0].patient.name not in text
    event = AuditEvent.objects.get(resource_type="knowledge-base-impact")
    assert event.action == "query"


def test_a_reviewer_who_may_read_patients_gets_links(signed, tmp_path, client):
    _candidate(tmp_path, "2026.12.1", "adjust")
    admin = UserFactory(username="site-admin", is_superuser=True)
    client.force_login(admin)

    text = client.get("/knowledge-base/releases/2026.12.1/impact?days=30").content.decode()

    assert f'href="/assessments/{signed[0].pk}/"' in text


def test_the_csv_has_a_row_per_drug_and_level(signed, tmp_path, client, consultant_reviewer):
    _candidate(tmp_path, "2026.12.1", "adjust")
    client.force_login(consultant_reviewer)

    response = client.get("/knowledge-base/releases/2026.12.1/impact.csv?days=90")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["assessments replayed", "3", "would change", "1"] in rows
    sugammadex = [row for row in rows if row[:2] == ["sugammadex", "monitor"]]
    assert len(sugammadex) == 1
    assert sugammadex[0][3:] == ["1", "0", "0"]
    example = next(row for row in rows if row[:1] == ["1"])
    assert example[1] == ""  # de-identified: no assessment id
    assert example[2:5] == ["sugammadex", "monitor", "adjust"]


def test_a_bad_number_of_days_is_a_form_error(signed, tmp_path, client, consultant_reviewer):
    _candidate(tmp_path, "2026.12.1", "adjust")
    client.force_login(consultant_reviewer)

    response = client.get("/knowledge-base/releases/2026.12.1/impact?days=0")

    assert response.status_code == 400
    assert "error-summary" in response.content.decode()
