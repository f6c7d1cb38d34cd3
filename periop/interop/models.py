"""CDS Hooks: the registered clients, the tokens already seen, the cards issued and the feedback
received on them.

Cards and feedback keep no patient data: a card row holds the drug and the level it showed, so
feedback can be checked against a card Periop really issued and the department reports can count
overrides in the database.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from periop.accounts.models import Department


class CdsClient(models.Model):
    """An EHR (or other CDS client) allowed to call the CDS Hooks service.

    Its JWTs are verified against the public key given here or the JWK Set at `jwks_url`; the
    calls it makes are recorded under its department.
    """

    issuer = models.CharField(
        max_length=255, unique=True, help_text="The `iss` of the client's JWTs, exactly."
    )
    jwks_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="https URL of the client's JWK Set (also the only `jku` accepted).",
    )
    public_key_pem = models.TextField(
        blank=True, help_text="Or the client's public key (EC P-384 or RSA), PEM."
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issuer"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(jwks_url="") | ~models.Q(public_key_pem=""),
                name="cds_client_has_a_key",
            )
        ]

    def __str__(self) -> str:
        return self.issuer

    def clean(self) -> None:
        if not self.jwks_url and not self.public_key_pem:
            raise ValidationError("Give the client's JWK Set URL or its public key.")
        if self.jwks_url and not self.jwks_url.startswith("https://"):
            raise ValidationError({"jwks_url": "The JWK Set URL must use https."})


class CdsTokenSeen(models.Model):
    """A JWT id already used, kept until its token expires, so that a replay is refused by every
    application server (the unique constraint decides)."""

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "jti"], name="cds_token_seen_once")
        ]

    def __str__(self) -> str:
        return f"{self.issuer} {self.jti}"


class CdsCard(models.Model):
    """A card the service returned: what feedback refers to."""

    uuid = models.UUIDField(primary_key=True)
    hook_instance = models.CharField(max_length=64)
    client = models.ForeignKey(CdsClient, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    service = models.CharField(max_length=64)
    # The drug code of the knowledge base, or "" for an order that could not be checked.
    drug = models.CharField(max_length=64, blank=True)
    level = models.CharField(max_length=20, blank=True)
    issued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"card {self.uuid}"


class FeedbackOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    OVERRIDDEN = "overridden", "Overridden"


class CdsFeedback(models.Model):
    """One feedback entry on a card (the same card may be reported more than once)."""

    card = models.ForeignKey(CdsCard, on_delete=models.PROTECT, related_name="feedback")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=FeedbackOutcome.choices)
    # A reason of Periop's closed list, or "" when the client gave none or one of its own.
    reason_code = models.CharField(max_length=32, blank=True)
    outcome_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["department", "received_at"], name="cds_feedback_dept_time")
        ]

    def __str__(self) -> str:
        return f"{self.outcome} card {self.card_id}"
