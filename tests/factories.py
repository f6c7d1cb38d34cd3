"""Factories per model (factory-boy)."""

from __future__ import annotations

import datetime

import factory
from django.contrib.auth import get_user_model

from periop.accounts.models import Department, Membership, Role

TEST_PASSWORD = "correct-horse-battery-staple-42"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"department-{n}")
    name = factory.Sequence(lambda n: f"Department {n}")
    time_zone = "Europe/London"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@hospital.example")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.SubFactory(DepartmentFactory)
    role = Role.ANESTHETIST


# --- Patients and assessments ----------------------------------------------------------------
# Models are named by label and services are imported where they are used, so the imports
# at the top of this module stay as they were.


def years_ago(years: int, month: int = 5, day: int = 17) -> datetime.date:
    """A fixed day of the year `years` before this one. Birth dates and old onsets age with
    the clock, so no test crosses the 130-year limit on birth dates some day in the future."""
    from django.utils import timezone

    return datetime.date(timezone.localdate().year - years, month, day)


def _birth_date() -> object:
    return years_ago(46)


def _tomorrow() -> object:
    import datetime

    from django.utils import timezone

    return (timezone.now() + datetime.timedelta(days=1)).replace(microsecond=0)


def _weight() -> object:
    from decimal import Decimal

    return Decimal("70.00")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "assessments.Patient"

    department = factory.SubFactory(DepartmentFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:07d}")
    name = factory.Sequence(lambda n: f"Test Patient {n}")
    birth_date = factory.LazyFunction(_birth_date)
    sex = "female"


class PatientConditionFactory(factory.django.DjangoModelFactory):
    """A recorded condition row, written directly (no audit event): for read tests."""

    class Meta:
        model = "assessments.PatientCondition"

    patient = factory.SubFactory(PatientFactory)
    code = "myasthenia-gravis"
    onset_date = factory.LazyFunction(_birth_date)
    attributes = factory.LazyFunction(dict)


class PatientMedicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "assessments.PatientMedication"

    patient = factory.SubFactory(PatientFactory)
    code = "pyridostigmine"


class AssessmentFactory(factory.django.DjangoModelFactory):
    """A draft assessment made by the `assessment_create` service, so its snapshot is real."""

    class Meta:
        model = "assessments.Assessment"

    patient = factory.SubFactory(PatientFactory)
    department = factory.SelfAttribute("patient.department")
    planned_at = factory.LazyFunction(_tomorrow)
    procedure = "Laparoscopic cholecystectomy"
    weight_kg = factory.LazyFunction(_weight)
    drugs = factory.LazyFunction(lambda: ["rocuronium", "sugammadex"])
    created_by = None

    @classmethod
    def _create(cls, model_class: object, *args: object, **kwargs: object) -> object:
        from periop.assessments.services import assessment_create
        from periop.audit.services import Actor

        user = kwargs.pop("created_by", None)
        actor = Actor.from_user(user) if user is not None else Actor.system("tests")
        return assessment_create(actor=actor, **kwargs)
