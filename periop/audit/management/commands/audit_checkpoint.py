from typing import Any

from django.core.management.base import BaseCommand, CommandError

from periop.audit import lanes
from periop.audit.chain import GENESIS_HASH
from periop.audit.checkpoints import audit_checkpoints_write, checkpoint_file_path


class Command(BaseCommand):
    help = (
        "Appends a signed checkpoint of the audit ledger's head (sequence, hash, time; one per "
        "lane when it has several) to "
        "AUDIT_CHECKPOINT_FILE. Run it regularly (cron or a systemd timer) and ship the file "
        "to a write-once store: verification then detects the newest events being deleted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Every lane's head (the one chain's when the ledger has one lane).
        heads = [(sequence, digest) for _, sequence, digest in lanes.lane_heads()]
        path = checkpoint_file_path()
        try:
            checkpoints = audit_checkpoints_write(heads or [(0, GENESIS_HASH)], path=path)
        except OSError as error:
            raise CommandError(f"The checkpoint could not be written to {path}: {error}") from None
        for checkpoint in checkpoints:
            self.stdout.write(
                f"Checkpoint of event {checkpoint.sequence} ({checkpoint.hash}) at "
                f"{checkpoint.time} appended to {path}."
            )
