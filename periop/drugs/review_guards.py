"""Guards of the review records: a sign-off or a comment, once written, stays as written."""

from __future__ import annotations

from periop.audit.triggers import TriggerGuard


def _guards() -> tuple[TriggerGuard, ...]:
    from periop.drugs.guards import _append_only

    return (
        _append_only("drugs_rulesignoff", "kb_sign_off", "rule sign-offs are immutable"),
        _append_only("drugs_rulecomment", "kb_comment", "review comments are immutable"),
    )


def _tuning_guards() -> tuple[TriggerGuard, ...]:
    from periop.drugs.guards import _append_only

    return (
        _append_only("drugs_localtuning", "kb_tuning", "local tunings are immutable"),
        _append_only("drugs_tuningsignoff", "kb_tuning_sign_off", "tuning sign-offs are immutable"),
    )


# The guards each migration installs: the review records (0002), the tunings (0003).
REVIEW_GUARDS: tuple[TriggerGuard, ...] = _guards()
TUNING_GUARDS: tuple[TriggerGuard, ...] = _tuning_guards()
GUARDS: tuple[TriggerGuard, ...] = REVIEW_GUARDS + TUNING_GUARDS
