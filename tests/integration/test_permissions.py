"""The permission helpers every API view relies on: 403 without role, 404 across departments."""

import pytest
from django.http import Http404
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from periop.accounts.models import Department, Membership, Role
from periop.accounts.permissions import (
    HasRole,
    department_roles,
    get_scoped_object_or_404,
    scope_to_departments,
    user_department_ids,
    user_has_role,
)
from tests.factories import DepartmentFactory, UserFactory


class PharmacyOnlyView(APIView):
    permission_classes = [HasRole]
    required_roles = (Role.PHARMACIST,)

    def get(self, request):
        return Response({"ok": True})


def call_view(user):
    request = APIRequestFactory().get("/")
    force_authenticate(request, user=user)
    return PharmacyOnlyView.as_view()(request)


@pytest.mark.django_db
def test_a_user_with_the_role_is_allowed(pharmacist):
    assert call_view(pharmacist).status_code == 200


@pytest.mark.django_db
def test_a_user_without_the_role_gets_403(auditor):
    response = call_view(auditor)

    assert response.status_code == 403
    assert response.data["detail"] == "Your role does not allow this action."


@pytest.mark.django_db
def test_a_user_without_any_membership_gets_403(roleless_user):
    assert call_view(roleless_user).status_code == 403


@pytest.mark.django_db
def test_a_superuser_may_do_everything():
    superuser = UserFactory(username="root", is_superuser=True)

    assert user_has_role(superuser, [Role.PHARMACIST])
    assert call_view(superuser).status_code == 200


@pytest.mark.django_db
def test_scoping_keeps_only_the_users_departments(anesthetist, department, other_department):
    memberships = Membership.objects.all()

    scoped = scope_to_departments(memberships, anesthetist)

    assert set(scoped.values_list("department_id", flat=True)) == {department.id}


@pytest.mark.django_db
def test_an_object_of_another_department_is_404_not_403(anesthetist, outsider):
    foreign_membership = Membership.objects.get(user=outsider)

    with pytest.raises(Http404):
        get_scoped_object_or_404(Membership.objects.all(), anesthetist, pk=foreign_membership.pk)


@pytest.mark.django_db
def test_an_object_of_the_users_department_is_returned(anesthetist):
    own = Membership.objects.get(user=anesthetist)

    assert get_scoped_object_or_404(Membership.objects.all(), anesthetist, pk=own.pk) == own


@pytest.mark.django_db
def test_scoping_by_role_excludes_departments_where_the_role_is_missing(anesthetist, department):
    scoped = scope_to_departments(
        Department.objects.all(), anesthetist, roles=[Role.AUDITOR], department_field="id"
    )

    assert list(scoped) == []


@pytest.mark.django_db
def test_a_malformed_id_is_404(anesthetist):
    with pytest.raises(Http404):
        get_scoped_object_or_404(Membership.objects.all(), anesthetist, pk="not-a-number")


@pytest.mark.django_db
def test_the_roles_read_once_answer_as_the_helpers_do(department, other_department):
    user = UserFactory(username="three-hats")
    Membership.objects.create(user=user, department=department, role=Role.ADMIN)
    Membership.objects.create(user=user, department=other_department, role=Role.AUDITOR)
    reviewed = DepartmentFactory(code="intensive-care", name="Intensive care")
    Membership.objects.create(user=user, department=reviewed, role=Role.KB_REVIEWER)

    held = department_roles(user)

    for roles in ([Role.ADMIN], [Role.KB_REVIEWER], [Role.AUDITOR], [Role.PHARMACIST], None):
        assert held.department_ids(roles) == user_department_ids(user, roles), roles
    assert held.has_role([Role.AUDITOR])
    assert not held.has_role([Role.PHARMACIST])
    assert held.holds(department.pk, [Role.ADMIN])
    assert not held.holds(other_department.pk, [Role.ADMIN])
    assert held.of(user) is held


@pytest.mark.django_db
def test_the_roles_read_once_hold_everywhere_for_a_superuser_only(department):
    superuser = UserFactory(username="root", is_superuser=True)

    held = department_roles(superuser)

    assert held.has_role([Role.PHARMACIST])
    assert held.holds(department.pk, [Role.ADMIN])
    # As `user_department_ids`: a superuser's departments are their memberships.
    assert held.department_ids([Role.ADMIN]) == set()


@pytest.mark.django_db
def test_one_users_roles_are_never_taken_for_anothers(anesthetist, outsider, department):
    with pytest.raises(ValueError, match="not the user's"):
        department_roles(outsider).of(anesthetist)
    with pytest.raises(ValueError, match="not the user's"):
        get_scoped_object_or_404(
            Department.objects.all(),
            anesthetist,
            department_field="pk",
            known=department_roles(outsider),
            pk=department.pk,
        )


@pytest.mark.django_db
def test_scoping_with_the_roles_read_once_asks_nothing_again(
    anesthetist, department, other_department, django_assert_num_queries
):
    held = department_roles(anesthetist)

    # the department itself, and nothing about the user's roles
    with django_assert_num_queries(1):
        found = get_scoped_object_or_404(
            Department.objects.all(),
            anesthetist,
            department_field="pk",
            known=held,
            pk=department.pk,
        )
    assert found == department
    with pytest.raises(Http404):
        get_scoped_object_or_404(
            Department.objects.all(),
            anesthetist,
            department_field="pk",
            known=held,
            pk=other_department.pk,
        )
