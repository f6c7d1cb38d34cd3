"""Departments and role memberships: the unit of access control in Periop."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}. Use an IANA name like Europe/London.")


class Role(models.TextChoices):
    ANESTHETIST = "anesthetist", "Anesthetist"
    PHARMACIST = "pharmacist", "Pharmacist"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Department administrator"
    # Reviews knowledge-base releases (sign-offs, comments, activation); no patient access.
    KB_REVIEWER = "kb-reviewer", "Knowledge-base reviewer"


class Profession(models.TextChoices):
    """The two kinds of sign-off a knowledge-base rule needs."""

    CONSULTANT_ANAESTHETIST = "consultant-anaesthetist", "Consultant anaesthetist"
    CLINICAL_PHARMACIST = "clinical-pharmacist", "Clinical pharmacist"


class Department(models.Model):
    code = models.SlugField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lowercase letters, digits, -.")],
        help_text="Short stable identifier, for example 'main-theatres'.",
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Reports for this department are stated in this time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one department. One role per user and department."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department"], name="membership_one_role_per_department"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]),
                name="membership_role_valid",
            ),
        ]
        ordering = ["department__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.department}"


# An API key is 40 hexadecimal characters (160 random bits). Its first 8 are kept in the clear
# to find the row; the rest of the key is never stored.
API_TOKEN_PREFIX_LENGTH = 8


def api_token_digest(key: str) -> str:
    """SHA-256 of a presented key. A fast hash is enough: the keys are random and long, so
    there is nothing to guess from a digest, unlike a password."""
    return hashlib.sha256(key.encode()).hexdigest()


# The longest life a token may be given (two years): a credential nobody rotates is a
# credential nobody notices leaking.
MAXIMUM_API_TOKEN_LIFETIME_DAYS = 730


def api_token_expiry() -> dt.datetime:
    """When a token issued now expires: `API_TOKEN_LIFETIME_DAYS` from now. Tokens that existed
    before tokens expired were given a full lifetime from the upgrade."""
    return timezone.now() + dt.timedelta(days=settings.API_TOKEN_LIFETIME_DAYS)


class ApiToken(models.Model):
    """An API client's credential (a pharmacy system's). Only the key's digest and its prefix
    are stored: the key is shown once, when it is issued, and cannot be read back. A token
    expires (`expires_at`); a client then needs a new one from its department's admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=API_TOKEN_PREFIX_LENGTH, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=api_token_expiry)

    class Meta:
        ordering = ["user__username", "created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Profile(models.Model):
    """What Periop records about a person beyond their account: the profession under which a
    knowledge-base reviewer signs off rules."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="periop_profile"
    )
    profession = models.CharField(max_length=30, choices=Profession.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(profession__in=["", *Profession.values]),
                name="profile_profession_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_profession_display() or 'no profession recorded'}"
