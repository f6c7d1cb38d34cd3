"""Writes to departments, users and memberships. Role changes are privilege changes: callers
(commands, admin) go through these functions so each change happens in one transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from periop.accounts.actors import ChangeActor, change_actor_set
from periop.accounts.models import (
    API_TOKEN_PREFIX_LENGTH,
    MAXIMUM_API_TOKEN_LIFETIME_DAYS,
    ApiToken,
    Department,
    Membership,
    Profession,
    Profile,
    Role,
    api_token_digest,
)


def department_create(*, code: str, name: str, time_zone: str = "UTC") -> Department:
    """Creates a department after validating every field."""
    department = Department(code=code, name=name, time_zone=time_zone)
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def user_create(
    *,
    actor: ChangeActor,
    username: str,
    password: str,
    role: str,
    department: Department,
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Creates a user with one department role. The password must pass the validators.

    `actor` (the administrator, or the name of the command) is recorded with the account's
    creation and its first role."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}. Choose from {', '.join(Role.values)}."}
        )
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named {username!r} already exists."})
    user = user_model(username=username, email=email, is_staff=is_staff)
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    change_actor_set(user, actor)
    user.save()
    membership_grant(actor=actor, user=user, department=department, role=role)
    return user


@transaction.atomic
def user_privileges_set(
    *,
    actor: ChangeActor,
    user: User,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> User:
    """Changes a user's site-wide privileges; the ledger records `actor` with before and after."""
    if is_staff is not None:
        user.is_staff = is_staff
    if is_superuser is not None:
        user.is_superuser = is_superuser
    change_actor_set(user, actor)
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


@transaction.atomic
def membership_grant(
    *, actor: ChangeActor, user: User, department: Department, role: str
) -> Membership:
    """Gives `user` the role in `department`, replacing any role they held there. The ledger
    records `actor` with the previous role and the new one."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}. Choose from {', '.join(Role.values)}."}
        )
    membership = (
        Membership.objects.select_for_update().filter(user=user, department=department).first()
    )
    if membership is None:
        membership = Membership(user=user, department=department, role=role)
    return membership_set_role(actor=actor, membership=membership, role=role)


@transaction.atomic
def membership_set_role(*, actor: ChangeActor, membership: Membership, role: str) -> Membership:
    """Sets the role of an existing (or new, unsaved) membership, recording `actor`."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}. Choose from {', '.join(Role.values)}."}
        )
    membership.role = role
    change_actor_set(membership, actor)
    membership.save()
    return membership


@transaction.atomic
def profession_set(*, actor: ChangeActor, user: User, profession: str) -> Profile:
    """Records the profession under which `user` signs off knowledge-base rules (consultant
    anaesthetist or clinical pharmacist; "" for none). The ledger records `actor`."""
    if profession not in ["", *Profession.values]:
        raise ValidationError(
            {
                "profession": f"Unknown profession {profession!r}. Choose from "
                f"{', '.join(Profession.values)}."
            }
        )
    profile = Profile.objects.select_for_update().filter(user=user).first() or Profile(user=user)
    profile.profession = profession
    change_actor_set(profile, actor)
    profile.save()
    return profile


def profession_of(user: Any) -> str:
    """The user's recorded profession, "" when none."""
    profile = Profile.objects.filter(user_id=user.pk).first()
    return "" if profile is None else profile.profession


@transaction.atomic
def membership_revoke(*, actor: ChangeActor, membership: Membership) -> None:
    """Removes a role; the ledger records `actor` and the role that was revoked."""
    change_actor_set(membership, actor)
    membership.delete()


@transaction.atomic
def api_token_issue(*, actor: ChangeActor, user: User, lifetime_days: int | None = None) -> str:
    """Issues a new API token for `user`, revoking any they held, and returns its key. It
    expires after `lifetime_days` (by default `API_TOKEN_LIFETIME_DAYS`).

    This is the only time the key exists outside the client: the database keeps its digest.
    The ledger records the issue (and each revocation) with `actor`."""
    days = settings.API_TOKEN_LIFETIME_DAYS if lifetime_days is None else lifetime_days
    if not 1 <= days <= MAXIMUM_API_TOKEN_LIFETIME_DAYS:
        raise ValidationError(
            f"An API token lives 1 to {MAXIMUM_API_TOKEN_LIFETIME_DAYS} days, not {days}."
        )
    for token in ApiToken.objects.select_for_update().filter(user=user):
        api_token_revoke(actor=actor, token=token)
    key = secrets.token_hex(20)
    token = ApiToken(
        user=user,
        prefix=key[:API_TOKEN_PREFIX_LENGTH],
        digest=api_token_digest(key),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    change_actor_set(token, actor)
    token.save()
    return key


@transaction.atomic
def api_token_revoke(*, actor: ChangeActor, token: ApiToken) -> None:
    """Revokes an API token at once; the ledger records `actor`."""
    change_actor_set(token, actor)
    token.delete()


def random_password(user: Any = None) -> str:
    """A password for generated accounts: 20 URL-safe characters from the OS's CSPRNG that the
    configured validators accept for `user`. A random string can share enough letters with a
    long username to count as "too similar to the username" (about once in 20,000 draws for
    the demo's longest), so one refused is drawn again; the account is never left unmade."""
    for _ in range(100):
        password = secrets.token_urlsafe(15)
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password
    raise RuntimeError("The password validators refused 100 random passwords in a row.")
