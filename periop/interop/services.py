"""Registering CDS clients: each change is a privilege change, recorded in the ledger."""

from __future__ import annotations

from django.db import transaction

from periop.audit.models import Action
from periop.audit.services import Actor, audit_event_append
from periop.interop.models import CdsCard, CdsClient


def _record(actor: Actor, client: CdsClient, change: str) -> None:
    audit_event_append(
        actor=actor,
        action=Action.PRIVILEGE_CHANGE,
        resource_type="cds-client",
        resource_id=client.pk or "",
        data_category="cds-hooks-client",
        department_id=client.department_id,
        payload={
            "change": change,
            "issuer": client.issuer,
            "key": "jwks-url" if client.jwks_url else "public-key",
            "active": client.active,
        },
    )


def cds_client_save(*, actor: Actor, client: CdsClient) -> CdsClient:
    """Registers or changes a client (validated first)."""
    client.full_clean()
    change = "changed" if client.pk else "registered"
    with transaction.atomic():
        client.save()
        _record(actor, client, change)
    return client


def cds_client_remove(*, actor: Actor, client: CdsClient) -> None:
    """Removes a client that never called; one with cards issued is deactivated instead, so
    its cards keep the issuer they were issued to."""
    with transaction.atomic():
        if CdsCard.objects.filter(client=client).exists():
            client.active = False
            client.save(update_fields=["active"])
            _record(actor, client, "deactivated")
        else:
            _record(actor, client, "removed")
            client.delete()
