"""Impact-preview benchmark: a release replayed on the signed assessments of the last 90 days.

Needs a PostgreSQL database filled by `seed_demo` (it only reads: no release is imported and
nothing is audited):

    python manage.py seed_demo --departments 5 --patients 20000 --assessments 1000000
    python bench/impact_bench.py --database-url postgres://postgres@127.0.0.1:5432/<db>

Target (issue "Knowledge-base governance"): one department's 90 days replayed in under 60 s;
a process pool is allowed. The script times the preview with one process and with a pool of
`--workers` (default: the machine's cores), for one department (`--department`, default the
first) and, with `--all-departments`, for every department. The candidate is a knowledge-base
directory (`--candidate`, default the configured one: each assessment is then evaluated in
full and compared, the same work as for a changed release), or the configured one with rule
levels changed (`--change RULE=OLD:NEW`, repeatable: a copy renumbered `--version`, made as
the tests make a changed release), so that some assessments would change. Both runs must
give the same figures; the script checks it before printing them, with the counts per drug
and level of what would change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--department", default="", help="Department code (default: first).")
    parser.add_argument("--all-departments", action="store_true")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--candidate", type=Path, default=None)
    parser.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="RULE=OLD:NEW",
        help="Change a rule's level in a copy of the configured knowledge base (repeatable).",
    )
    parser.add_argument("--version", default="9999.1.0", help="Version of that copy.")
    arguments = parser.parse_args()

    os.environ["DATABASE_URL"] = arguments.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "periop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.utils import timezone

    from periop.accounts.models import Department
    from periop.assessments.models import Assessment
    from periop.assessments.services.impact import impact_preview
    from periop.drugs.engine.loader import load_knowledge_base_texts, read_release_files
    from periop.drugs.registry import knowledge_base_directory

    directory = arguments.candidate or knowledge_base_directory()
    if arguments.change:
        from tests.knowledge_releases import knowledge_copy, set_rule_level

        workspace = tempfile.TemporaryDirectory()  # removed when the script ends
        directory = knowledge_copy(Path(workspace.name), arguments.version)
        for change in arguments.change:
            rule, _, levels = change.partition("=")
            old, _, new = levels.partition(":")
            set_rule_level(directory, rule, old, new)
            print(f"Candidate: {rule} {old} -> {new}")
    started = time.perf_counter()
    texts = read_release_files(directory)
    kb = load_knowledge_base_texts(texts, directory.name)
    print(
        f"Candidate {kb.version} ({len(kb.rules)} rules) compiled in "
        f"{time.perf_counter() - started:.2f} s"
    )

    latest = Assessment.objects.exclude(signed_at=None).order_by("-signed_at").first()
    if latest is None:
        raise SystemExit("No signed assessment: fill the database with seed_demo first.")
    # The seeded history ends at the last signing: "now" is then, so the window is full.
    now = max(latest.signed_at, timezone.now() - dt.timedelta(days=3650))
    if arguments.all_departments:
        scopes = [("all departments", None)]
    else:
        department = (
            Department.objects.get(code=arguments.department)
            if arguments.department
            else Department.objects.order_by("id").first()
        )
        if department is None:
            raise SystemExit("No department.")
        scopes = [(department.code, {department.pk})]
    for name, department_ids in scopes:
        results = {}
        for workers in sorted({1, arguments.workers}):
            started = time.perf_counter()
            impact = impact_preview(
                kb=kb,
                texts=texts,
                department_ids=department_ids,
                now=now,
                days=arguments.days,
                workers=workers,
            )
            elapsed = time.perf_counter() - started
            results[workers] = (impact, elapsed)
            rate = impact.replayed / elapsed if elapsed else 0.0
            print(
                f"{name}: {arguments.days} days, {impact.replayed} assessments, "
                f"{impact.changed} would change; {workers} process(es): {elapsed:.1f} s "
                f"({rate:,.0f} assessments/s)"
            )
        figures = {
            workers: (impact.replayed, impact.changed, impact.counts)
            for workers, (impact, _) in results.items()
        }
        if len({repr(value) for value in figures.values()}) != 1:
            raise SystemExit("The runs disagree: the pool gave other figures than one process.")
        impact = next(iter(results.values()))[0]
        for row in impact.changed_rows:
            print(
                f"  {row.drug} at {row.level}: {row.assessments} assessments, "
                f"{row.up} up, {row.down} down, {row.other} otherwise changed"
            )
        best = min(elapsed for _, elapsed in results.values())
        verdict = "met" if best < 60 else "NOT met"
        print(f"{name}: target (< 60 s) {verdict}: best {best:.1f} s")


if __name__ == "__main__":
    main()
