"""manage.py cds_client: registering, listing and removing CDS clients, each change audited."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import CommandError, call_command

from periop.audit.models import AuditEvent
from periop.interop.models import CdsClient
from tests.interop.conftest import public_pem

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("cds_client", *args, stdout=out)
    return out.getvalue()


def test_it_registers_a_client_with_a_public_key_and_audits_it(department, ec_key, tmp_path):
    pem = tmp_path / "ehr.pem"
    pem.write_text(public_pem(ec_key))

    _run("add", "https://ehr.example/", "--public-key", str(pem), "--department", department.code)

    client = CdsClient.objects.get()
    assert (client.issuer, client.department, client.active) == (
        "https://ehr.example/",
        department,
        True,
    )
    assert "BEGIN PUBLIC KEY" in client.public_key_pem
    event = AuditEvent.objects.get(resource_type="cds-client")
    assert event.action == "privilege-change"
    assert event.actor_username == "command:cds_client"


def test_it_registers_a_client_with_a_jwks_url_and_lists_it(department):
    _run(
        "add",
        "https://ehr.example/",
        "--jwks-url",
        "https://ehr.example/jwks.json",
        "--department",
        department.code,
    )

    assert "https://ehr.example/\t" in _run("list")
    assert "jwks https://ehr.example/jwks.json" in _run("list")


def test_it_refuses_a_jwks_url_without_https(department):
    with pytest.raises(CommandError, match="https"):
        _run("add", "iss", "--jwks-url", "http://ehr.example/j", "--department", department.code)
    assert not CdsClient.objects.exists()


def test_it_refuses_a_p256_key(department, tmp_path):
    pem = tmp_path / "p256.pem"
    pem.write_text(public_pem(ec.generate_private_key(ec.SECP256R1())))

    with pytest.raises(CommandError, match="P-384"):
        _run("add", "iss", "--public-key", str(pem), "--department", department.code)


def test_it_refuses_an_unknown_department(ec_key, tmp_path, db):
    pem = tmp_path / "ehr.pem"
    pem.write_text(public_pem(ec_key))

    with pytest.raises(CommandError, match="No department"):
        _run("add", "iss", "--public-key", str(pem), "--department", "nowhere")


def test_it_removes_a_client(cds_client):
    _run("remove", cds_client.issuer)

    assert not CdsClient.objects.exists()
    assert AuditEvent.objects.filter(resource_type="cds-client").count() == 2
