"""Logins, failed logins and privilege changes land in the ledger (ONC (d)(2))."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from periop.accounts.models import Membership, Role
from periop.accounts.services import membership_grant, membership_revoke
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


def _privilege_events(resource_type):
    return [
        (event, json.loads(event.payload))
        for event in events("privilege-change")
        if event.resource_type == resource_type
    ]


def _membership_form(department, membership, user, role, *, delete=False):
    data = {
        "code": department.code,
        "name": department.name,
        "time_zone": department.time_zone,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-department": str(department.pk),
        "memberships-0-user": str(user.pk),
        "memberships-0-role": role,
    }
    if delete:
        data["memberships-0-DELETE"] = "on"
    return data


def test_a_role_changed_in_the_admin_names_the_administrator_and_both_roles(
    client, department, pharmacist
):
    # F7: the admin's membership inline once recorded the change as the system's, without the
    # role it replaced.
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)
    membership = Membership.objects.get(user=pharmacist)

    response = client.post(
        f"/admin/accounts/department/{department.pk}/change/",
        _membership_form(department, membership, pharmacist, Role.ADMIN),
    )

    assert response.status_code == 302
    event, payload = _privilege_events("membership")[-1]
    assert (event.actor_kind, event.actor_user_id, event.actor_username) == (
        "user",
        root.pk,
        "root",
    )
    assert payload["change"] == "role-changed"
    assert (payload["previous_role"], payload["role"]) == ("pharmacist", "admin")
    assert event.department_id == department.pk


def test_a_role_revoked_in_the_admin_names_the_administrator(client, department, pharmacist):
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)
    membership = Membership.objects.get(user=pharmacist)

    response = client.post(
        f"/admin/accounts/department/{department.pk}/change/",
        _membership_form(department, membership, pharmacist, Role.PHARMACIST, delete=True),
    )

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    event, payload = _privilege_events("membership")[-1]
    assert (event.actor_user_id, payload["change"], payload["role"]) == (
        root.pk,
        "role-revoked",
        "pharmacist",
    )


def test_making_a_user_staff_in_the_admin_names_the_administrator(client, pharmacist):
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)

    response = client.post(
        f"/admin/auth/user/{pharmacist.pk}/change/",
        {
            "username": pharmacist.username,
            "email": pharmacist.email,
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    event, payload = _privilege_events("user")[-1]
    assert event.actor_user_id == root.pk
    assert payload["change"] == "account-privileges-changed"
    assert payload["after"]["is_staff"] is True


def test_the_role_service_records_its_actor_and_the_previous_role(department, department_admin):
    user = UserFactory(username="dr-new")
    membership_grant(actor=department_admin, user=user, department=department, role=Role.AUDITOR)
    membership_grant(actor=department_admin, user=user, department=department, role=Role.ADMIN)
    count = AuditEvent.objects.count()
    # Granting the role the user already holds changes nothing, so records nothing.
    membership_grant(actor=department_admin, user=user, department=department, role=Role.ADMIN)
    assert AuditEvent.objects.count() == count
    membership_revoke(actor="command:test", membership=Membership.objects.get(user=user))

    recorded = [
        (event.actor_username, payload["change"], payload["previous_role"], payload["role"])
        for event, payload in _privilege_events("membership")[-3:]
    ]
    assert recorded == [
        ("department-admin", "role-granted", None, "auditor"),
        ("department-admin", "role-changed", "auditor", "admin"),
        ("command:test", "role-revoked", "admin", "admin"),
    ]


def test_create_user_records_the_command_as_the_actor(monkeypatch, department):
    monkeypatch.setenv("PERIOP_USER_PASSWORD", "a-long-and-unguessable-passphrase-17")

    call_command("create_user", "dr-who", "--role", "auditor", "--department", department.code)

    actors = {(event.actor_kind, event.actor_username) for event in events("privilege-change")}
    assert actors == {("system", "command:create_user")}


def test_a_role_changed_in_the_user_admins_inline_names_the_administrator(
    client, department, pharmacist
):
    root = get_user_model().objects.create_superuser(username="root", password=TEST_PASSWORD)
    client.force_login(root)
    membership = Membership.objects.get(user=pharmacist)

    response = client.post(
        f"/admin/auth/user/{pharmacist.pk}/change/",
        {
            "username": pharmacist.username,
            "email": pharmacist.email,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(membership.pk),
            "memberships-0-user": str(pharmacist.pk),
            "memberships-0-department": str(department.pk),
            "memberships-0-role": Role.AUDITOR,
        },
    )

    assert response.status_code == 302
    event, payload = _privilege_events("membership")[-1]
    assert (event.actor_user_id, payload["previous_role"], payload["role"]) == (
        root.pk,
        "pharmacist",
        "auditor",
    )
