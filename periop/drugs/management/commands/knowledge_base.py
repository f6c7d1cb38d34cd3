from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.drugs.engine import KnowledgeBase, KnowledgeBaseError, load_knowledge_base
from periop.drugs.engine.coverage import check_coverage, describe
from periop.drugs.registry import get_knowledge_base, knowledge_base_directory


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
            kb = get_knowledge_base()
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
