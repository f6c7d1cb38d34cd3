from typing import Any

from django.contrib import admin
from django.forms import BaseModelForm
from django.http import HttpRequest

from periop.audit.services import Actor
from periop.interop.models import CdsClient
from periop.interop.services import cds_client_remove, cds_client_save


@admin.register(CdsClient)
class CdsClientAdmin(admin.ModelAdmin[CdsClient]):
    """Registered CDS clients; every change is recorded in the ledger as a privilege change."""

    list_display = ("issuer", "department", "active", "created_at")
    list_filter = ("active", "department")
    search_fields = ("issuer",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "jwks_url":
            # A JWK Set is only ever fetched over https.
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: CdsClient, form: BaseModelForm[Any], change: bool
    ) -> None:
        cds_client_save(actor=Actor.from_user(request.user), client=obj)

    def delete_model(self, request: HttpRequest, obj: CdsClient) -> None:
        cds_client_remove(actor=Actor.from_user(request.user), client=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for client in queryset:
            cds_client_remove(actor=Actor.from_user(request.user), client=client)
