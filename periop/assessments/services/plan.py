"""The anaesthetic plan: a decision per planned drug, and the cautions re-evaluated over the
drugs that will actually be given.

A clinician signs a plan (what will and will not be given, and how), not a list of warnings.
Each planned drug gets one of four decisions: give as planned, give adjusted (dose and
monitoring from the card), withhold (optionally with an alternative drug), or give despite
the caution (an override, only at contraindicated or avoid, with a reason). A withheld drug no
longer interacts with the others, so the plan is evaluated again by the engine over the drugs
that will be given, and each card says why its level changed.

The stored rows keep the v1 acknowledgement values for withhold ("accepted") and override
("overridden"), so reports and the v1 endpoint read them unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from periop.api import ConflictError, DomainError
from periop.assessments.models import ACKNOWLEDGED_LEVELS, Acknowledgement, Assessment, Decision
from periop.assessments.services.common import join_names, kept_on
from periop.drugs.engine import ConditionInput, KnowledgeBase, MedicationInput, PatientState
from periop.drugs.engine.tuning import Tuning, evaluation_tune
from periop.drugs.engine.types import TimePoint
from periop.drugs.presenters import evaluation_to_dict
from periop.drugs.registry import (
    ReleaseUnavailable,
    get_knowledge_base,
    knowledge_base_for_digest,
)
from periop.drugs.services import cautions_evaluate
from periop.drugs.tunings import department_tunings

GIVE = "give"
GIVE_ADJUSTED = "give-adjusted"
WITHHOLD = "withhold"
OVERRIDE = "override"
PLAN_DECISIONS = (GIVE, GIVE_ADJUSTED, WITHHOLD, OVERRIDE)

# The plan's words for what the rows store, and back.
STORED_DECISION = {
    GIVE: Decision.GIVE,
    GIVE_ADJUSTED: Decision.GIVE_ADJUSTED,
    WITHHOLD: Decision.ACCEPTED,
    OVERRIDE: Decision.OVERRIDDEN,
}
PLAN_DECISION = {stored.value: plan for plan, stored in STORED_DECISION.items()}
NOT_GIVEN = frozenset({WITHHOLD})
DOSE_STEP = Decimal("0.1")


@dataclass(frozen=True)
class PlanLine:
    """One planned drug (or an alternative chosen for a withheld one) in the plan."""

    drug: str
    level: str
    original_level: str
    decision: str | None
    alternative: str | None
    alternative_for: str | None
    dose: dict[str, Any] | None
    dose_mg: str | None
    monitoring: str
    level_change: str
    needs_decision: bool
    # A decision no longer fits the plan (changed since): given at a level that is now
    # contraindicated or avoid, withheld for an alternative that now is, or an override of a
    # caution now below avoid. Decide again.
    decision_outdated: bool = False
    # The drug's card evaluated over the drugs that will be given; None when it is withheld.
    card: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    lines: tuple[PlanLine, ...]
    cautions: tuple[Mapping[str, Any], ...]  # re-evaluated cards, in plan order

    @property
    def missing(self) -> list[str]:
        """Drugs that are contraindicated or avoid in the re-evaluated plan, with no decision."""
        return [line.drug for line in self.lines if line.needs_decision]

    def as_data(self) -> list[dict[str, Any]]:
        return [
            {
                "drug": line.drug,
                "level": line.level,
                "original_level": line.original_level,
                "decision": line.decision,
                "alternative": line.alternative,
                "alternative_for": line.alternative_for,
                "dose": line.dose,
                "dose_mg": line.dose_mg,
                "monitoring": line.monitoring,
                "level_change": line.level_change,
                "needs_decision": line.needs_decision,
                "decision_outdated": line.decision_outdated,
                "card": line.card,
            }
            for line in self.lines
        ]


def _time_point(text: str | None) -> TimePoint | None:
    if text is None:
        return None
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def state_from_inputs(inputs: Mapping[str, Any]) -> PatientState:
    """The engine's PatientState from an assessment's inputs snapshot: the plan is evaluated
    on exactly what the assessment was, never on a record changed since."""
    patient = inputs.get("patient") or {}
    weight = patient.get("weight_kg")
    receptor_state = inputs.get("receptor_state")
    return PatientState(
        conditions=tuple(
            ConditionInput(
                code=condition["code"],
                onset=_time_point(condition.get("onset")),
                resolved=_time_point(condition.get("resolved")),
                attributes=dict(condition.get("attributes") or {}),
            )
            for condition in inputs.get("conditions", ())
        ),
        medications=tuple(
            MedicationInput(
                code=medication["code"],
                started=_time_point(medication.get("started")),
                stopped=_time_point(medication.get("stopped")),
            )
            for medication in inputs.get("medications", ())
        ),
        weight_kg=None if weight is None else Decimal(weight),
        age_years=patient.get("age_years"),
        sex=patient.get("sex"),
        receptor_state_override=None if receptor_state is None else receptor_state["value"],
    )


def _rules(caution: Mapping[str, Any]) -> set[str]:
    return {finding["rule"] for finding in caution.get("findings", ())}


def _level_change(
    original: Mapping[str, Any], now: Mapping[str, Any], withheld: Sequence[str]
) -> str:
    """Why a drug's level moved once the withheld drugs were taken out of the plan."""
    if original["level"] == now["level"]:
        return ""
    remaining = _rules(now)
    gone = [finding for finding in original.get("findings", ()) if finding["rule"] not in remaining]
    # Named by the findings that set the old level, each by the head of its summary.
    setting = [finding for finding in gone if finding["level"] == original["level"]] or gone
    heads = list(dict.fromkeys(finding["summary"].split(":")[0].strip() for finding in setting))
    because = "; ".join(heads) if heads else "interactions with withheld drugs"
    drugs = get_knowledge_base().drugs
    names = [drugs[code].name if code in drugs else code for code in withheld]
    return f"Was {original['level']}: {because} ({join_names(names)} withheld)."


def decisions_in_force(
    *, assessment: Assessment, decisions: Sequence[Acknowledgement]
) -> dict[str, Acknowledgement]:
    """Each drug's decision in force for the assessment's current revision: a decision of an
    earlier revision, or one replaced by a later decision, no longer counts."""
    return {
        row.drug: row
        for row in decisions
        if row.revision == assessment.revision and row.replaced_at is None
    }


def plan_tunings(assessment: Assessment) -> Mapping[str, Sequence[Tuning]]:
    """The tunings in force in the assessment's department, read once per assessment object
    (one query for a request, however many times its plan is evaluated)."""
    return kept_on(
        assessment, "_plan_tunings", None, lambda: department_tunings(assessment.department_id)
    )


def plan_evaluate(
    *,
    assessment: Assessment,
    decisions: Sequence[Acknowledgement],
    undecided: str | None = None,
    reevaluate: bool = True,
) -> Plan:
    """The assessment's plan for its current revision: the original cards, each drug's
    decision in force, and the levels the engine gives over the drugs that will be given.
    `undecided` leaves that drug's decision out, as when it is being decided again. The
    re-evaluation applies the tunings in force in the assessment's department.

    Without `reevaluate`, every line keeps its stored card (a draft the active release cannot
    evaluate, `plan_release_problem`): every planned drug still shows, with its decision; an
    alternative chosen for a withheld drug shows on that drug's line only."""
    current = decisions_in_force(assessment=assessment, decisions=decisions)
    current.pop(undecided or "", None)
    original = {card["drug"]: card for card in stored_cautions(assessment)}
    planned = list(assessment.drugs)
    withheld = [
        drug
        for drug in planned
        if drug in current and PLAN_DECISION[current[drug].decision] in NOT_GIVEN
    ]
    alternatives = {
        current[drug].alternative: drug
        for drug in withheld
        if current[drug].alternative and current[drug].alternative not in planned
    }
    if not reevaluate:
        alternatives = {}
    given = [drug for drug in planned if drug not in withheld] + list(alternatives)
    cards = _tuned_cards(assessment, given) if given and reevaluate else {}
    absent = [drug for drug in planned if drug not in original and drug not in cards]
    if absent and not reevaluate:
        # Nothing to show for it but its name: its line says it has no stored caution.
        original.update({drug: {"drug": drug, "level": "", "findings": []} for drug in absent})
    elif absent:
        # A stored snapshot without a withheld drug's caution (no service writes one; a
        # decision on such a drug and signing are refused): its line still shows, with the
        # card the snapshot would hold, evaluated over every planned drug.
        evaluated = _tuned_cards(assessment, planned)
        original.update({drug: evaluated[drug] for drug in absent})
    lines = []
    for drug in [*planned, *alternatives]:
        row = current.get(drug)
        decision = None if row is None else PLAN_DECISION[row.decision]
        card = cards.get(drug) or original[drug]
        first = original.get(drug, card)
        level = card["level"]
        outdated = _outdated(decision, level, row, cards)
        lines.append(
            PlanLine(
                drug=drug,
                level=level,
                original_level=first["level"],
                decision=decision,
                alternative=None if row is None or not row.alternative else row.alternative,
                alternative_for=alternatives.get(drug),
                dose=card.get("dose"),
                dose_mg=None if row is None or row.dose_mg is None else format(row.dose_mg, "f"),
                monitoring=card.get("monitoring") or "",
                level_change=_level_change(first, card, withheld) if drug in cards else "",
                needs_decision=drug in planned
                and (outdated or (decision is None and level in ACKNOWLEDGED_LEVELS)),
                decision_outdated=outdated,
                card=cards.get(drug),
            )
        )
    return Plan(lines=tuple(lines), cautions=tuple(cards.get(d) or original[d] for d in planned))


def _tuned_cards(assessment: Assessment, drugs: Sequence[str]) -> Mapping[str, dict[str, Any]]:
    """The cards of `drugs` evaluated on the assessment's inputs snapshot at its planned time,
    with the tunings in force in its department, by drug.

    Kept on the assessment object for what it depends on (the active release, the inputs
    snapshot, the planned time and the drugs; the tunings are read once per object): a page
    or a decision asks for the same plan several times (the release check, the plan, each
    form's level), and the engine runs once for each different set of drugs. The cards are
    shared between the callers, which only read them."""
    key = (
        get_knowledge_base().digest,
        assessment.inputs_snapshot,
        assessment.planned_at,
        tuple(drugs),
    )

    def evaluated() -> Mapping[str, dict[str, Any]]:
        evaluation = cautions_evaluate(
            state=state_from_inputs(json.loads(assessment.inputs_snapshot)),
            drugs=drugs,
            at=assessment.planned_at,
        )
        tuned = evaluation_tune(evaluation_to_dict(evaluation), plan_tunings(assessment))
        return MappingProxyType({card["drug"]: card for card in tuned["cautions"]})

    return kept_on(assessment, "_plan_cards", key, evaluated)


def _release_problem(assessment: Assessment) -> tuple[str, str] | None:
    """The field and the message of why the active release cannot evaluate a draft's plan."""
    if assessment.is_signed:
        return None
    try:
        _tuned_cards(assessment, list(assessment.drugs))
    except DomainError as error:
        field = error.field or "drugs"
        if field == "drugs":
            todo = "Edit the draft to remove or replace that drug."
        elif field in {"conditions", "medications"}:
            todo = (
                "Correct the patient's recorded condition or medication to one the active "
                "release accepts, then edit the draft so that it is evaluated again."
            )
        else:
            todo = "Edit the draft so that it is evaluated again."
        return field, (
            "This draft was evaluated under knowledge-base release "
            f"{assessment.knowledge_base_version}; release {get_knowledge_base().version}, "
            f"now active, cannot evaluate its plan: {error.message} {todo}"
        )
    return None


def plan_release_problem(assessment: Assessment) -> str:
    """Why the active knowledge-base release cannot evaluate a draft's plan (a planned drug,
    or a condition or attribute of its inputs, that the release no longer knows), with what to
    do; "" when it can, and always for a signed assessment, which is never evaluated again."""
    problem = _release_problem(assessment)
    return "" if problem is None else problem[1]


def plan_release_check(assessment: Assessment, *, field: str | None = None) -> None:
    """Refuses (409, a field error: `field`, else the drugs or conditions at fault) a decision
    on, or the signing of, a draft that the active release cannot evaluate: nothing is
    decided or signed on cautions it cannot show."""
    problem = _release_problem(assessment)
    if problem is not None:
        raise ConflictError(problem[1], field=field or problem[0], code="release_changed")


def assessment_knowledge_base(assessment: Assessment) -> KnowledgeBase:
    """The knowledge base to name a record's drugs and conditions by: a signed record's own
    release (it shows as it was signed, whatever release is active since); the active release
    for a draft, which is decided under it."""
    if assessment.is_signed:
        try:
            return knowledge_base_for_digest(assessment.knowledge_base_digest)
        except ReleaseUnavailable:
            pass
    return get_knowledge_base()


def snapshot_missing(assessment: Assessment) -> list[str]:
    """The planned drugs the assessment's stored evaluation holds no caution for. The services
    always store one per planned drug; a snapshot stored by other means may lack some."""
    held = {caution.get("drug") for caution in stored_cautions(assessment)}
    return [drug for drug in assessment.drugs if drug not in held]


def stored_evaluation(assessment: Assessment) -> Mapping[str, Any]:
    """The assessment's stored evaluation, parsed once per stored text (a page, its plan and
    its cautions panel read it several times); the callers only read it."""
    text = assessment.cautions_snapshot
    parsed: Mapping[str, Any] = kept_on(
        assessment, "_stored_evaluation", text, lambda: json.loads(text)
    )
    return parsed


def stored_cautions(assessment: Assessment) -> Sequence[Mapping[str, Any]]:
    """The cautions of the assessment's stored evaluation."""
    cautions: Sequence[Mapping[str, Any]] = stored_evaluation(assessment).get("cautions", ())
    return cautions


def snapshot_complete_check(
    assessment: Assessment, drugs: Sequence[str] | None = None, *, field: str = "drugs"
) -> None:
    """Refuses (a field error naming them) a decision on, or the signing of, planned drugs
    whose caution the stored evaluation lacks (`drugs`; all planned drugs when None): the
    record would hold a decision on a caution it never showed. Editing the assessment
    evaluates it again and stores every caution."""
    missing = snapshot_missing(assessment)
    if drugs is not None:
        missing = [drug for drug in missing if drug in drugs]
    if missing:
        raise DomainError(
            f"The stored evaluation of assessment {assessment.pk} holds no caution for "
            f"{join_names(missing)}: edit the assessment so that its cautions are evaluated "
            "and stored again.",
            field=field,
        )


def _outdated(
    decision: str | None,
    level: str,
    row: Acknowledgement | None,
    cards: Mapping[str, Mapping[str, Any]],
) -> bool:
    """A decision the plan has moved under: a drug to be given (as planned or adjusted) that
    is now contraindicated or avoid, or withheld for an alternative that now is (another
    decision changed, say an interacting drug is given after all); or an override of a
    caution that the plan has since lowered below avoid (say the interacting drug is now
    withheld): there is no caution left to override, and signing it would record an override
    that never was one."""
    if decision in (GIVE, GIVE_ADJUSTED):
        return level in ACKNOWLEDGED_LEVELS
    if decision == OVERRIDE:
        return level not in ACKNOWLEDGED_LEVELS
    if decision == WITHHOLD and row is not None and row.alternative in cards:
        return cards[row.alternative]["level"] in ACKNOWLEDGED_LEVELS
    return False


def plan_decision_check(
    *,
    assessment: Assessment,
    decisions: Sequence[Acknowledgement],
    drug: str,
    decision: str,
    alternative: str,
    dose_mg: Decimal | None,
) -> PlanLine:
    """Refuses a decision that does not fit the plan as it stands (a field error), and
    returns the drug's line it applies to."""
    if decision not in PLAN_DECISIONS:
        raise DomainError(
            f"Unknown decision '{decision}'. Choose {', '.join(PLAN_DECISIONS)}.",
            field="decision",
        )
    if drug not in assessment.drugs:
        raise DomainError(f"'{drug}' is not a planned drug of this assessment.", field="drug")
    snapshot_complete_check(assessment, [drug], field="drug")
    plan_release_check(assessment, field="drug")
    # Checked against the plan as it would stand with this drug undecided: a decision being
    # changed does not vouch for its own replacement (a withheld drug is evaluated as given).
    plan = plan_evaluate(assessment=assessment, decisions=decisions, undecided=drug)
    line = next(line for line in plan.lines if line.drug == drug)
    if decision == OVERRIDE and line.level not in ACKNOWLEDGED_LEVELS:
        raise DomainError(
            f"The caution for {drug} is '{line.level}' in this plan: an override is only for a "
            "contraindicated or avoid caution. Choose give or give-adjusted.",
            field="decision",
        )
    if decision in (GIVE, GIVE_ADJUSTED) and line.level in ACKNOWLEDGED_LEVELS:
        raise DomainError(
            f"The caution for {drug} is '{line.level}': withhold it, or override the caution "
            "with a reason to give it anyway.",
            field="decision",
        )
    if alternative and decision != WITHHOLD:
        raise DomainError("An alternative is only chosen for a withheld drug.", field="alternative")
    if alternative:
        _check_alternative(
            assessment=assessment, decisions=decisions, drug=drug, alternative=alternative
        )
    if dose_mg is not None:
        if decision not in (GIVE_ADJUSTED, OVERRIDE):
            raise DomainError(
                "A dose is recorded only when the drug is given adjusted or despite the caution.",
                field="dose_mg",
            )
        if not dose_mg.is_finite() or dose_mg <= 0 or dose_mg > Decimal("10000"):
            raise DomainError("Give the dose in mg, above 0 and at most 10000.", field="dose_mg")
    return line


def _check_alternative(
    *, assessment: Assessment, decisions: Sequence[Acknowledgement], drug: str, alternative: str
) -> None:
    knowledge_base = get_knowledge_base()
    if alternative not in knowledge_base.drugs:
        raise DomainError(
            f"Unknown drug code '{alternative}'. See GET /api/v1/knowledge-base.",
            field="alternative",
        )
    if alternative == drug:
        raise DomainError(
            "Choose an alternative other than the withheld drug.", field="alternative"
        )
    if alternative in assessment.drugs:
        raise DomainError(
            f"{alternative} is already planned; decide on it in its own line.",
            field="alternative",
        )
    current = decisions_in_force(assessment=assessment, decisions=decisions)
    given = [
        planned
        for planned in assessment.drugs
        if planned != drug
        and not (planned in current and PLAN_DECISION[current[planned].decision] in NOT_GIVEN)
    ]
    level = _tuned_cards(assessment, [*given, alternative])[alternative]["level"]
    if level in ACKNOWLEDGED_LEVELS:
        raise DomainError(
            f"{alternative} is '{level}' for this patient: choose another alternative.",
            field="alternative",
        )


def decision_levels(
    *, assessment: Assessment, decisions: Sequence[Acknowledgement]
) -> dict[str, str]:
    """Each planned drug's level as a decision on it is checked: in the plan as it stands
    with that drug's own decision left out (what a form offers for deciding it again)."""
    plan = plan_evaluate(assessment=assessment, decisions=decisions)
    levels = {line.drug: line.level for line in plan.lines if line.drug in assessment.drugs}
    current = decisions_in_force(assessment=assessment, decisions=decisions)
    for drug in assessment.drugs:
        if drug in current:
            again = plan_evaluate(assessment=assessment, decisions=decisions, undecided=drug)
            levels[drug] = next(line.level for line in again.lines if line.drug == drug)
    return levels
