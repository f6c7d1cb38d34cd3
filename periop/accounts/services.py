"""Writes to departments, users and memberships. Role changes are privilege changes: callers
(commands, admin) go through these functions so each change happens in one transaction."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from periop.accounts.models import Department, Membership, Role


def department_create(*, code: str, name: str, time_zone: str = "UTC") -> Department:
    """Creates a department after validating every field."""
    department = Department(code=code, name=name, time_zone=time_zone)
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    department: Department,
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Creates a user with one department role. The password must pass the validators."""
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
    user.save()
    membership_grant(user=user, department=department, role=role)
    return user


@transaction.atomic
def membership_grant(*, user: User, department: Department, role: str) -> Membership:
    """Gives `user` the role in `department`, replacing any role they held there."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}. Choose from {', '.join(Role.values)}."}
        )
    membership, _created = Membership.objects.update_or_create(
        user=user, department=department, defaults={"role": role}
    )
    return membership


def api_token_issue(*, user: User) -> str:
    """Issues (or replaces) the user's API token and returns it; it is shown only once."""
    Token.objects.filter(user=user).delete()
    token: Token = Token.objects.create(user=user)
    return str(token.key)


def random_password() -> str:
    """A password for generated accounts: 20 URL-safe characters from the OS's CSPRNG."""
    return secrets.token_urlsafe(15)
