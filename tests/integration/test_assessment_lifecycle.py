"""The assessment lifecycle through its services: evaluate, edit, acknowledge, sign, amend."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from periop.api import ConflictError, DomainError, PreconditionFailed
from periop.assessments import services
from periop.assessments.models import Acknowledgement, Assessment
from periop.assessments.selectors import assessment_versions, patient_state_for
from periop.audit.models import AuditEvent
from periop.audit.services import Actor
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.registry import get_knowledge_base
from periop.drugs.services import cautions_evaluate
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(anesthetist):
    return Actor.from_user(anesthetist)


@pytest.fixture
def patient(department):
    return PatientFactory(department=department)


@pytest.fixture
def burned_patient(actor, patient):
    """A burn five days ago: succinylcholine is contraindicated (hyperkalaemia)."""
    services.patient_condition_record(
        actor=actor,
        patient=patient,
        code="burn",
        onset=(timezone.now() - dt.timedelta(days=5)).date(),
        attributes={"tbsa_percent": 30},
    )
    return patient


def planned_at():
    return (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)


def create(actor, patient, drugs=("succinylcholine",), **overrides):
    options = {
        "actor": actor,
        "patient": patient,
        "department": patient.department,
        "planned_at": planned_at(),
        "procedure": "Split-skin graft",
        "weight_kg": Decimal("70"),
        "drugs": list(drugs),
    }
    options.update(overrides)
    return services.assessment_create(**options)


def test_an_assessment_is_filed_only_in_its_patients_department(actor, patient, other_department):
    # The service is the one guard every caller goes through, API and web alike (review F5).
    with pytest.raises(DomainError) as raised:
        create(actor, patient, department=other_department)

    assert raised.value.field == "department"
    assert not Assessment.objects.exists()
    assert not AuditEvent.objects.filter(resource_type="assessment").exists()


def acknowledge_all(actor, assessment, decision="accepted"):
    for item in assessment.acknowledgement_required:
        services.caution_acknowledge(
            actor=actor,
            assessment=assessment,
            drug=item["drug"],
            decision=decision,
            reason_code="no-alternative" if decision == "overridden" else "",
        )


# --- create and the snapshot ---------------------------------------------------------------


def test_creating_stores_the_evaluation_exactly_as_the_engine_gave_it(actor, burned_patient):
    assessment = create(actor, burned_patient, drugs=["succinylcholine", "rocuronium"])

    recorded = patient_state_for(
        patient=burned_patient, at=assessment.planned_at, weight_kg=Decimal("70.00")
    )
    expected = cautions_evaluate(
        state=recorded.state, drugs=["succinylcholine", "rocuronium"], at=assessment.planned_at
    )
    assessment.refresh_from_db()
    assert json.loads(assessment.cautions_snapshot) == evaluation_to_dict(expected)
    assert assessment.highest_level == "contraindicated"
    assert {"drug": "succinylcholine", "level": "contraindicated"} in (
        assessment.acknowledgement_required
    )
    knowledge_base = get_knowledge_base()
    assert assessment.knowledge_base_version == knowledge_base.version
    assert assessment.knowledge_base_digest == knowledge_base.digest
    assert (assessment.status, assessment.revision) == ("draft", 1)
    assert assessment.receptor_state == "up"
    assert assessment.receptor_state_overridden is False
    assert assessment.receptor_state_sources == [{"condition": "burn", "effect": "up"}]


def test_the_inputs_snapshot_is_canonical_and_keeps_a_date_onset_a_date(actor, burned_patient):
    assessment = create(actor, burned_patient)

    text = assessment.inputs_snapshot
    inputs = json.loads(text)
    assert text == json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    onset = inputs["conditions"][0]["onset"]
    # The date the fixture recorded, read back rather than recomputed (that could cross midnight).
    recorded = burned_patient.conditions.get(code="burn").onset_date
    assert onset == recorded.isoformat()
    assert inputs["patient"]["weight_kg"] == "70.00"
    assert inputs["patient"]["age_years"] > 40
    assert inputs["drugs"] == ["succinylcholine"]
    assert inputs["receptor_state"] is None


def test_creating_is_audited_with_digests_not_the_whole_snapshot(actor, burned_patient):
    assessment = create(actor, burned_patient)

    event = AuditEvent.objects.order_by("-sequence").first()
    payload = json.loads(event.payload)
    assert (event.action, event.resource_type, event.resource_id) == (
        "create",
        "assessment",
        str(assessment.pk),
    )
    assert event.patient_id == burned_patient.pk
    assert event.department_id == assessment.department_id
    assert event.data_time == assessment.planned_at
    assert payload["cautions_digest"].startswith("sha256:")
    assert payload["highest_level"] == "contraindicated"


def test_a_recorded_receptor_state_overrides_the_derived_one_until_cleared(actor, burned_patient):
    services.patient_receptor_state_record(
        actor=actor, patient=burned_patient, value="down", reason="Cause the rules do not model."
    )

    overridden = create(actor, burned_patient)
    services.patient_receptor_state_clear(actor=actor, patient=burned_patient)
    derived = create(actor, burned_patient)

    assert (overridden.receptor_state, overridden.receptor_state_derived) == ("down", "up")
    assert overridden.receptor_state_overridden is True
    assert overridden.receptor_state_record is not None
    assert json.loads(overridden.inputs_snapshot)["receptor_state"]["value"] == "down"
    assert (derived.receptor_state, derived.receptor_state_overridden) == ("up", False)


def test_a_weight_out_of_range_is_refused(actor, patient):
    with pytest.raises(DomainError) as error:
        create(actor, patient, weight_kg=Decimal("400.01"))

    assert error.value.field == "weight_kg"
    assert not Assessment.objects.exists()


def test_a_recorded_onset_after_the_planned_time_is_reported_on_the_planned_time(actor, patient):
    services.patient_condition_record(
        actor=actor, patient=patient, code="stroke", onset=timezone.now() - dt.timedelta(hours=1)
    )

    with pytest.raises(DomainError) as error:
        create(actor, patient, planned_at=timezone.now() - dt.timedelta(days=3))

    assert error.value.field == "planned_at"


def test_a_failure_after_the_audit_append_leaves_neither_the_assessment_nor_its_event(
    actor, patient, monkeypatch
):
    from periop.assessments.services import assessments

    real_append = assessments.audit_event_append

    def append_then_fail(**kwargs):
        real_append(**kwargs)
        raise RuntimeError("the service failed after writing")

    monkeypatch.setattr(assessments, "audit_event_append", append_then_fail)
    events_before = AuditEvent.objects.count()

    with pytest.raises(RuntimeError):
        create(actor, patient)

    assert not Assessment.objects.exists()
    assert AuditEvent.objects.count() == events_before


# --- editing a draft -----------------------------------------------------------------------


def test_an_edit_bumps_the_revision_and_re_evaluates(actor, burned_patient):
    assessment = create(actor, burned_patient, drugs=["sugammadex"])

    edited = services.assessment_update(
        actor=actor, assessment=assessment, expected_revision=1, drugs=["succinylcholine"]
    )

    assert edited.revision == 2
    assert edited.drugs == ["succinylcholine"]
    assert edited.highest_level == "contraindicated"
    assert json.loads(edited.cautions_snapshot)["cautions"][0]["drug"] == "succinylcholine"
    event = AuditEvent.objects.order_by("-sequence").first()
    assert event.action == "update"
    assert json.loads(event.payload)["changed"] == ["drugs"]


def test_a_stale_edit_is_refused_and_changes_nothing(actor, patient):
    assessment = create(actor, patient)
    services.assessment_update(actor=actor, assessment=assessment, expected_revision=1)

    with pytest.raises(PreconditionFailed, match="revision 2, you sent revision 1"):
        services.assessment_update(
            actor=actor, assessment=assessment, expected_revision=1, procedure="Other"
        )

    assessment.refresh_from_db()
    assert (assessment.revision, assessment.procedure) == (2, "Split-skin graft")


def test_an_edit_after_an_acknowledgement_asks_for_it_again(actor, burned_patient):
    assessment = create(actor, burned_patient)
    acknowledge_all(actor, assessment)

    services.assessment_update(
        actor=actor, assessment=assessment, expected_revision=1, procedure="Escharotomy"
    )

    with pytest.raises(ConflictError, match="Acknowledge the caution for succinylcholine"):
        services.assessment_sign(actor=actor, assessment=assessment)


# --- acknowledgements ----------------------------------------------------------------------


def test_an_override_needs_a_reason_code(actor, burned_patient):
    assessment = create(actor, burned_patient)

    with pytest.raises(DomainError) as error:
        services.caution_acknowledge(
            actor=actor, assessment=assessment, drug="succinylcholine", decision="overridden"
        )

    assert error.value.field == "reason_code"
    assert not Acknowledgement.objects.exists()


@pytest.mark.parametrize("reason_code", ["caution-not-applicable", "other-documented"])
def test_some_reasons_need_a_comment(actor, burned_patient, reason_code):
    assessment = create(actor, burned_patient)

    with pytest.raises(DomainError) as error:
        services.caution_acknowledge(
            actor=actor,
            assessment=assessment,
            drug="succinylcholine",
            decision="overridden",
            reason_code=reason_code,
            comment="  ",
        )

    assert error.value.field == "comment"


def test_an_override_is_audited_as_an_override_with_its_reason(actor, burned_patient):
    assessment = create(actor, burned_patient)

    acknowledgement = services.caution_acknowledge(
        actor=actor,
        assessment=assessment,
        drug="succinylcholine",
        decision="overridden",
        reason_code="caution-not-applicable",
        comment="Burn was superficial, 1% TBSA.",
    )

    assert (acknowledgement.revision, acknowledgement.level) == (1, "contraindicated")
    event = AuditEvent.objects.order_by("-sequence").first()
    payload = json.loads(event.payload)
    assert (event.action, event.resource_type) == ("override", "acknowledgement")
    assert payload["reason_code"] == "caution-not-applicable"
    assert payload["comment"] == "Burn was superficial, 1% TBSA."


def test_accepting_a_caution_is_audited_as_a_create(actor, burned_patient):
    assessment = create(actor, burned_patient)

    services.caution_acknowledge(
        actor=actor, assessment=assessment, drug="succinylcholine", decision="accepted"
    )

    assert AuditEvent.objects.order_by("-sequence").first().action == "create"


def test_only_contraindicated_and_avoid_cautions_are_acknowledged(actor, patient):
    assessment = create(actor, patient, drugs=["sugammadex"])

    with pytest.raises(DomainError, match="only contraindicated and avoid") as error:
        services.caution_acknowledge(
            actor=actor, assessment=assessment, drug="sugammadex", decision="accepted"
        )

    assert error.value.field == "drug"


def test_a_drug_that_is_not_planned_cannot_be_acknowledged(actor, burned_patient):
    assessment = create(actor, burned_patient)

    with pytest.raises(DomainError, match="not a planned drug"):
        services.caution_acknowledge(
            actor=actor, assessment=assessment, drug="rocuronium", decision="accepted"
        )


def test_a_caution_is_acknowledged_once_per_revision(actor, burned_patient):
    assessment = create(actor, burned_patient)
    acknowledge_all(actor, assessment)

    with pytest.raises(ConflictError, match="already acknowledged in revision 1"):
        acknowledge_all(actor, assessment)


# --- signing -------------------------------------------------------------------------------


def test_signing_is_refused_naming_every_caution_not_yet_acknowledged(actor, patient):
    services.patient_condition_record(
        actor=actor, patient=patient, code="myasthenia-gravis", onset=dt.date(2019, 3, 1)
    )
    assessment = create(actor, patient, drugs=["gentamicin", "magnesium-sulfate", "sugammadex"])
    required = [item["drug"] for item in assessment.acknowledgement_required]
    assert required == ["gentamicin", "magnesium-sulfate"]

    with pytest.raises(ConflictError) as error:
        services.assessment_sign(actor=actor, assessment=assessment)

    assert error.value.message == (
        "Acknowledge the cautions for gentamicin and magnesium-sulfate before signing."
    )
    assessment.refresh_from_db()
    assert assessment.status == "draft"


def test_signing_makes_the_assessment_signed_and_keeps_its_sign_event_hash(
    actor, anesthetist, burned_patient
):
    assessment = create(actor, burned_patient)
    acknowledge_all(actor, assessment, decision="overridden")

    signed = services.assessment_sign(actor=actor, assessment=assessment, expected_revision=1)

    event = AuditEvent.objects.order_by("-sequence").first()
    assert (signed.status, signed.signed_by, signed.revision) == ("signed", anesthetist, 1)
    assert event.action == "sign"
    assert signed.sign_event_hash == event.hash
    assert signed.signed_at == event.occurred_at
    assert json.loads(event.payload)["acknowledged"] == ["succinylcholine"]


def test_signing_twice_is_a_conflict(actor, patient):
    assessment = create(actor, patient, drugs=["sugammadex"])
    services.assessment_sign(actor=actor, assessment=assessment)

    with pytest.raises(ConflictError, match="already signed"):
        services.assessment_sign(actor=actor, assessment=assessment)


def test_a_signed_assessment_cannot_be_edited_or_acknowledged(actor, burned_patient):
    assessment = create(actor, burned_patient)
    acknowledge_all(actor, assessment)
    services.assessment_sign(actor=actor, assessment=assessment)

    with pytest.raises(ConflictError, match="amend it instead"):
        services.assessment_update(
            actor=actor, assessment=assessment, expected_revision=1, procedure="Other"
        )
    with pytest.raises(ConflictError, match="signed"):
        services.caution_acknowledge(
            actor=actor,
            assessment=assessment,
            drug="succinylcholine",
            decision="overridden",
            reason_code="no-alternative",
        )


# --- amending ------------------------------------------------------------------------------


def test_an_amendment_is_a_new_draft_that_supersedes_the_signed_one(actor, burned_patient):
    assessment = create(actor, burned_patient)
    acknowledge_all(actor, assessment)
    signed = services.assessment_sign(actor=actor, assessment=assessment)
    snapshot_before = (signed.inputs_snapshot, signed.cautions_snapshot, signed.updated_at)

    draft = services.assessment_amend(actor=actor, assessment=signed, reason="Weight re-measured.")

    signed.refresh_from_db()
    assert (signed.inputs_snapshot, signed.cautions_snapshot, signed.updated_at) == snapshot_before
    assert signed.status == "signed"
    assert (draft.status, draft.revision, draft.supersedes_id) == ("draft", 1, signed.pk)
    assert (draft.drugs, draft.weight_kg, draft.planned_at) == (
        signed.drugs,
        signed.weight_kg,
        signed.planned_at,
    )
    assert assessment_versions(assessment=signed) == [signed, draft]
    assert assessment_versions(assessment=draft) == [signed, draft]
    # The amendment asks for its own acknowledgements.
    assert draft.acknowledgement_required == signed.acknowledgement_required
    with pytest.raises(ConflictError, match="Acknowledge the caution"):
        services.assessment_sign(actor=actor, assessment=draft)


def test_a_draft_cannot_be_amended(actor, patient):
    assessment = create(actor, patient, drugs=["sugammadex"])

    with pytest.raises(ConflictError, match="edit it instead"):
        services.assessment_amend(actor=actor, assessment=assessment)


def test_a_signed_assessment_is_amended_once(actor, patient):
    assessment = create(actor, patient, drugs=["sugammadex"])
    signed = services.assessment_sign(actor=actor, assessment=assessment)
    draft = services.assessment_amend(actor=actor, assessment=signed)

    with pytest.raises(ConflictError, match=f"already been amended by assessment {draft.pk}"):
        services.assessment_amend(actor=actor, assessment=signed)


def test_a_chain_of_amendments_is_one_version_history(actor, patient):
    first = services.assessment_sign(
        actor=actor, assessment=create(actor, patient, drugs=["sugammadex"])
    )
    second = services.assessment_sign(
        actor=actor, assessment=services.assessment_amend(actor=actor, assessment=first)
    )
    third = services.assessment_amend(actor=actor, assessment=second)

    assert assessment_versions(assessment=second) == [first, second, third]
