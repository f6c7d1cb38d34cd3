"""Records a login lockout in the audit ledger.

Each failed password is already audited through Django's `user_login_failed`; the lockout is
a separate event, so a reviewer sees when an account stopped accepting attempts.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out  # type: ignore[import-untyped]
from django.dispatch import receiver

from periop.accounts.login_limits import login_failures_exceeded
from periop.audit.models import Action, Outcome
from periop.audit.services import Actor, audit_event_append


@receiver(user_locked_out)
def audit_lockout(sender: Any, request: Any = None, username: Any = None, **kwargs: Any) -> None:
    # An address past its failed-login budget has had its one "throttled" event; lockouts of
    # the usernames it rotates through would otherwise grow the ledger again.
    if login_failures_exceeded(request):
        return
    audit_event_append(
        actor=Actor(user_id=None, username=str(username or "")[:150], kind="anonymous"),
        action=Action.LOGIN_FAILED,
        resource_type="session",
        data_category="authentication",
        outcome=Outcome.FAILURE,
        payload={"lockout": True},
    )
