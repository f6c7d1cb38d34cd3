"""Candidate knowledge-base releases for tests: copies of the real knowledge base with one
change, in a temporary directory (the content stays the project's; only a level or a version
moves)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from django.conf import settings


def knowledge_copy(target: Path, version: str) -> Path:
    """A copy of the configured knowledge base under `target`, renumbered `version`."""
    directory = target / f"knowledge-{version}"
    shutil.copytree(settings.KNOWLEDGE_BASE_DIR, directory)
    release = directory / "release.toml"
    text = release.read_text(encoding="utf-8")
    release.write_text(
        re.sub(r'^version = "[^"]+"', f'version = "{version}"', text, count=1, flags=re.M),
        encoding="utf-8",
    )
    return directory


def rule_file(directory: Path, rule_id: str) -> Path:
    for path in sorted((directory / "rules").glob("*.toml")):
        if f'id = "{rule_id}"\n' in path.read_text(encoding="utf-8"):
            return path
    raise LookupError(rule_id)


def set_rule_level(directory: Path, rule_id: str, old: str, new: str) -> None:
    """Changes the rule-level `level` of one rule (the first `level =` after its id)."""
    path = rule_file(directory, rule_id)
    text = path.read_text(encoding="utf-8")
    start = text.index(f'id = "{rule_id}"\n')
    at = text.index(f'level = "{old}"', start)
    assert "[[rules]]" not in text[start:at], f"{rule_id} has no rule-level level {old}"
    path.write_text(text[:at] + f'level = "{new}"' + text[at + len(f'level = "{old}"') :])


GROWTH_FILE = "growth/cdc-2000-weight-for-age.toml"


def set_growth_value(directory: Path, table: str, key: str, old: str, new: str) -> None:
    """Changes one line of the growth chart's `[table]`: `key = old` (a cut-off) to `key =
    new`, or, with key "row", the start of a row `[old` (its age, L, M...) to `[new`."""
    path = directory / GROWTH_FILE
    text = path.read_text(encoding="utf-8")
    start = text.index(f"[{table}]\n")
    line = f"  [{old}" if key == "row" else f"\n{key} = {old}\n"
    at = text.index(line, start)
    assert "\n[" not in text[start + 1 : at], f"[{table}] has no {key} {old}"
    replacement = f"  [{new}" if key == "row" else f"\n{key} = {new}\n"
    path.write_text(text[:at] + replacement + text[at + len(line) :], encoding="utf-8")


def sign_off_all(release, *reviewers) -> None:
    """Every rule the release changes signed off by each of `reviewers` (one per profession)."""
    from periop.drugs.releases import active_release
    from periop.drugs.reviews import release_diff, rule_sign_off

    for change in release_diff(release, active_release()):
        for reviewer in reviewers:
            rule_sign_off(user=reviewer, release=release, rule_id=change.rule_id)


def signed_assessments(actor, department, drugs=("rocuronium", "succinylcholine", "sugammadex")):
    """A fixture set: three patients whose cautions span the levels (myasthenia gravis, a
    burn five days old, no condition), each assessed, acknowledged and signed."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from periop.assessments import services
    from tests.factories import PatientFactory

    now = timezone.now()
    patients = []
    for conditions in (
        [("myasthenia-gravis", now - dt.timedelta(days=3000), {"antibody": "achr"})],
        [("burn", now - dt.timedelta(days=5), {"tbsa_percent": 30})],
        [],
    ):
        patient = PatientFactory(department=department)
        for code, onset, attributes in conditions:
            services.patient_condition_record(
                actor=actor, patient=patient, code=code, onset=onset.date(), attributes=attributes
            )
        patients.append(patient)
    signed = []
    for patient in patients:
        assessment = services.assessment_create(
            actor=actor,
            patient=patient,
            department=department,
            planned_at=(now + dt.timedelta(days=1)).replace(microsecond=0),
            procedure="Laparoscopic cholecystectomy",
            weight_kg=Decimal("70"),
            drugs=list(drugs),
        )
        for item in assessment.acknowledgement_required:
            services.caution_acknowledge(
                actor=actor, assessment=assessment, drug=item["drug"], decision="accepted"
            )
        signed.append(services.assessment_sign(actor=actor, assessment=assessment))
    return signed
