"""The growth chart behind the implausible-weight warning is part of a knowledge-base release:
it counts in the digest, a change to it is an item of the review that needs sign-off, and the
weight is checked against the chart of the release in force. A release stored before the chart
was part of releases keeps its digest, and a child's weight under it is checked on the chart
such releases were checked on (pinned by its data's digest), or flagged as unchecked."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import tomllib
from decimal import Decimal

import pytest
from django.utils import timezone

from periop.api import ConflictError
from periop.assessments import services
from periop.assessments.services.plausibility import assessment_warnings
from periop.audit.services import Actor
from periop.drugs import plausibility, registry
from periop.drugs.engine import load_knowledge_base
from periop.drugs.engine.loader import load_knowledge_base_texts, read_release_files
from periop.drugs.engine.toml_checks import canonical_json
from periop.drugs.models import KnowledgeBaseRelease
from periop.drugs.releases import (
    active_release,
    release_activate,
    release_bootstrap,
    release_import,
    release_knowledge_base,
)
from periop.drugs.reviews import release_diff
from tests.factories import PatientFactory
from tests.knowledge_releases import (
    GROWTH_FILE,
    knowledge_copy,
    set_growth_value,
    sign_off_all,
)

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
BOYS_12_5 = "12.5, -0.179254, 10.45885399"
GROWTH_ITEMS = [
    "growth:weight-for-age:boys",
    "growth:weight-for-age:girls",
    "growth:weight-for-age:implausible",
    "growth:weight-for-age:source",
]


def activate(release, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return release_activate(actor=SYSTEM, release=release)


def files_digest(texts: dict[str, str]) -> str:
    """The digest as releases have always been digested: SHA-256 of the canonical JSON of
    every file of the release, parsed."""
    documents = {name: tomllib.loads(text) for name, text in texts.items()}
    return "sha256:" + hashlib.sha256(canonical_json(documents).encode()).hexdigest()


def without_growth_chart(tmp_path, version):
    directory = knowledge_copy(tmp_path, version)
    (directory / GROWTH_FILE).unlink()
    return directory


# The digest


def test_the_growth_chart_is_stored_with_the_release_and_counted_in_its_digest(tmp_path):
    directory = registry.knowledge_base_directory()
    texts = read_release_files(directory)
    kb = load_knowledge_base(directory)

    assert texts[GROWTH_FILE] == (directory / GROWTH_FILE).read_text(encoding="utf-8")
    assert kb.digest == files_digest(texts)
    assert kb.growth is not None
    release, _ = release_import(actor=SYSTEM, directory=directory)
    assert release.texts()[GROWTH_FILE] == texts[GROWTH_FILE]
    assert release_knowledge_base(release).growth == kb.growth


@pytest.mark.parametrize(
    ("table", "key", "old", "new"),
    [
        ("boys", "row", BOYS_12_5, "12.5, -0.179254, 10.5"),
        ("implausible", "above", "8", "5"),
    ],
)
def test_a_changed_growth_chart_gives_another_digest(tmp_path, table, key, old, new):
    original = load_knowledge_base(knowledge_copy(tmp_path / "a", "2026.12.1"))
    directory = knowledge_copy(tmp_path / "b", "2026.12.1")
    set_growth_value(directory, table, key, old, new)

    changed = load_knowledge_base(directory)

    assert changed.digest != original.digest
    assert changed.growth != original.growth


def test_a_release_stored_before_the_growth_chart_keeps_its_digest_and_verifies(tmp_path):
    """A release stored without the chart (all releases before it was part of one) has the
    digest of the files it holds, and loads and verifies against its stored digest."""
    texts = read_release_files(without_growth_chart(tmp_path, "2026.11.3"))
    assert GROWTH_FILE not in texts
    stored = KnowledgeBaseRelease.objects.create(
        version="2026.11.3",
        digest=files_digest(texts),
        content=json.dumps(texts, sort_keys=True),
        released_on=dt.date(2026, 11, 22),
        imported_at=timezone.now(),
        imported_by_name="system",
    )

    kb = registry.knowledge_base_for_digest(stored.digest)

    assert kb.digest == stored.digest
    assert kb.growth is None


def test_a_stored_growth_chart_changed_behind_the_digest_is_refused(tmp_path):
    texts = read_release_files(knowledge_copy(tmp_path, "2026.12.1"))
    digest = load_knowledge_base_texts(texts, "original").digest
    texts[GROWTH_FILE] = texts[GROWTH_FILE].replace("below = -5", "below = -4", 1)

    with pytest.raises(Exception, match="does not match its digest"):
        registry.compile_release_texts(texts, digest=digest, label="release 2026.12.1")


def test_an_invalid_growth_chart_stops_loading_naming_file_and_table(tmp_path):
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_growth_value(directory, "implausible", "below", "-5", "5")

    with pytest.raises(Exception, match=r"growth/cdc-2000-weight-for-age.toml: \[implausible\]"):
        load_knowledge_base(directory)


# The review


def test_a_changed_growth_row_needs_sign_off_before_activation(
    tmp_path, registry_restored, consultant_reviewer, pharmacist_reviewer
):
    release_bootstrap()
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_growth_value(directory, "boys", "row", BOYS_12_5, "12.5, -0.179254, 10.5")
    release, _ = release_import(actor=SYSTEM, directory=directory)

    (change,) = release_diff(release, active_release())

    assert change.rule_id == "growth:weight-for-age:boys"
    assert change.change == "changed"
    assert change.changed_keys == ["rows at 12.5 months (changed)"]
    assert change.after is not None
    assert change.after.file == GROWTH_FILE
    with pytest.raises(ConflictError, match=r"growth:weight-for-age:boys \(needs a consultant"):
        release_activate(actor=SYSTEM, release=release)
    sign_off_all(release, consultant_reviewer, pharmacist_reviewer)
    assert release_diff(release, active_release())[0].signed


def test_the_review_page_shows_a_changed_growth_chart(
    tmp_path, registry_restored, client, consultant_reviewer
):
    release_bootstrap()
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_growth_value(directory, "implausible", "above", "8", "5")
    release_import(actor=SYSTEM, directory=directory)
    client.force_login(consultant_reviewer)

    page = html.unescape(client.get("/knowledge-base/releases/2026.12.1/").content.decode())

    assert "<code>growth:weight-for-age:implausible</code>: changed" in page
    assert GROWTH_FILE in page
    assert "Fields changed</dt><dd>above</dd>" in page
    assert "above 5, under 240 months" in page
    assert "Sign off growth:weight-for-age:implausible as consultant anaesthetist" in page
    # A growth table is counted and listed as one of the entries a release changes.
    assert "<dt>Rules and entries added</dt><dd>0</dd>" in page
    assert "<dt>Changed</dt><dd>1</dd>" in page
    assert '<h2 id="rules-heading">Rules and entries</h2>' in page


def test_against_a_release_without_the_chart_every_table_of_it_is_added(
    tmp_path, registry_restored, django_capture_on_commit_callbacks
):
    old, _ = release_import(actor=SYSTEM, directory=without_growth_chart(tmp_path, "2026.11.3"))
    activate(old, django_capture_on_commit_callbacks)
    release, _ = release_import(actor=SYSTEM, directory=knowledge_copy(tmp_path, "2026.12.1"))

    changes = release_diff(release, old)

    assert [(c.rule_id, c.change) for c in changes] == [(i, "added") for i in GROWTH_ITEMS]
    assert all(not change.signed for change in changes)


# The check uses the chart of the release in force

CHILD = {"age_years": 4, "sex": "male", "weight_kg": 22}


def check(client, patient=CHILD):
    response = client.post(
        "/api/v1/checks",
        {"at": "2026-11-22T08:00:00+00:00", "patient": patient, "drugs": ["rocuronium"]},
        format="json",
    )
    assert response.status_code == 200
    return response.json()


def activate_candidate(directory, reviewers, django_capture_on_commit_callbacks):
    release, _ = release_import(actor=SYSTEM, directory=directory)
    sign_off_all(release, *reviewers)
    activate(release, django_capture_on_commit_callbacks)
    return release


def test_the_check_reads_the_growth_chart_of_the_active_release(
    tmp_path,
    registry_restored,
    pharmacist_client,
    consultant_reviewer,
    pharmacist_reviewer,
    django_capture_on_commit_callbacks,
):
    release_bootstrap()
    assert check(pharmacist_client)["warnings"] == []
    directory = knowledge_copy(tmp_path, "2026.12.1")
    # Only this release's chart calls a weight this far above the median implausible.
    set_growth_value(directory, "implausible", "above", "8", "1")
    activate_candidate(
        directory, (consultant_reviewer, pharmacist_reviewer), django_capture_on_commit_callbacks
    )

    body = check(pharmacist_client)

    assert body["knowledge_base"]["version"] == "2026.12.1"
    (warning,) = body["warnings"]
    assert warning["code"] == "implausible-weight"
    assert "plausible is -5 to +1" in warning["message"]


@pytest.fixture
def legacy_pin_broken(monkeypatch):
    """As if the shipped chart's data had changed since releases without a chart used it."""
    monkeypatch.setattr(plausibility, "LEGACY_GROWTH_DATA_SHA256", "0" * 64)
    plausibility.legacy_growth_table.cache_clear()
    yield
    plausibility.legacy_growth_table.cache_clear()


def test_the_pinned_chart_is_the_shipped_one():
    shipped = registry.get_knowledge_base().growth
    assert shipped is not None
    assert plausibility.legacy_growth_table() == shipped


def test_a_release_without_the_chart_checks_on_the_chart_such_releases_used(
    tmp_path, registry_restored, pharmacist_client, django_capture_on_commit_callbacks
):
    old, _ = release_import(actor=SYSTEM, directory=without_growth_chart(tmp_path, "2026.11.3"))
    activate(old, django_capture_on_commit_callbacks)

    child = check(pharmacist_client, {"age_years": 2, "sex": "male", "weight_kg": 60})

    (warning,) = child["warnings"]
    assert warning["code"] == "implausible-weight"


def test_a_release_without_the_chart_flags_a_childs_weight_as_unchecked_if_the_pin_fails(
    tmp_path,
    registry_restored,
    pharmacist_client,
    django_capture_on_commit_callbacks,
    legacy_pin_broken,
):
    old, _ = release_import(actor=SYSTEM, directory=without_growth_chart(tmp_path, "2026.11.3"))
    activate(old, django_capture_on_commit_callbacks)

    child = check(pharmacist_client, {"age_years": 2, "sex": "male", "weight_kg": 60})
    adult = check(pharmacist_client, {"age_years": 20, "sex": "male", "weight_kg": 60})

    (warning,) = child["warnings"]
    assert warning["code"] == "weight-unchecked"
    assert warning["field"] == "weight_kg"
    assert warning["message"].startswith(
        "Weight not checked for plausibility: knowledge-base release 2026.11.3 has no growth chart"
    )
    assert adult["warnings"] == []


def test_an_assessment_keeps_the_growth_chart_of_its_own_release(
    tmp_path,
    registry_restored,
    department,
    anesthetist,
    consultant_reviewer,
    pharmacist_reviewer,
    django_capture_on_commit_callbacks,
):
    release_bootstrap()
    actor = Actor.from_user(anesthetist)
    planned = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    born = planned.date().replace(year=planned.year - 4, day=min(planned.day, 28))
    boy = PatientFactory(department=department, sex="male", birth_date=born)

    def assess():
        return services.assessment_create(
            actor=actor,
            patient=boy,
            department=department,
            planned_at=planned,
            procedure="Tonsillectomy",
            weight_kg=Decimal("22"),
            drugs=["rocuronium"],
        )

    before = assess()
    directory = knowledge_copy(tmp_path, "2026.12.1")
    set_growth_value(directory, "implausible", "above", "8", "1")
    activate_candidate(
        directory, (consultant_reviewer, pharmacist_reviewer), django_capture_on_commit_callbacks
    )
    after = assess()

    assert assessment_warnings(before) == []
    assert [w["code"] for w in assessment_warnings(after)] == ["implausible-weight"]


def two_year_old_of_60_kg(department, anesthetist):
    """An assessment, planned for tomorrow, of a boy of two weighing 60 kg (implausible)."""
    planned = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    born = planned.date().replace(year=planned.year - 2, day=min(planned.day, 28))
    return services.assessment_create(
        actor=Actor.from_user(anesthetist),
        patient=PatientFactory(department=department, sex="male", birth_date=born),
        department=department,
        planned_at=planned,
        procedure="Tonsillectomy",
        weight_kg=Decimal("60"),
        drugs=["rocuronium"],
    )


def test_an_assessment_of_a_release_without_the_chart_keeps_its_warning(
    tmp_path,
    registry_restored,
    department,
    anesthetist,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    old, _ = release_import(actor=SYSTEM, directory=without_growth_chart(tmp_path, "2026.11.3"))
    activate(old, django_capture_on_commit_callbacks)
    assessment = two_year_old_of_60_kg(department, anesthetist)

    assert assessment.knowledge_base_version == "2026.11.3"
    # Checked on the chart releases without one were checked on, as when it was made.
    assert [w["code"] for w in assessment_warnings(assessment)] == ["implausible-weight"]
    monkeypatch.setattr(plausibility, "LEGACY_GROWTH_DATA_SHA256", "0" * 64)
    plausibility.legacy_growth_table.cache_clear()
    try:
        # Never on another table: unchecked, and said so.
        assert [w["code"] for w in assessment_warnings(assessment)] == ["weight-unchecked"]
    finally:
        monkeypatch.undo()
        plausibility.legacy_growth_table.cache_clear()


def test_an_assessment_whose_release_is_not_stored_says_the_weight_was_not_checked(
    department, anesthetist
):
    assessment = two_year_old_of_60_kg(department, anesthetist)
    assert [w["code"] for w in assessment_warnings(assessment)] == ["implausible-weight"]
    # As read back for an assessment evaluated on a release this database never stored.
    assessment.knowledge_base_digest = "sha256:" + "0" * 64

    (warning,) = assessment_warnings(assessment)

    assert warning["code"] == "weight-unchecked"
    assert "is not stored" in warning["message"]
