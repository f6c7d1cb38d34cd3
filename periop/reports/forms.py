"""Input of the report pages: the period and the audit-log filters, checked at the edge."""

from __future__ import annotations

from typing import Any

from django import forms

from periop.audit.models import Action
from periop.audit.selectors import SORT_FIELDS

FORMATS = ("html", "csv", "pdf")
AUDIT_LOG_FORMATS = ("html", "csv")
SORT_CHOICES = [(name, name) for name in SORT_FIELDS] + [
    (f"-{name}", f"{name} (descending)") for name in SORT_FIELDS
]


class AuditLogFilterForm(forms.Form):
    """Filters of the audit-log report; the period is parsed with the department's zone."""

    patient = forms.IntegerField(required=False, min_value=1, max_value=2**62)
    user = forms.CharField(required=False, max_length=150, help_text="Username or user id.")
    action = forms.ChoiceField(required=False, choices=[("", "any action"), *Action.choices])
    ordering = forms.ChoiceField(required=False, choices=SORT_CHOICES, initial="occurred_at")
    page = forms.IntegerField(required=False, min_value=1, max_value=10**7)

    def filters(self) -> dict[str, Any]:
        """The filters given, for the selector and the audit record."""
        data = self.cleaned_data
        return {
            key: data[key]
            for key in ("patient", "user", "action")
            if data.get(key) not in (None, "")
        }
