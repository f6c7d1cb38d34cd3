"""Guards of the review records (sign-offs and comments), added with their tables."""

from __future__ import annotations

from periop.audit.triggers import TriggerGuard

GUARDS: tuple[TriggerGuard, ...] = ()
