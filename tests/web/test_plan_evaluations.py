"""A draft's plan is evaluated by the engine once per set of drugs it is asked for, per
request: the page, its release check and each decision form share one evaluation, and what the
plan shows is the same as if every part had evaluated it afresh."""

import json
import types

import pytest

from periop.assessments.models import Acknowledgement, Assessment
from periop.assessments.services import plan as plan_services
from periop.assessments.services.plan import decision_levels, plan_evaluate
from tests.api.test_assessment_plan import DRUGS, create, decide
from tests.api.test_assessment_plan import patient as plan_patient  # noqa: F401
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine_runs(monkeypatch):
    """The drug sets the plan services asked the engine to evaluate, in order."""
    runs: list[tuple[str, ...]] = []
    evaluate = plan_services.cautions_evaluate

    def counted(*, state, drugs, at):
        runs.append(tuple(drugs))
        return evaluate(state=state, drugs=drugs, at=at)

    monkeypatch.setattr(plan_services, "cautions_evaluate", counted)
    return runs


@pytest.fixture
def draft(anesthetist, plan_patient):  # noqa: F811
    return create(client_for(anesthetist), plan_patient)


def fresh(draft):
    return Assessment.objects.get(pk=draft["id"])


def test_the_draft_page_evaluates_its_plan_once(anesthetist_browser, draft, engine_runs):
    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")

    assert response.status_code == 200
    # The release check, the plan and every decision form's level share one evaluation.
    assert engine_runs == [tuple(DRUGS)]
    assert {row.drug for row in response.context["plan_rows"]} == set(DRUGS)


def test_the_api_detail_evaluates_its_plan_once(anesthetist_client, draft, engine_runs):
    response = anesthetist_client.get(f"/api/v1/assessments/{draft['id']}")

    assert response.status_code == 200
    assert engine_runs == [tuple(DRUGS)]
    assert [line["drug"] for line in response.json()["plan"]] == DRUGS


def test_a_withheld_drug_costs_one_more_evaluation_for_the_drugs_given(
    anesthetist_client, anesthetist_browser, draft, engine_runs
):
    assert decide(anesthetist_client, draft, "gentamicin", "withhold").status_code == 200
    engine_runs.clear()

    response = anesthetist_browser.get(f"/assessments/{draft['id']}/")

    assert response.status_code == 200
    given = tuple(drug for drug in DRUGS if drug != "gentamicin")
    # The plan over the drugs given; the release check and gentamicin's own form (evaluated
    # as if given again) over every planned drug.
    assert sorted(engine_runs) == sorted([tuple(DRUGS), given])


def test_a_plan_read_again_on_the_same_record_is_the_plan_read_afresh(anesthetist_client, draft):
    for drug, decision in [("gentamicin", "withhold"), ("magnesium-sulfate", "withhold")]:
        assert decide(anesthetist_client, draft, drug, decision).status_code == 200
    decisions = list(Acknowledgement.objects.filter(assessment_id=draft["id"]))
    warm = fresh(draft)
    plan_evaluate(assessment=warm, decisions=decisions)
    decision_levels(assessment=warm, decisions=decisions)

    for undecided in [None, *DRUGS]:
        again = plan_evaluate(assessment=warm, decisions=decisions, undecided=undecided)
        afresh = plan_evaluate(assessment=fresh(draft), decisions=decisions, undecided=undecided)
        assert again == afresh
    assert decision_levels(assessment=warm, decisions=decisions) == decision_levels(
        assessment=fresh(draft), decisions=decisions
    )


def test_the_plan_is_evaluated_again_when_what_it_depends_on_changes(
    draft, engine_runs, monkeypatch
):
    assessment = fresh(draft)
    first = plan_evaluate(assessment=assessment, decisions=[])
    plan_evaluate(assessment=assessment, decisions=[])
    assert len(engine_runs) == 1

    # Other drugs.
    assessment.drugs = ["rocuronium", "sugammadex"]
    fewer = plan_evaluate(assessment=assessment, decisions=[])
    assert [line.drug for line in fewer.lines] == ["rocuronium", "sugammadex"]
    assert len(engine_runs) == 2

    # Other inputs: without the patient's conditions, succinylcholine has no caution left
    # from them.
    assessment.drugs = list(DRUGS)
    inputs = json.loads(assessment.inputs_snapshot)
    inputs["conditions"] = []
    assessment.inputs_snapshot = json.dumps(inputs)
    bare = plan_evaluate(assessment=assessment, decisions=[])
    assert len(engine_runs) == 3
    levels = {line.drug: line.level for line in first.lines}
    assert levels["succinylcholine"] == "contraindicated"
    assert {line.drug: line.level for line in bare.lines}["succinylcholine"] != "contraindicated"

    # Another active release.
    active = plan_services.get_knowledge_base()
    monkeypatch.setattr(
        plan_services,
        "get_knowledge_base",
        lambda: types.SimpleNamespace(
            digest="sha256:another", version=active.version, drugs=active.drugs
        ),
    )
    plan_evaluate(assessment=assessment, decisions=[])
    assert len(engine_runs) == 4
