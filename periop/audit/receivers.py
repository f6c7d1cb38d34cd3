"""Audit of authentication and privilege changes (ONC (d)(2): logins, user privileges).

These are the one place Periop listens to signals: Django's auth framework announces logins
only through signals, and privilege changes can come from the admin, a command or the shell.
Listening to saves of users and memberships records them all, in the same transaction as the
change. (`accounts` sits below `audit` and must not import it.)
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from periop.accounts.models import Membership
from periop.audit.models import Action, Outcome
from periop.audit.services import Actor, audit_event_append

PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser")
User = get_user_model()


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
    audit_event_append(
        actor=Actor(user_id=None, username=username, kind="anonymous"),
        action=Action.LOGIN_FAILED,
        resource_type="session",
        data_category="authentication",
        outcome=Outcome.FAILURE,
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
        actor=Actor.system("account-change"),
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


@receiver(post_save, sender=Membership)
def audit_membership_saved(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    _membership_event(instance, "role-granted" if created else "role-changed")


@receiver(post_delete, sender=Membership)
def audit_membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _membership_event(instance, "role-revoked")


def _membership_event(membership: Membership, change: str) -> None:
    audit_event_append(
        actor=Actor.system("account-change"),
        action=Action.PRIVILEGE_CHANGE,
        resource_type="membership",
        resource_id=membership.pk or "",
        data_category="privileges",
        department_id=membership.department_id,
        payload={
            "change": change,
            "user_id": membership.user_id,
            "department_id": membership.department_id,
            "role": membership.role,
        },
    )
