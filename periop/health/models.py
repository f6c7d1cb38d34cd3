"""The table the health probe writes to: a write that is always rolled back, so the table stays
empty. Nothing else uses it; the audit ledger is never touched by a probe."""

from __future__ import annotations

from django.db import models


class HealthProbe(models.Model):
    written_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Health probe {self.pk}"
