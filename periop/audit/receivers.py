"""Audit of authentication and privilege changes (ONC (d)(2): logins, user privileges).

These are the one place Periop listens to signals: Django's auth framework announces logins
only through signals, and privilege changes can come from the admin, a command or the shell.
Listening to saves of users and memberships records them all, in the same transaction as the
change. (`accounts` sits below `audit` and must not import it.) The services, the admin and
the commands name who made the change on the instance (`periop.accounts.actors`); a change
made without one, from the shell for instance, is recorded as the system's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from periop.accounts.actors import change_actor_get
from periop.accounts.login_limits import login_failure_count
from periop.accounts.models import ApiToken, Membership, Profile
from periop.audit.models import Action, Outcome
from periop.audit.services import Actor, audit_event_append

PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser")
User = get_user_model()


def change_actor(instance: Any) -> Actor:
    """The administrator or command named on `instance`, else the system."""
    actor = change_actor_get(instance)
    if isinstance(actor, str):
        return Actor.system(actor)
    if actor is not None and actor.is_authenticated:
        return Actor.from_user(actor)
    return Actor.system("account-change")


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    audit_event_append(
        actor=Actor.from_user(user),
        action=Action.LOGIN,
        resource_type="session",
        data_category="authentication",
    )


@receiver(user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Only the username tried: Django already masks the password, and we never keep it.
    username = str(credentials.get("username", ""))[:150]
    # Bounded per client address (F13): beyond the budget, one "throttled" event, then none
    # until the window ends.
    count = login_failure_count(request)
    limit = settings.LOGIN_FAILURES_PER_ADDRESS
    if count is not None and count > limit + 1:
        return
    throttled = count == limit + 1
    audit_event_append(
        actor=Actor(user_id=None, username=username, kind="anonymous"),
        action=Action.LOGIN_FAILED,
        resource_type="session",
        data_category="authentication",
        outcome=Outcome.FAILURE,
        payload={
            "throttled": True,
            "limit": limit,
            "window_seconds": settings.LOGIN_FAILURE_WINDOW_SECONDS,
        }
        if throttled
        else None,
    )


@receiver(pre_save, sender=User)
def remember_privileges(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        instance._privileges_before = None
        return
    before = sender.objects.filter(pk=instance.pk).values(*PRIVILEGE_FIELDS).first()
    instance._privileges_before = before


@receiver(post_save, sender=User)
def audit_user_privileges(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_privileges_before", None)
    after = {field: getattr(instance, field) for field in PRIVILEGE_FIELDS}
    if created:
        change = "account-created"
    elif before is not None and before != after:
        change = "account-privileges-changed"
    else:
        return
    audit_event_append(
        actor=change_actor(instance),
        action=Action.PRIVILEGE_CHANGE,
        resource_type="user",
        resource_id=instance.pk,
        data_category="privileges",
        payload={
            "change": change,
            "username": instance.get_username(),
            "before": before,
            "after": after,
        },
    )


@receiver(pre_save, sender=Membership)
def remember_role(sender: Any, instance: Membership, **kwargs: Any) -> None:
    # The role before this save, from the database: the "pointer to the original data state"
    # that ASTM E2147 7.1.8 asks of a change.
    if instance.pk is None:
        instance._role_before = None
        return
    before = sender.objects.filter(pk=instance.pk).values_list("role", flat=True).first()
    instance._role_before = before  # type: ignore[attr-defined]


@receiver(post_save, sender=Membership)
def audit_membership_saved(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    before = getattr(instance, "_role_before", None)
    if created:
        _membership_event(instance, "role-granted", previous_role=None)
    elif before != instance.role:
        _membership_event(instance, "role-changed", previous_role=before)


@receiver(post_delete, sender=Membership)
def audit_membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _membership_event(instance, "role-revoked", previous_role=instance.role)


def _membership_event(membership: Membership, change: str, *, previous_role: str | None) -> None:
    audit_event_append(
        actor=change_actor(membership),
        action=Action.PRIVILEGE_CHANGE,
        resource_type="membership",
        resource_id=membership.pk or "",
        data_category="privileges",
        department_id=membership.department_id,
        payload={
            "change": change,
            "user_id": membership.user_id,
            "department_id": membership.department_id,
            # The role held after the change (the revoked role for a revocation), and before.
            "role": membership.role,
            "previous_role": previous_role,
        },
    )


@receiver(pre_save, sender=Profile)
def remember_profession(sender: Any, instance: Profile, **kwargs: Any) -> None:
    before = None
    if instance.pk is not None:
        before = sender.objects.filter(pk=instance.pk).values_list("profession", flat=True).first()
    instance._profession_before = before  # type: ignore[attr-defined]


@receiver(post_save, sender=Profile)
def audit_profession_saved(sender: Any, instance: Profile, **kwargs: Any) -> None:
    """The profession decides which sign-off a knowledge-base reviewer gives: a privilege."""
    before = getattr(instance, "_profession_before", None)
    if before == instance.profession:
        return
    audit_event_append(
        actor=change_actor(instance),
        action=Action.PRIVILEGE_CHANGE,
        resource_type="profile",
        resource_id=instance.pk,
        data_category="privileges",
        payload={
            "change": "profession-set",
            "user_id": instance.user_id,
            "profession": instance.profession,
            "previous_profession": before or "",
        },
    )


@receiver(post_save, sender=ApiToken)
def audit_api_token_issued(sender: Any, instance: ApiToken, created: bool, **kwargs: Any) -> None:
    if created:
        _api_token_event(instance, "api-token-issued")


@receiver(post_delete, sender=ApiToken)
def audit_api_token_revoked(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
    _api_token_event(instance, "api-token-revoked")


def _api_token_event(token: ApiToken, change: str) -> None:
    # An API token is a credential, so issuing or revoking one is a privilege change. The
    # prefix (never the key) tells the tokens apart; the admin lists the same prefix.
    audit_event_append(
        actor=change_actor(token),
        action=Action.PRIVILEGE_CHANGE,
        resource_type="api-token",
        resource_id=token.pk or "",
        data_category="privileges",
        payload={
            "change": change,
            "user_id": token.user_id,
            "prefix": token.prefix,
            "expires_at": token.expires_at.isoformat(),
        },
    )
