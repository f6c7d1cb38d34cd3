"""Guards of the review records: a sign-off or a comment, once written, stays as written."""

from __future__ import annotations

from periop.audit.triggers import TriggerGuard


def _guards() -> tuple[TriggerGuard, ...]:
    from periop.drugs.guards import _append_only

    return (
        _append_only("drugs_rulesignoff", "kb_sign_off", "rule sign-offs are immutable"),
        _append_only("drugs_rulecomment", "kb_comment", "review comments are immutable"),
    )


GUARDS: tuple[TriggerGuard, ...] = _guards()
