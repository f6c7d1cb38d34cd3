from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Model
from django.forms import BaseModelForm
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from periop.accounts.actors import change_actor_set
from periop.accounts.models import ApiToken, Department, Membership


class ActorRecordingAdmin(admin.ModelAdmin[Any]):
    """Names the signed-in administrator as the actor of every save and delete the admin makes,
    of the object and of its inlines, so the ledger records who changed a privilege."""

    def save_model(
        self, request: HttpRequest, obj: Any, form: BaseModelForm[Any], change: bool
    ) -> None:
        change_actor_set(obj, request.user)
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        change_actor_set(obj, request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # One by one, so that each deletion is recorded with its actor.
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(
        self,
        request: HttpRequest,
        form: Any,
        formset: BaseInlineFormSet[Any, Any, Any],
        change: bool,
    ) -> None:
        # Deleted inline rows are the forms' own instances, so this names their actor too.
        for inline_form in formset.forms:
            instance: Model = inline_form.instance
            change_actor_set(instance, request.user)
        super().save_formset(request, form, formset, change)


class MembershipInline(admin.TabularInline[Membership, Department]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(ActorRecordingAdmin):
    list_display = ["code", "name", "time_zone", "created_at"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]


class UserMembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0
    fk_name = "user"


user_model = get_user_model()
admin.site.unregister(user_model)


@admin.register(user_model)
class PeriopUserAdmin(ActorRecordingAdmin, UserAdmin[User]):
    inlines = [UserMembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(ActorRecordingAdmin):
    """Lists tokens by prefix and date, and revokes them. The key itself is not stored, so no
    page can show it; tokens are issued by `manage.py create_user --api-token` or
    `manage.py api_token`, which print the key once."""

    list_display = ["prefix", "user", "created_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["prefix", "user__username"]
    fields = ["prefix", "user", "created_at", "expires_at"]
    readonly_fields = ["prefix", "user", "created_at", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
