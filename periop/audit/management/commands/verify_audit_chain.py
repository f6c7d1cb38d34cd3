from typing import Any

from django.core.management.base import BaseCommand, CommandError

from periop.audit.verification import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Verifies the audit ledger's hash chain. Exits 0 when intact; otherwise names the "
        "first broken event."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event {result.first_broken_sequence}: {result.problem}"
            )
        self.stdout.write(f"Audit chain intact: {result.events} events, head {result.head}.")
