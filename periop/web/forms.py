"""Forms of the pre-op pages: shape and plain-language messages; services decide meaning."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from periop.api import DomainError
from periop.assessments.models import (
    MAXIMUM_WEIGHT_KG,
    MINIMUM_WEIGHT_KG,
    RECEPTOR_STATE_CHOICES,
    ReasonCode,
    Sex,
)
from periop.assessments.services.plan import PLAN_DECISION
from periop.drugs.engine import KnowledgeBase
from periop.drugs.engine.knowledge import AttributeDefinition
from periop.drugs.services import clinical_time_validate
from periop.drugs.weights import WEIGHT_ERROR_MESSAGES
from periop.web.presenters import RECEPTOR_STATE_LABELS, choice_label, drug_choices

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
ATTRIBUTE_PREFIX = "attribute_"


class DrugChoiceField(forms.ChoiceField):
    """A drug pick list that also takes a drug's synonym (v1.1) and cleans it to the code."""

    names: Mapping[str, str] = {}

    def to_python(self, value: Any) -> str:
        name = super().to_python(value)
        return self.names.get(name, name)


class DrugMultipleChoiceField(forms.MultipleChoiceField):
    """Planned drugs by code or synonym (v1.1), cleaned to codes without repeats."""

    names: Mapping[str, str] = {}

    def to_python(self, value: Any) -> list[str]:
        names = super().to_python(value)
        return list(dict.fromkeys(self.names.get(name, name) for name in names))


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": (
            "That username and password do not match. Check them and try again; after "
            "repeated failures the account is locked for a while."
        ),
        "inactive": "This account is inactive. Ask your department administrator.",
    }


class DepartmentForm(forms.Form):
    department = forms.TypedChoiceField(coerce=int, label="Department", widget=forms.RadioSelect)

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = choices


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="MRN or name",
        max_length=200,
        required=False,
        help_text="The medical record number, its beginning, or part of the name.",
    )


class PatientForm(forms.Form):
    mrn = forms.CharField(label="Medical record number (MRN)", max_length=64)
    name = forms.CharField(label="Full name", max_length=200)
    birth_date = forms.DateField(
        label="Date of birth", widget=DATE_WIDGET, validators=[clinical_time_validate]
    )
    sex = forms.ChoiceField(label="Sex", choices=Sex.choices, initial=Sex.UNKNOWN)


def add_domain_error(form: forms.Form, error: DomainError, fields: Mapping[str, str]) -> None:
    """Shows a service's message next to the field it concerns (else at the top of the form)."""
    name = fields.get(error.field or "", error.field)
    form.add_error(name if name in form.fields else None, error.message)


class TimePointMixin:
    """Pairs of date and optional time fields read as a date or an instant.

    A date alone means "that day, time unknown" and stays a date, so the engine sees its
    uncertainty; with a time it is an instant in the department's time zone.
    """

    time_zone: zoneinfo.ZoneInfo
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def add_time_point(self, name: str, label: str, *, required: bool = False) -> None:
        # The year is checked on the date as typed, before it is combined with the time and
        # shifted to UTC, which overflows at the ends of the calendar.
        self.fields[f"{name}_date"] = forms.DateField(
            label=f"{label}: date",
            required=required,
            widget=DATE_WIDGET,
            validators=[clinical_time_validate],
        )
        self.fields[f"{name}_time"] = forms.TimeField(
            label=f"{label}: time (if known)" if not required else f"{label}: time",
            required=required,
            widget=TIME_WIDGET,
        )

    def time_point(self, name: str) -> dt.date | dt.datetime | None:
        day: dt.date | None = self.cleaned_data.get(f"{name}_date")
        time: dt.time | None = self.cleaned_data.get(f"{name}_time")
        if day is None:
            # A date refused for itself already carries its error.
            if time is not None and f"{name}_date" not in self.errors:  # type: ignore[attr-defined]
                self.add_error(f"{name}_date", "Give the date as well as the time.")  # type: ignore[attr-defined]
            return None
        if time is None:
            return day
        local = dt.datetime.combine(day, time, tzinfo=self.time_zone)
        return local.astimezone(dt.UTC)


def time_point_initial(
    name: str, point: dt.date | dt.datetime | None, time_zone: zoneinfo.ZoneInfo
) -> dict[str, Any]:
    if point is None:
        return {}
    if isinstance(point, dt.datetime):
        local = point.astimezone(time_zone)
        return {f"{name}_date": local.date(), f"{name}_time": local.time().replace(second=0)}
    return {f"{name}_date": point}


def attribute_field(definition: AttributeDefinition) -> forms.Field:
    help_parts = []
    if definition.default is not None:
        shown = (
            "yes"
            if definition.default is True
            else "no"
            if definition.default is False
            else definition.default
        )
        help_parts.append(f"If not recorded: {shown}.")
    if definition.type == "choice":
        return forms.ChoiceField(
            label=definition.label,
            required=False,
            choices=[("", "Not recorded"), *((c, choice_label(c)) for c in definition.choices)],
            help_text=" ".join(help_parts),
        )
    if definition.type == "boolean":
        return forms.TypedChoiceField(
            label=definition.label,
            required=False,
            choices=[("", "Not recorded"), ("true", "Yes"), ("false", "No")],
            coerce=lambda value: value == "true",
            empty_value=None,
            help_text=" ".join(help_parts),
        )
    if definition.minimum is not None or definition.maximum is not None:
        low = "" if definition.minimum is None else f"from {definition.minimum}"
        high = "" if definition.maximum is None else f"to {definition.maximum}"
        help_parts.append(f"A number {low} {high}".replace("  ", " ").strip() + ".")
    label = f"{definition.label} ({definition.unit})" if definition.unit else definition.label
    return forms.DecimalField(
        label=label,
        required=False,
        max_digits=12,
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"invalid": "Enter a number, for example 12 or 12.5."},
        help_text=" ".join(help_parts),
    )


class ConditionForm(TimePointMixin, forms.Form):
    """A condition with the attribute fields the knowledge base defines for its code only."""

    code = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for the correction (required)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        knowledge_base: KnowledgeBase,
        code: str,
        time_zone: zoneinfo.ZoneInfo,
        correcting: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.definition = knowledge_base.conditions[code]
        self.fields["code"].initial = code
        self.add_time_point("onset", "Onset")
        self.fields["onset_ago"] = forms.IntegerField(
            label="Onset: how long ago",
            required=False,
            widget=forms.TextInput(attrs={"inputmode": "numeric"}),
            error_messages={"invalid": "Enter a whole number, for example 3."},
        )
        self.fields["onset_ago_unit"] = forms.ChoiceField(
            label="Onset: days or hours ago",
            choices=[("days", "days ago"), ("hours", "hours ago")],
            initial="days",
            required=False,
        )
        self.add_time_point("resolved", "Resolved")
        for name, definition in self.definition.attributes.items():
            field = attribute_field(definition)
            if isinstance(field, forms.ChoiceField):
                # A value recorded under an earlier release may be one this release dropped.
                field.error_messages["invalid_choice"] = (
                    f"Knowledge-base release {knowledge_base.version}, now active, does not "
                    f"accept %(value)s for {definition.label}: choose another value."
                )
            self.fields[ATTRIBUTE_PREFIX + name] = field
        self.correcting = correcting
        if not correcting:
            del self.fields["reason"]

    def attribute_fields(self) -> list[forms.BoundField]:
        return [self[ATTRIBUTE_PREFIX + name] for name in self.definition.attributes]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("code") != self.definition.code:
            raise forms.ValidationError("The condition changed while you typed: choose it again.")
        self.onset = self.time_point("onset")
        self.resolved = self.time_point("resolved")
        # "N days (or hours) ago" instead of a date: the records service turns it into the
        # time point, checked against the patient's birth (`onset_ago()`).
        ago = cleaned.get("onset_ago")
        self.onset_ago = None if ago is None else (ago, cleaned.get("onset_ago_unit") or "days")
        if ago is not None and (cleaned.get("onset_date") or cleaned.get("onset_time")):
            self.add_error(
                "onset_ago", "Give the onset either as a date or as a time ago, not both."
            )
        attributes: dict[str, Any] = {}
        for name, definition in self.definition.attributes.items():
            value = cleaned.get(ATTRIBUTE_PREFIX + name)
            if value is None or value == "":
                continue
            if isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else float(value)
            problem = definition.check(value)
            if problem:
                self.add_error(ATTRIBUTE_PREFIX + name, problem)
            attributes[name] = value
        if self.correcting and self.data:
            # An attribute the release no longer defines, sent as recorded: passed on for the
            # records service to refuse by name (`condition_correction_check`), never dropped.
            for key, value in self.data.items():
                name = key.removeprefix(ATTRIBUTE_PREFIX)
                if key != name and name not in self.definition.attributes and value != "":
                    attributes[name] = value
        self.attributes = attributes
        return cleaned


# Where a records service's field errors belong on the condition and medication forms.
CONDITION_ERROR_FIELDS = {
    "onset": "onset_date",
    "onset_ago": "onset_ago",
    "onset_ago_unit": "onset_ago_unit",
    "resolved": "resolved_date",
    "code": "code",
    "reason": "reason",
}
MEDICATION_ERROR_FIELDS = {
    "code": "code",
    "started": "started_date",
    "stopped": "stopped_date",
    "dose_text": "dose_text",
}


class MedicationForm(TimePointMixin, forms.Form):
    code = DrugChoiceField(label="Medication")

    def __init__(
        self, *args: Any, knowledge_base: KnowledgeBase, time_zone: zoneinfo.ZoneInfo, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        field = self.fields["code"]
        assert isinstance(field, DrugChoiceField)  # noqa: S101 - narrows the type
        field.choices = [("", "Choose a medication"), *drug_choices(knowledge_base)]
        field.names = knowledge_base.index.drug_names
        self.add_time_point("started", "Started")
        self.add_time_point("stopped", "Stopped")
        self.fields["dose_text"] = forms.CharField(
            label="Dose (optional)",
            required=False,
            max_length=200,
            help_text="As you would write it, for example “60 mg four times daily”. Kept with "
            "the record and printed with the plan; the cautions do not read it.",
            error_messages={"max_length": "Keep the dose under 200 characters."},
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.started = self.time_point("started")
        self.stopped = self.time_point("stopped")
        return cleaned


class RemoveForm(forms.Form):
    # Required by the removal services, which give the message (the API's too).
    reason = forms.CharField(
        label="Reason for removing (required)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


REASON_TOO_LONG = "Keep the reason under 2,000 characters."


class ReceptorStateForm(forms.Form):
    """A clinician's receptor state: one of the four states, and why."""

    value = forms.ChoiceField(
        label="Receptor state to use instead of the derived one",
        choices=[
            (value, RECEPTOR_STATE_LABELS.get(value, label))
            for value, label in RECEPTOR_STATE_CHOICES
        ],
        widget=forms.RadioSelect,
        help_text="New assessments and patient checks use it until it is cleared.",
        error_messages={
            "required": "Choose the receptor state to record.",
            "invalid_choice": "Choose one of the four receptor states listed.",
        },
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        help_text="The cause the knowledge base does not model, for example a condition "
        "it does not list.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Give the reason for recording a receptor state.",
            "max_length": REASON_TOO_LONG,
        },
    )


class ReceptorStateClearForm(forms.Form):
    reason = forms.CharField(
        label="Reason for clearing the override",
        required=False,
        max_length=2000,
        help_text="Optional. Once cleared, the state derived from the conditions applies again.",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": REASON_TOO_LONG},
    )


# Where the receptor-state services' field errors belong on those forms.
RECEPTOR_STATE_ERROR_FIELDS = {"value": "value", "reason": "reason"}


class AssessmentForm(TimePointMixin, forms.Form):
    procedure = forms.CharField(label="Planned procedure", max_length=200)
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        max_digits=6,
        decimal_places=2,
        min_value=MINIMUM_WEIGHT_KG,
        max_value=MAXIMUM_WEIGHT_KG,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages=WEIGHT_ERROR_MESSAGES,
    )
    drugs = DrugMultipleChoiceField(
        label="Planned drugs",
        error_messages={"required": "Choose at least one planned drug."},
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args: Any, knowledge_base: KnowledgeBase, time_zone: zoneinfo.ZoneInfo, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        field = self.fields["drugs"]
        assert isinstance(field, DrugMultipleChoiceField)  # noqa: S101 - narrows the type
        field.choices = [(code, drug.name) for code, drug in knowledge_base.drugs.items()]
        field.names = knowledge_base.index.drug_names
        self.add_time_point("planned", "Planned", required=True)
        self.fields["planned_date"].error_messages["required"] = "Give the planned date."
        self.fields["planned_time"].error_messages["required"] = "Give the planned time."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        planned = self.time_point("planned")
        self.planned_at = planned if isinstance(planned, dt.datetime) else None
        return cleaned


class PreviewForm(AssessmentForm):
    """The assessment form as the live panel reads it: only time and drugs are needed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].required = False
        self.fields["weight_kg"].required = False


ASSESSMENT_ERROR_FIELDS = {
    "planned_at": "planned_date",
    "procedure": "procedure",
    "weight_kg": "weight_kg",
    "drugs": "drugs",
}


DECISION_CHOICES = [
    ("give", "Give as planned"),
    ("give-adjusted", "Give adjusted (dose and monitoring from the card)"),
    ("withhold", "Withhold: will not be given"),
    ("override", "Override: give the drug despite the caution"),
]


class AcknowledgeForm(forms.Form):
    """The plan's decision for one drug. Which decisions fit the drug's level, and what each
    needs (a reason to override, a comment for some reasons, an alternative that is not
    itself avoid), is decided by the `plan_decide` service, for the API and this form alike."""

    decision = forms.ChoiceField(
        label="Decision",
        choices=DECISION_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what will be done with this drug."},
    )
    reason_code = forms.ChoiceField(
        label="Reason",
        required=False,
        choices=[("", "Choose a reason (needed to override)"), *ReasonCode.choices],
    )
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # A select for the browser, but any text for validation: the plan service decides which
    # alternatives are acceptable, with the same message as the API.
    alternative = forms.CharField(
        label="Alternative (with withhold)", required=False, max_length=64, widget=forms.Select
    )
    dose_mg = forms.DecimalField(
        label="Dose decided, mg (with give adjusted or override)",
        required=False,
        max_digits=9,
        decimal_places=3,
    )

    def __init__(
        self,
        *args: Any,
        level: str = "",
        alternatives: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        decision = self.fields["decision"]
        alternative = self.fields["alternative"]
        if not isinstance(decision, forms.ChoiceField) or not isinstance(
            alternative.widget, forms.Select
        ):
            raise TypeError("decision is a choice field and alternative a select")
        # Offer what fits the level: at contraindicated or avoid a drug is withheld or
        # overridden; below that it is given, given adjusted or withheld.
        allowed = (
            {"withhold", "override"}
            if level in ("contraindicated", "avoid")
            else {"give", "give-adjusted", "withhold"}
            if level
            else None
        )
        if allowed is not None:
            decision.choices = [c for c in DECISION_CHOICES if c[0] in allowed]
        alternative.widget.choices = [("", "None"), *alternatives]


def decision_initial(decision: Any) -> dict[str, Any] | None:
    """A decision in force as the form's initial values, to change it from there."""
    if decision is None:
        return None
    return {
        "decision": PLAN_DECISION.get(decision.decision, ""),
        "reason_code": decision.reason_code,
        "comment": decision.comment,
        "alternative": decision.alternative,
        "dose_mg": None if decision.dose_mg is None else format(decision.dose_mg.normalize(), "f"),
    }


ACKNOWLEDGE_ERROR_FIELDS = {
    "decision": "decision",
    "reason_code": "reason_code",
    "comment": "comment",
    "alternative": "alternative",
    "dose_mg": "dose_mg",
}


class AmendForm(forms.Form):
    reason = forms.CharField(
        label="Reason for amending",
        max_length=2000,
        error_messages={"required": "Say why the signed assessment is being amended."},
    )
