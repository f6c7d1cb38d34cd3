"""The CDS client admin: a registration is validated and recorded as a privilege change by the
signed-in administrator."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from periop.audit.models import AuditEvent
from periop.interop.models import CdsClient
from tests.interop.conftest import public_pem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser():
    user = get_user_model().objects.create_superuser("root-admin", "root@hospital.example", "pw")
    browser = Client()
    browser.force_login(user)
    return browser


def test_the_admin_registers_a_client_and_the_ledger_names_the_administrator(
    admin_browser, department, ec_key
):
    response = admin_browser.post(
        "/admin/interop/cdsclient/add/",
        {
            "issuer": "https://ehr.example/",
            "jwks_url": "",
            "public_key_pem": public_pem(ec_key),
            "department": department.pk,
            "active": "on",
        },
    )

    assert response.status_code == 302
    assert CdsClient.objects.get().issuer == "https://ehr.example/"
    event = AuditEvent.objects.get(resource_type="cds-client")
    assert (event.action, event.actor_username) == ("privilege-change", "root-admin")


def test_the_admin_refuses_a_client_without_a_key(admin_browser, department):
    response = admin_browser.post(
        "/admin/interop/cdsclient/add/",
        {"issuer": "https://ehr.example/", "department": department.pk, "active": "on"},
    )

    assert response.status_code == 200
    assert "JWK Set URL or its public key" in response.content.decode()
    assert not CdsClient.objects.exists()
