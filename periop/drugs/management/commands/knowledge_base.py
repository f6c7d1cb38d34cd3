from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.api import DomainError
from periop.audit.services import Actor
from periop.drugs.engine import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from periop.drugs.engine.coverage import check_coverage, describe
from periop.drugs.models import KnowledgeBaseRelease
from periop.drugs.registry import get_knowledge_base, knowledge_base_directory
from periop.drugs.releases import (
    active_release,
    release_activate,
    release_get,
    release_import,
    release_knowledge_base,
)


class Command(BaseCommand):
    help = (
        "Validates a knowledge base, shows the active one (version, digest, counts), or checks "
        "its coverage of the reference tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        validate = actions.add_parser("validate", help="Validate a knowledge-base directory.")
        validate.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Directory to validate (default: the active one).",
        )
        actions.add_parser("show", help="Show the active knowledge base.")
        importing = actions.add_parser(
            "import",
            help="Validate a knowledge-base directory and store it as a release (the same "
            "content again is a no-op; other content under a stored version is refused).",
        )
        importing.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Directory to import (default: the configured one).",
        )
        actions.add_parser("releases", help="List the stored releases; * marks the active one.")
        activate = actions.add_parser(
            "activate",
            help="Make a stored release the active one (refused while a new or changed rule "
            "lacks its two sign-offs).",
        )
        activate.add_argument("version")
        replay = actions.add_parser(
            "replay",
            help="Re-evaluate an assessment on the release it was evaluated under and report "
            "'identical' or each difference (exit status 1 when any).",
        )
        replay.add_argument("--assessment", type=int, required=True)
        coverage = actions.add_parser(
            "coverage",
            help="Print each reference-table cell with the rules that cover it or why it is "
            "excluded; fail on an uncovered cell or a rule that does not give the cell's level.",
        )
        coverage.add_argument(
            "--path",
            type=Path,
            default=None,
            help="Knowledge-base directory to check (default: the active one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action in {"import", "releases", "activate", "replay"}:
            try:
                getattr(self, f"_{action}")(options)
            except DomainError as error:
                raise CommandError(error.message) from None
            return
        if options["action"] == "coverage":
            self._coverage(options["path"] or knowledge_base_directory())
        elif options["action"] == "validate":
            directory = options["path"] or knowledge_base_directory()
            try:
                kb = load_knowledge_base(directory)
            except KnowledgeBaseError as error:
                raise CommandError(f"Invalid knowledge base: {error}") from None
            self.stdout.write(f"Valid: knowledge base {kb.version} ({kb.digest}).")
            self._counts(kb)
        else:
            stored = active_release()
            kb = get_knowledge_base() if stored is None else release_knowledge_base(stored)
            if stored is None:
                self.stdout.write("No release is stored: showing the configured directory.")
            release = kb.release
            self.stdout.write(f"Version:        {kb.version}")
            self.stdout.write(f"Digest:         {kb.digest}")
            self.stdout.write(f"Released:       {release.released_on.isoformat()}")
            if release.revised_on:
                self.stdout.write(f"Revised:        {release.revised_on.isoformat()}")
            self.stdout.write(f"Developer:      {release.developer}")
            self.stdout.write(f"Funding source: {release.funding_source}")
            self.stdout.write(f"Status:         {release.status}")
            self._counts(kb)

    def _import(self, options: dict[str, Any]) -> None:
        directory = options["path"] or knowledge_base_directory()
        release, created = release_import(actor=Actor.system("manage.py"), directory=directory)
        if created:
            self.stdout.write(f"Imported release {release.version} ({release.digest}).")
        else:
            self.stdout.write(
                f"Release {release.version} ({release.digest}) is already stored: nothing to do."
            )

    def _releases(self, options: dict[str, Any]) -> None:
        active = active_release()
        for release in KnowledgeBaseRelease.objects.all():
            mark = "*" if active is not None and active.pk == release.pk else " "
            self.stdout.write(
                f"{mark} {release.version:<12} {release.digest}  imported "
                f"{release.imported_at.isoformat(timespec='seconds')} by "
                f"{release.imported_by_name}"
            )

    def _activate(self, options: dict[str, Any]) -> None:
        release = release_get(options["version"])
        release_activate(actor=Actor.system("manage.py"), release=release)
        self.stdout.write(f"Release {release.version} ({release.digest}) is now active.")

    def _replay(self, options: dict[str, Any]) -> None:
        from periop.assessments.models import Assessment
        from periop.assessments.services.replay import assessment_replay

        assessment = Assessment.objects.filter(pk=options["assessment"]).first()
        if assessment is None:
            raise CommandError(f"No assessment {options['assessment']}.")
        result = assessment_replay(assessment)
        kb = result["knowledge_base"]
        self.stdout.write(
            f"Assessment {assessment.pk} ({assessment.status}) on release {kb['version']} "
            f"({kb['digest']}):"
        )
        if result["identical"]:
            self.stdout.write("identical")
            return
        for difference in result["differences"]:
            what = difference["field"]
            if what == "finding":
                what = f"finding {difference['rule']}"
            self.stdout.write(
                f"  {difference['drug']}: {what}: recorded {difference['recorded']!r}, "
                f"replayed {difference['replayed']!r}"
            )
        raise CommandError(f"{len(result['differences'])} difference(s).")

    def _counts(self, kb: KnowledgeBase) -> None:
        self.stdout.write(
            f"Conditions: {len(kb.conditions)}  Drugs: {len(kb.drugs)}  "
            f"Rules: {len(kb.rules)}  References: {len(kb.references)}"
        )
        if kb.coverage is not None:
            excluded = sum(1 for cell in kb.coverage.cells if cell.excluded is not None)
            self.stdout.write(
                f"Reference-table cells: {len(kb.coverage.cells)} ({excluded} excluded); "
                "check them with: knowledge_base coverage"
            )
        if kb.growth is None:
            self.stdout.write(
                "Growth chart: none (a child's weight is not checked for plausibility)"
            )
        else:
            rows = ", ".join(f"{len(rows)} {sex}" for sex, rows in sorted(kb.growth.rows.items()))
            self.stdout.write(f"Growth chart: CDC 2000 weight-for-age ({rows} rows)")
        by_file = Counter(rule.source_file for rule in kb.rules)
        for source_file, count in sorted(by_file.items()):
            self.stdout.write(f"  {source_file}: {count} rules")

    def _coverage(self, directory: Path) -> None:
        try:
            kb = load_knowledge_base(directory)
        except KnowledgeBaseError as error:
            raise CommandError(f"Invalid knowledge base: {error}") from None
        if kb.coverage is None:
            raise CommandError("The knowledge base has no coverage.toml: no cell is covered.")
        results = check_coverage(kb)
        failed = [result for result in results if result.problems]
        for result in results:
            self.stdout.write(describe(result))
            for problem in result.problems:
                self.stdout.write(f"  FAIL: {problem}")
        excluded = sum(1 for result in results if result.cell.excluded is not None)
        self.stdout.write(
            f"Cells: {len(results)}  covered: {len(results) - excluded - len(failed)}  "
            f"excluded: {excluded}  failing: {len(failed)}"
        )
        if failed:
            names = "; ".join(result.cell.name for result in failed)
            raise CommandError(f"{len(failed)} cell(s) not honestly covered: {names}")
