"""Records a login lockout in the audit ledger.

Each failed password is already audited through Django's `user_login_failed`; the lockout is
a separate event, so a reviewer sees when an account stopped accepting attempts.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out  # type: ignore[import-untyped]
from django.dispatch import receiver

from periop.audit.models import Action, Outcome
from periop.audit.services import Actor, audit_event_append


@receiver(user_locked_out)
def audit_lockout(sender: Any, request: Any = None, username: Any = None, **kwargs: Any) -> None:
    audit_event_append(
        actor=Actor(user_id=None, username=str(username or "")[:150], kind="anonymous"),
        action=Action.LOGIN_FAILED,
        resource_type="session",
        data_category="authentication",
        outcome=Outcome.FAILURE,
        payload={"lockout": True},
    )
