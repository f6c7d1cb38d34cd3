from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from periop.audit.checkpoints import checkpoint_file_path
from periop.audit.verification import audit_chain_verify, records_verify


class Command(BaseCommand):
    help = (
        "Verifies the audit ledger's hash chain and compares it with the checkpoints in "
        "AUDIT_CHECKPOINT_FILE. Exits 0 when intact; otherwise lists every problem (up to "
        "--max-problems) and names the first broken event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-problems",
            type=int,
            default=None,
            help="Stop after this many problems (default: AUDIT_VERIFY_MAX_PROBLEMS).",
        )
        parser.add_argument(
            "--records",
            action="store_true",
            help="Also recompute every signed record's digest from its rows and compare it "
            "with the one in its sign event.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["records"]:
            records = records_verify(max_problems=options["max_problems"])
            for difference in records.problems:
                self.stderr.write(difference)
            if not records.ok:
                raise CommandError(
                    f"{len(records.problems)} signed record(s) differ from what was signed."
                )
            self.stdout.write(f"Signed records intact: {records.checked} checked.")
        result = audit_chain_verify(max_problems=options["max_problems"])
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(problem.message)
            if result.problems_truncated:
                self.stderr.write(f"Stopped after {len(result.problems)} problems.")
            where = (
                f"at event {result.first_broken_sequence}"
                if result.first_broken_sequence is not None
                else "in the checkpoint file"
            )
            raise CommandError(
                f"Audit chain broken {where}: {result.problem} "
                f"({len(result.problems)} problem{'s' if len(result.problems) != 1 else ''})"
            )
        if len(result.lanes) > 1:
            self.stdout.write(
                f"Audit chain intact: {result.events} events in {len(result.lanes)} lanes."
            )
            for lane in result.lanes:
                self.stdout.write(f"  lane {lane.lane}: {lane.events} events, head {lane.head}")
        else:
            self.stdout.write(f"Audit chain intact: {result.events} events, head {result.head}.")
        checkpoint = result.checkpoint
        if checkpoint is None:
            self.stderr.write(
                f"No checkpoint in {checkpoint_file_path()}: deleting the newest events would go "
                "unnoticed. Run `manage.py audit_checkpoint` regularly."
            )
        else:
            self.stdout.write(
                f"Matches {result.checkpoints} checkpoint(s); the latest, of {checkpoint.time}, "
                f"records event {checkpoint.sequence}."
            )
