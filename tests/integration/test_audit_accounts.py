"""Logins, failed logins and privilege changes land in the ledger (ONC (d)(2))."""

import json

import pytest
from django.contrib.auth import get_user_model

from periop.accounts.models import Membership, Role
from periop.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


def test_a_login_is_audited(client, anesthetist):
    assert client.login(username="dr-anesthetist", password=TEST_PASSWORD)

    (event,) = events("login")
    assert event.actor_username == "dr-anesthetist"
    assert event.outcome == "success"


def test_a_failed_login_is_audited_without_the_password(client, anesthetist):
    assert not client.login(username="dr-anesthetist", password="wrong-password-123")

    (event,) = events("login-failed")
    assert event.actor_username == "dr-anesthetist"
    assert event.outcome == "failure"
    assert "wrong-password" not in event.payload


def test_granting_changing_and_revoking_a_role_are_audited(department):
    user = UserFactory(username="dr-new")
    membership = Membership.objects.create(user=user, department=department, role=Role.AUDITOR)
    membership.role = Role.ADMIN
    membership.save()
    membership.delete()

    changes = [json.loads(event.payload)["change"] for event in events("privilege-change")]
    assert changes[-3:] == ["role-granted", "role-changed", "role-revoked"]
    assert json.loads(events("privilege-change")[-2].payload)["role"] == "admin"


def test_creating_an_account_and_making_it_superuser_are_audited():
    user = get_user_model().objects.create_user(username="dr-root", password=TEST_PASSWORD)
    user.is_superuser = True
    user.save()

    payloads = [json.loads(event.payload) for event in events("privilege-change")]
    assert [payload["change"] for payload in payloads] == [
        "account-created",
        "account-privileges-changed",
    ]
    assert payloads[1]["before"]["is_superuser"] is False
    assert payloads[1]["after"]["is_superuser"] is True


def test_saving_a_user_without_privilege_change_is_not_a_privilege_event():
    user = UserFactory(username="dr-quiet")
    count = AuditEvent.objects.count()

    user.email = "new@hospital.example"
    user.save()

    assert AuditEvent.objects.count() == count
