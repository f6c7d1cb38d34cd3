"""Every page costs the same number of queries for one row and for many.

Each test loads a page with one row of what the page lists (patients, conditions, medications,
planned drugs, acknowledgements, recorded states, versions), then with many, and asserts the
same count both times. The comment above each count lists the queries, in order, so that a
new one is a deliberate choice. On a mismatch pytest-django prints every captured statement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from periop.accounts.models import Role
from periop.assessments.models import Assessment
from periop.assessments.services import (
    assessment_sign,
    caution_acknowledge,
    patient_condition_correct,
    patient_condition_record,
    patient_condition_remove,
    patient_receptor_state_record,
)
from periop.audit.services import Actor
from tests.conftest import audit_append_queries
from tests.factories import (
    AssessmentFactory,
    MembershipFactory,
    PatientConditionFactory,
    PatientFactory,
    PatientMedicationFactory,
    UserFactory,
)
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db

MANY = 10
# Every one of these drugs needs an acknowledgement for a myasthenic patient after a stroke.
CAUTIONED_DRUGS = [
    "succinylcholine",
    "rocuronium",
    "vecuronium",
    "atracurium",
    "cisatracurium",
    "mivacurium",
    "gentamicin",
    "colistin",
    "magnesium-sulfate",
    "neostigmine",
]
CONDITION_CODES = [
    "myasthenia-gravis",
    "stroke",
    "burn",
    "immobilization",
    "critical-illness",
    "sepsis",
    "major-trauma",
    "renal-impairment",
    "epilepsy",
    "spinal-cord-injury",
]
MEDICATION_CODES = [
    "pyridostigmine",
    "gentamicin",
    "tobramycin",
    "amikacin",
    "neomycin",
    "magnesium-sulfate",
    "phenytoin",
    "carbamazepine",
    "nifedipine",
    "nicardipine",
]
# Session, user, and the user's memberships with their departments (the workplace): the
# start of every page.
WORKPLACE_QUERIES = 3


def record(patient: Any, rows: int) -> None:
    """Gives the patient `rows` conditions and `rows` medications."""
    ten_days_ago = timezone.localdate() - dt.timedelta(days=10)
    for code in CONDITION_CODES[:rows]:
        PatientConditionFactory(patient=patient, code=code, onset_date=ten_days_ago)
    for code in MEDICATION_CODES[:rows]:
        PatientMedicationFactory(patient=patient, code=code)


def few_and_many(department: Any) -> tuple[Any, Any]:
    """Two patients of the department: one with a single condition and medication, one with
    MANY of each."""
    one = PatientFactory(department=department)
    record(one, 1)
    many = PatientFactory(department=department)
    record(many, MANY)
    return one, many


def clinicians(department: Any, count: int) -> list[Any]:
    """Anaesthetists of the department, so that each acknowledgement has its own author."""
    return [
        MembershipFactory(
            user=UserFactory(username=f"dr-colleague-{n}"),
            department=department,
            role=Role.ANESTHETIST,
        ).user
        for n in range(count)
    ]


def acknowledged(patient: Any, drugs: list[str], people: list[Any]) -> Assessment:
    """A draft planning `drugs`, each caution acknowledged by a different clinician."""
    assessment = AssessmentFactory(patient=patient, drugs=drugs, created_by=people[0])
    for drug, person in zip(drugs, people, strict=False):
        caution_acknowledge(
            actor=Actor.from_user(person),
            assessment=assessment,
            drug=drug,
            decision="overridden",
            reason_code="no-alternative",
        )
    return Assessment.objects.get(pk=assessment.pk)


def signed(assessment: Assessment, person: Any) -> Assessment:
    return assessment_sign(actor=Actor.from_user(person), assessment=assessment)


@pytest.fixture
def stroke_patient(patient: Any) -> Any:
    """Myasthenia gravis and a stroke ten days ago: every drug in CAUTIONED_DRUGS needs an
    acknowledgement."""
    record(patient, 2)
    return patient


def test_the_search_costs_the_same_for_1_and_many_patients(
    anesthetist_browser, department, django_assert_num_queries
):
    PatientFactory(department=department, name="Searched 0")
    # the workplace, the departments the user may see (the search's scope), the patients,
    # then the audit append of the query
    expected = WORKPLACE_QUERIES + 2 + audit_append_queries()
    with django_assert_num_queries(expected):
        anesthetist_browser.get("/patients/?q=Searched")
    PatientFactory.create_batch(MANY * 2, department=department, name="Searched")
    with django_assert_num_queries(expected):
        anesthetist_browser.get("/patients/?q=Searched")


def test_the_patient_page_costs_the_same_for_1_and_many_conditions_and_medications(
    anesthetist_browser, department, anesthetist, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one = PatientFactory(department=department)
    record(one, 1)
    AssessmentFactory(patient=one, created_by=anesthetist)
    many = PatientFactory(department=department)
    record(many, MANY)
    for person in people:
        signed(acknowledged(many, CAUTIONED_DRUGS[:1], [person]), person)
    # the workplace, the patient, the recorded receptor state, conditions, medications,
    # assessments with their signers, then the audit append of the read
    expected = WORKPLACE_QUERIES + 5 + audit_append_queries()
    for patient in (one, many):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(f"/patients/{patient.pk}/")
        assert response.status_code == 200


def test_the_new_assessment_form_costs_the_same_for_1_and_many_conditions(
    anesthetist_browser, department, django_assert_num_queries
):
    one, many = few_and_many(department)
    # the workplace, the patient, the last recorded weight (offered on the form), then the
    # audit append of the read (the form shows no cautions until a drug is chosen)
    expected = WORKPLACE_QUERIES + 2 + audit_append_queries()
    for patient in (one, many):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new")
        assert response.status_code == 200


def test_a_refused_new_assessment_costs_the_same_for_1_and_many_drugs(
    anesthetist_browser, department, django_assert_num_queries
):
    one, many = few_and_many(department)
    # the workplace, the patient, then the panel's evaluation: recorded receptor state,
    # conditions, medications, the department's tunings in force (one query), and the audit
    # append of the read inside its savepoint (two statements)
    expected = WORKPLACE_QUERIES + 1 + 3 + 1 + 2 + audit_append_queries()
    for patient, drugs in ((one, CAUTIONED_DRUGS[:1]), (many, CAUTIONED_DRUGS)):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.post(
                f"/patients/{patient.pk}/assessments/new",
                tomorrow_form(drugs=drugs, procedure=""),
            )
        assert response.status_code == 400


def test_the_edit_form_costs_the_same_for_1_and_many_drugs(
    anesthetist_browser, department, stroke_patient, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one = acknowledged(stroke_patient, CAUTIONED_DRUGS[:1], people)
    many = acknowledged(stroke_patient, CAUTIONED_DRUGS, people)
    # the workplace, the assessment with its patient, department and people, then the audit
    # append of the read (the panel comes from the stored snapshot)
    expected = WORKPLACE_QUERIES + 1 + audit_append_queries()
    for assessment in (one, many):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(f"/assessments/{assessment.pk}/edit")
        assert response.status_code == 200


def test_the_caution_panel_costs_the_same_for_1_and_many_rows(
    anesthetist_browser, department, django_assert_num_queries
):
    one, many = few_and_many(department)
    # the workplace, the patient, recorded receptor state, conditions, medications, the
    # department's tunings in force (one query), then the audit append of the read inside its
    # savepoint (two statements)
    expected = WORKPLACE_QUERIES + 1 + 3 + 1 + 2 + audit_append_queries()
    for patient, drugs in ((one, CAUTIONED_DRUGS[:1]), (many, CAUTIONED_DRUGS)):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.post(
                f"/patients/{patient.pk}/assessments/preview",
                tomorrow_form(drugs=drugs),
                headers={"HX-Request": "true"},
            )
        assert response.status_code == 200
        assert response.content.decode().count('class="caution-card ') == len(drugs)


def test_the_assessment_page_costs_the_same_for_1_and_many_acknowledgements(
    anesthetist_browser, department, stroke_patient, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one = acknowledged(stroke_patient, CAUTIONED_DRUGS[:1], people)
    many = acknowledged(stroke_patient, CAUTIONED_DRUGS, people)
    # the workplace, the assessment with its patient, department and people,
    # acknowledgements with their authors, versions, the department's tunings in force for
    # the plan's re-evaluation (one query), then the audit append of the read
    expected = WORKPLACE_QUERIES + 4 + audit_append_queries()
    for assessment in (one, many):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(f"/assessments/{assessment.pk}/")
        assert response.status_code == 200
        assert response.content.decode().count(
            "<strong>Override: given despite the caution</strong>"
        ) == len(assessment.drugs)


def test_the_print_view_costs_the_same_for_1_and_many_acknowledgements(
    anesthetist_browser, department, stroke_patient, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one = signed(acknowledged(stroke_patient, CAUTIONED_DRUGS[:1], people), people[0])
    many = signed(acknowledged(stroke_patient, CAUTIONED_DRUGS, people), people[0])
    # the workplace, the assessment with its patient, department and people,
    # acknowledgements with their authors, the amendment that supersedes it if any (a paper
    # copy must say so), then the audit append of the print
    expected = WORKPLACE_QUERIES + 3 + audit_append_queries()
    for assessment in (one, many):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(f"/assessments/{assessment.pk}/print")
        assert response.status_code == 200
        assert response.content.decode().count(
            "Override: given despite the caution</strong> by dr-colleague-"
        ) == len(assessment.drugs)


def condition_versions(patient: Any, people: list[Any], *, removed: bool = False) -> Any:
    """A burn recorded by the first clinician and corrected by each of the others, so every
    version has its own author; the last version is removed when `removed`."""
    condition = patient_condition_record(
        actor=Actor.from_user(people[0]),
        patient=patient,
        code="burn",
        onset=timezone.localdate() - dt.timedelta(days=10),
        attributes={"tbsa_percent": 10},
    )
    for n, person in enumerate(people[1:], start=1):
        condition = patient_condition_correct(
            actor=Actor.from_user(person),
            condition=condition,
            code="burn",
            onset=condition.onset,
            resolved=None,
            attributes={"tbsa_percent": 10 + n},
            reason=f"Re-measured, time {n}.",
        )
    if removed:
        condition = patient_condition_remove(
            actor=Actor.from_user(people[-1]), condition=condition, reason="Entered in error."
        )
    return condition


def test_a_conditions_history_costs_the_same_for_1_and_many_versions(
    anesthetist_browser, department, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one = condition_versions(PatientFactory(department=department), people[:1])
    many = condition_versions(PatientFactory(department=department), people, removed=True)
    # the workplace, the patient, the condition asked for, every version with the people who
    # recorded and removed it, then the audit append of the read
    expected = WORKPLACE_QUERIES + 3 + audit_append_queries()
    for condition, versions in ((one, 1), (many, MANY)):
        with django_assert_num_queries(expected):
            response = anesthetist_browser.get(
                f"/patients/{condition.patient_id}/conditions/{condition.pk}/history"
            )
        assert response.status_code == 200
        assert response.content.decode().count('<th scope="row">Version ') == versions


def test_the_receptor_state_form_costs_the_same_for_1_and_many_recorded_states(
    anesthetist_browser, department, django_assert_num_queries
):
    people = clinicians(department, MANY)
    one, many = few_and_many(department)
    for patient, authors in ((one, people[:1]), (many, people)):
        # Each newly recorded state replaces the one before: one in force, the rest cleared.
        for person in authors:
            patient_receptor_state_record(
                actor=Actor.from_user(person), patient=patient, value="up", reason="Burns."
            )
    # the workplace, the patient, the recorded receptor state with its author, conditions and
    # medications (the derived state), then the audit append of the read
    expected = WORKPLACE_QUERIES + 4 + audit_append_queries()
    for patient in (one, many):
        for url in ("receptor-state", "receptor-state/clear"):
            with django_assert_num_queries(expected):
                response = anesthetist_browser.get(f"/patients/{patient.pk}/{url}")
            assert response.status_code == 200
