from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from periop.accounts.models import Department, Membership


class MembershipInline(admin.TabularInline[Membership, Department]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
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
class PeriopUserAdmin(UserAdmin[User]):
    inlines = [UserMembershipInline]
