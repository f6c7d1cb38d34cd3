"""A release activated after an assessment was evaluated that no longer knows something the
assessment uses: a planned drug's code, a condition's code, a condition's attribute or one of
its values.

A signed record shows as it was signed, from its snapshots and its own release, through every
door. A draft that cannot be evaluated under the active release says what changed and what to
do, in the page and in the API, and nothing of it is dropped or decided silently.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from periop.assessments.models import Acknowledgement, Assessment
from periop.audit.services import Actor
from periop.drugs import registry
from periop.drugs.releases import release_bootstrap, release_import
from tests.api.test_assessment_plan import PLANNED, create
from tests.conftest import client_for
from tests.factories import PatientConditionFactory, PatientFactory
from tests.knowledge_releases import knowledge_copy, sign_off_all

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
DRUGS = ["rocuronium", "pancuronium", "sugammadex"]


def _replace_everywhere(directory: Path, old: str, new: str) -> None:
    for path in directory.rglob("*.toml"):
        text = path.read_text(encoding="utf-8")
        if old in text:
            path.write_text(text.replace(old, new), encoding="utf-8")


def _conditions_edit(directory: Path, old: str, new: str) -> None:
    path = directory / "conditions.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def drug_renamed(directory: Path) -> None:
    _replace_everywhere(directory, '"pancuronium"', '"pancuronium-renamed"')


def condition_renamed(directory: Path) -> None:
    _replace_everywhere(directory, '"burn"', '"burn-renamed"')


def attribute_removed(directory: Path) -> None:
    start = '[conditions.attributes.in_remission]\ntype = "boolean"\nlabel = "In remission"\n'
    _conditions_edit(directory, start, "")
    text = (directory / "conditions.toml").read_text(encoding="utf-8")
    # Its informational text goes with it (the next key up to the blank line).
    text = re.sub(r'informational = """\\\nIn "true remission".*?"""\n', "", text, flags=re.S)
    (directory / "conditions.toml").write_text(text, encoding="utf-8")


def choice_removed(directory: Path) -> None:
    _conditions_edit(
        directory,
        'choices = ["achr", "musk", "lrp4", "seronegative", "unknown"]',
        'choices = ["achr", "musk", "seronegative", "unknown"]',
    )


# What each release changes, and a word the message about it must name.
CHANGES = {
    "drug-renamed": (drug_renamed, "pancuronium"),
    "condition-renamed": (condition_renamed, "burn"),
    "attribute-removed": (attribute_removed, "in_remission"),
    "choice-removed": (choice_removed, "lrp4"),
}


@pytest.fixture
def patient(department):
    """LRP4 myasthenia in remission, and a burn five days old."""
    patient = PatientFactory(department=department)
    PatientConditionFactory(
        patient=patient,
        code="myasthenia-gravis",
        onset_date=(timezone.now() - dt.timedelta(days=800)).date(),
        attributes={"antibody": "lrp4", "distribution": "generalized", "in_remission": True},
    )
    PatientConditionFactory(
        patient=patient,
        code="burn",
        onset_date=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 35},
    )
    return patient


@pytest.fixture
def activate_change(
    tmp_path,
    registry_restored,
    django_capture_on_commit_callbacks,
    consultant_reviewer,
    pharmacist_reviewer,
):
    """Activates, through the API, the release `change` makes of the current one."""
    release_bootstrap()

    def activate(change: str) -> None:
        directory = knowledge_copy(tmp_path, "2026.12.9")
        CHANGES[change][0](directory)
        release, _ = release_import(actor=SYSTEM, directory=directory)
        sign_off_all(release, consultant_reviewer, pharmacist_reviewer)
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(consultant_reviewer).post(
                "/api/v1/knowledge-base/releases/2026.12.9/activate"
            )
        assert response.status_code == 200, response.content
        assert registry.get_knowledge_base().version == "2026.12.9"

    return activate


def decided(client, draft):
    """Every drug that needs a decision withheld."""
    for item in draft["acknowledgement_required"]:
        response = client.post(
            f"/api/v1/assessments/{draft['id']}/decisions",
            {"drug": item["drug"], "decision": "withhold"},
            format="json",
        )
        assert response.status_code == 201, response.content
    return client.get(f"/api/v1/assessments/{draft['id']}").json()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/patients/")
    return client


# --- a signed record -----------------------------------------------------------------------


@pytest.mark.parametrize("change", CHANGES)
def test_a_signed_record_shows_as_signed_through_every_door(
    change, anesthetist, patient, activate_change
):
    api = client_for(anesthetist)
    draft = decided(api, create(api, patient, DRUGS))
    signed = api.post(f"/api/v1/assessments/{draft['id']}/sign", {}, format="json")
    assert signed.status_code == 200, signed.content
    before = api.get(f"/api/v1/assessments/{draft['id']}").json()
    pages = browser(anesthetist)
    page_before = pages.get(f"/assessments/{draft['id']}/").content.decode()

    activate_change(change)

    detail = api.get(f"/api/v1/assessments/{draft['id']}")
    assert detail.status_code == 200, detail.content
    body = detail.json()
    for key in ("cautions", "plan", "inputs", "knowledge_base", "drugs", "acknowledgements"):
        assert body[key] == before[key], key
    page = pages.get(f"/assessments/{draft['id']}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Pancuronium" in text
    assert "Burn" in text
    # The plan, its basis and the cautions read as they did when signed.
    for section in ("plan", "basis", "cautions"):
        assert _section(text, section), section
        assert _section(text, section) == _section(page_before, section), section
    printed = pages.get(f"/assessments/{draft['id']}/print")
    assert printed.status_code == 200
    assert "Pancuronium" in printed.content.decode()
    bundle = api.get(f"/fhir/Bundle/assessment-{draft['id']}")
    assert bundle.status_code == 200, bundle.content
    replay = api.get(f"/api/v1/assessments/{draft['id']}/replay")
    assert replay.status_code == 200, replay.content
    assert replay.json()["identical"] is True


def _section(html: str, name: str) -> str:
    """The text of the page's section with id `name` (whitespace folded), for comparison."""
    match = re.search(
        rf'<section[^>]*aria-labelledby="{name}-heading".*?</section>', html, flags=re.S
    )
    return "" if match is None else " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


# --- a draft -------------------------------------------------------------------------------


@pytest.mark.parametrize("change", CHANGES)
def test_a_draft_says_what_the_active_release_no_longer_knows(
    change, anesthetist, patient, activate_change
):
    api = client_for(anesthetist)
    draft = decided(api, create(api, patient, DRUGS))
    decisions = Acknowledgement.objects.count()
    word = CHANGES[change][1]

    activate_change(change)

    # Its detail still shows (a client needs its ETag to edit it), with every planned drug.
    detail = api.get(f"/api/v1/assessments/{draft['id']}")
    assert detail.status_code == 200, detail.content
    body = detail.json()
    assert [line["drug"] for line in body["plan"]][: len(DRUGS)] == DRUGS
    assert body["cautions"] == draft["cautions"]
    assert body["inputs"] == draft["inputs"]
    assert any(word in notice for notice in body["plan_notices"]), body["plan_notices"]

    pages = browser(anesthetist)
    page = pages.get(f"/assessments/{draft['id']}/")
    assert page.status_code == 200
    assert word in " ".join(page.context["plan_notices"])

    # Deciding and signing are refused, naming what changed.
    ack = api.post(
        f"/api/v1/assessments/{draft['id']}/decisions",
        {"drug": "sugammadex", "decision": "give"},
        format="json",
    )
    assert ack.status_code == 409, ack.content
    assert word in " ".join(ack.json()["drug"])
    form = pages.post(
        f"/assessments/{draft['id']}/acknowledge",
        {"drug": "sugammadex", "revision": body["revision"], "ack-sugammadex-decision": "give"},
    )
    assert form.status_code == 400
    assert word in form.content.decode()
    sign = api.post(f"/api/v1/assessments/{draft['id']}/sign", {}, format="json")
    assert sign.status_code == 409, sign.content
    assert word in str(sign.json())
    signed_page = pages.post(f"/assessments/{draft['id']}/sign", {"revision": body["revision"]})
    assert signed_page.status_code == 409
    assert word in signed_page.context["sign_error"]
    assert Acknowledgement.objects.count() == decisions
    assert Assessment.objects.get(pk=draft["id"]).status == "draft"

    # The edit form opens; submitting it as it stands names what changed.
    edit = pages.get(f"/assessments/{draft['id']}/edit")
    assert edit.status_code == 200
    day = PLANNED.astimezone(dt.UTC)
    kept = pages.post(
        f"/assessments/{draft['id']}/edit",
        {
            "planned_date": day.date().isoformat(),
            "planned_time": day.strftime("%H:%M"),
            "procedure": "Excision and grafting",
            "weight_kg": "70",
            "drugs": [d for d in DRUGS if change != "drug-renamed" or d != "pancuronium"]
            + (["pancuronium"] if change == "drug-renamed" else []),
            "revision": body["revision"],
        },
    )
    assert kept.status_code == 400
    assert word in kept.content.decode()
    patched = api.patch(
        f"/api/v1/assessments/{draft['id']}",
        {"procedure": "Excision and grafting (again)"},
        format="json",
        HTTP_IF_MATCH=api.get(f"/api/v1/assessments/{draft['id']}").json()["etag"],
    )
    assert patched.status_code == 400, patched.content
    assert word in str(patched.json())


def test_a_draft_whose_drug_was_renamed_is_fixed_by_editing_its_drugs(
    anesthetist, patient, activate_change
):
    api = client_for(anesthetist)
    draft = decided(api, create(api, patient, DRUGS))
    activate_change("drug-renamed")

    etag = api.get(f"/api/v1/assessments/{draft['id']}").json()["etag"]
    patched = api.patch(
        f"/api/v1/assessments/{draft['id']}",
        {"drugs": ["rocuronium", "pancuronium-renamed", "sugammadex"]},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["plan_notices"] == []
    assert [line["drug"] for line in body["plan"]] == [
        "rocuronium",
        "pancuronium-renamed",
        "sugammadex",
    ]
    page = browser(anesthetist).get(f"/assessments/{draft['id']}/")
    assert page.status_code == 200
    assert page.context["plan_notices"] == []
