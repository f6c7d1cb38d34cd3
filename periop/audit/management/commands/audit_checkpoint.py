from typing import Any

from django.core.management.base import BaseCommand, CommandError

from periop.audit.checkpoints import audit_checkpoint_write, checkpoint_file_path
from periop.audit.models import AuditChainHead


class Command(BaseCommand):
    help = (
        "Appends a signed checkpoint of the audit ledger's head (sequence, hash, time) to "
        "AUDIT_CHECKPOINT_FILE. Run it regularly (cron or a systemd timer) and ship the file "
        "to a write-once store: verification then detects the newest events being deleted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        head = AuditChainHead.objects.filter(id=1).values_list("sequence", "hash").first()
        sequence, digest = head or (0, "0" * 64)
        path = checkpoint_file_path()
        try:
            checkpoint = audit_checkpoint_write(sequence=sequence, hash=digest, path=path)
        except OSError as error:
            raise CommandError(f"The checkpoint could not be written to {path}: {error}") from None
        self.stdout.write(
            f"Checkpoint of event {checkpoint.sequence} ({checkpoint.hash}) at {checkpoint.time} "
            f"appended to {path}."
        )
