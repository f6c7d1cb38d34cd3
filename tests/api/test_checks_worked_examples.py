"""The worked examples of clinical-reference.md §9, end to end through POST /api/v1/checks.

Where §9 notes that an example and the tables disagree, both levels are clinically acceptable
and the test accepts either (V06 neostigmine, V12 sugammadex, V28 sugammadex, V29
cisatracurium).
"""

from __future__ import annotations

import datetime as dt

import pytest

T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def before(**delta: float) -> str:
    return (T0 - dt.timedelta(**delta)).isoformat()


def check(client, *, conditions=(), medications=(), drugs, weight=None, age=None, at=T0):
    body = {
        "at": at.isoformat(),
        "conditions": list(conditions),
        "medications": list(medications),
        "drugs": list(drugs),
    }
    patient = {}
    if weight is not None:
        patient["weight_kg"] = weight
    if age is not None:
        patient["age_years"] = age
    if patient:
        body["patient"] = patient
    response = client.post("/api/v1/checks", body, format="json")
    assert response.status_code == 200, response.content
    payload = response.json()
    assert [caution["drug"] for caution in payload["cautions"]] == list(drugs)
    return payload, {caution["drug"]: caution for caution in payload["cautions"]}


def assert_caution(caution, levels, effects=()):
    levels = {levels} if isinstance(levels, str) else set(levels)
    assert caution["level"] in levels, caution
    for effect in effects:
        assert effect in caution["effects"], caution


MYASTHENIA = {
    "code": "myasthenia-gravis",
    "onset": "2024-11-22",
    "attributes": {"antibody": "achr", "distribution": "generalized"},
}
PYRIDOSTIGMINE = {"code": "pyridostigmine", "started": "2024-11-25", "stopped": None}


@pytest.mark.django_db
def test_v01_a_patient_without_nmj_condition_gets_no_caution(pharmacist_client):
    payload, cautions = check(
        pharmacist_client, drugs=["succinylcholine", "rocuronium", "neostigmine", "sugammadex"]
    )

    assert payload["highest_level"] == "none"
    assert payload["receptor_state"]["value"] == "normal"
    for caution in cautions.values():
        assert_caution(caution, "none")
        assert caution["findings"] == []
        assert caution["conflict"] is False


@pytest.mark.django_db
def test_v02_myasthenia_on_pyridostigmine_for_thymectomy(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[MYASTHENIA],
        medications=[PYRIDOSTIGMINE],
        drugs=["rocuronium", "succinylcholine", "neostigmine", "sugammadex", "pyridostigmine"],
        weight=62,
    )

    assert_caution(cautions["rocuronium"], "adjust", ["increased_sensitivity"])
    assert_caution(cautions["succinylcholine"], "adjust", ["resistance", "prolonged"])
    assert_caution(cautions["neostigmine"], "adjust", ["cholinergic"])
    assert_caution(cautions["sugammadex"], "monitor")
    assert_caution(cautions["pyridostigmine"], "monitor")
    # The pyridostigmine interactions are flagged on succinylcholine and neostigmine.
    for drug in ("succinylcholine", "neostigmine"):
        triggers = {t for f in cautions[drug]["findings"] for t in f["triggered_by"]}
        assert "medication:pyridostigmine" in triggers
    # The reduced rocuronium dose, in mg for this 62 kg patient.
    dose = cautions["rocuronium"]["dose"]
    assert dose["per_kg_mg"] == {"min": "0.5", "max": "0.6"}
    assert dose["total_mg"] == {"min": "31", "max": "37.2"}


@pytest.mark.django_db
def test_v05_myasthenia_with_a_stroke_ten_days_ago(pharmacist_client):
    payload, cautions = check(
        pharmacist_client,
        conditions=[
            {**MYASTHENIA, "onset": "2020-11-22"},
            {"code": "stroke", "onset": before(days=10), "attributes": {"motor_deficit": True}},
        ],
        medications=[PYRIDOSTIGMINE],
        drugs=["succinylcholine", "rocuronium", "sugammadex", "neostigmine"],
        weight=78,
    )

    assert payload["receptor_state"]["value"] == "mixed"
    assert_caution(cautions["succinylcholine"], "contraindicated", ["hyperkalemia"])
    assert_caution(cautions["rocuronium"], "adjust", ["increased_sensitivity", "resistance"])
    assert cautions["rocuronium"]["conflict"] is True
    # "Response unpredictable; titrate to quantitative TOF", and both sides named: the
    # myasthenic sensitivity does not net out the paretic-side resistance.
    summary = cautions["rocuronium"]["summary"]
    assert summary.startswith(
        "Opposing effects: response unpredictable; titrate to quantitative TOF."
    )
    assert "Myasthenia gravis" in summary
    assert "denervated muscle resists non-depolarisers" in summary
    assert_caution(cautions["sugammadex"], "monitor")
    assert_caution(cautions["neostigmine"], "adjust", ["cholinergic"])
    assert payload["highest_level"] == "contraindicated"


@pytest.mark.django_db
def test_v06_myasthenia_with_gentamicin_started_36_hours_ago(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[MYASTHENIA],
        medications=[PYRIDOSTIGMINE, {"code": "gentamicin", "started": before(hours=36)}],
        drugs=["rocuronium", "gentamicin", "neostigmine", "sugammadex"],
        weight=60,
    )

    assert_caution(cautions["gentamicin"], "avoid", ["worsens_disease"])
    assert_caution(cautions["rocuronium"], "adjust", ["increased_sensitivity"])
    assert_caution(cautions["neostigmine"], {"adjust", "avoid"}, ["reduced_reversal"])
    assert_caution(cautions["sugammadex"], "monitor")


@pytest.mark.django_db
def test_v10_homozygous_atypical_butyrylcholinesterase(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[
            {
                "code": "butyrylcholinesterase-deficiency",
                "onset": "2021-11-22",
                "attributes": {"genotype": "homozygous", "dibucaine_number": 20},
            }
        ],
        drugs=["succinylcholine", "mivacurium", "rocuronium", "neostigmine", "sugammadex"],
        weight=70,
    )

    assert_caution(cautions["succinylcholine"], "avoid", ["prolonged"])
    assert cautions["succinylcholine"]["dose"]["total_mg"] == {"min": "5", "max": "10"}
    assert_caution(cautions["mivacurium"], "avoid", ["prolonged"])
    assert_caution(cautions["rocuronium"], "none")
    assert_caution(cautions["neostigmine"], "monitor")
    assert_caution(cautions["sugammadex"], "none")


@pytest.mark.django_db
def test_v12_a_burn_six_hours_old_and_its_time_windows(pharmacist_client):
    burn = {"code": "burn", "onset": before(hours=6), "attributes": {"tbsa_percent": 40}}

    _, cautions = check(
        pharmacist_client,
        conditions=[burn],
        drugs=["succinylcholine", "rocuronium", "sugammadex"],
        weight=80,
    )
    assert_caution(cautions["succinylcholine"], "monitor")
    assert_caution(cautions["rocuronium"], "monitor")
    assert_caution(cautions["sugammadex"], {"none", "monitor"})

    # The same patient 24 h and 72 h after the burn.
    _, at_24_hours = check(
        pharmacist_client,
        conditions=[burn],
        drugs=["succinylcholine"],
        at=T0 + dt.timedelta(hours=18),
    )
    assert_caution(at_24_hours["succinylcholine"], "avoid")
    _, at_72_hours = check(
        pharmacist_client,
        conditions=[burn],
        drugs=["succinylcholine"],
        at=T0 + dt.timedelta(hours=66),
    )
    assert_caution(at_72_hours["succinylcholine"], "contraindicated", ["hyperkalemia"])


@pytest.mark.django_db
def test_v13_a_burn_five_days_old(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[{"code": "burn", "onset": before(days=5), "attributes": {"tbsa_percent": 35}}],
        drugs=["succinylcholine", "rocuronium", "mivacurium", "sugammadex"],
        weight=58,
    )

    assert_caution(cautions["succinylcholine"], "contraindicated", ["hyperkalemia"])
    assert_caution(cautions["rocuronium"], "monitor", ["resistance"])
    assert_caution(cautions["mivacurium"], "monitor", ["prolonged"])
    assert_caution(cautions["sugammadex"], "monitor")


@pytest.mark.django_db
def test_v17_paraplegia_three_weeks_after_spinal_cord_injury(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[{"code": "spinal-cord-injury", "onset": before(days=21)}],
        drugs=["succinylcholine", "rocuronium", "sugammadex"],
        weight=70,
    )

    assert_caution(cautions["succinylcholine"], "contraindicated", ["hyperkalemia"])
    assert_caution(cautions["rocuronium"], "monitor", ["resistance"])
    assert_caution(cautions["sugammadex"], "none")


@pytest.mark.django_db
def test_v25_duchenne_muscular_dystrophy_for_spinal_fusion(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[
            {
                "code": "muscular-dystrophy",
                "onset": "2015-06-01",
                "attributes": {"type": "duchenne"},
            }
        ],
        drugs=["succinylcholine", "rocuronium", "neostigmine", "sugammadex"],
        weight=38,
        age=13,
    )

    assert_caution(cautions["succinylcholine"], "contraindicated", ["hyperkalemia"])
    assert_caution(cautions["rocuronium"], "monitor")
    assert_caution(cautions["neostigmine"], "avoid")
    assert_caution(cautions["sugammadex"], "monitor")


@pytest.mark.django_db
def test_v28_pre_eclampsia_on_magnesium_for_caesarean(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[
            {
                "code": "hypermagnesemia",
                "onset": before(hours=10),
                "attributes": {"serum_mg_mg_dl": 8.5},
            }
        ],
        medications=[
            {"code": "magnesium-sulfate", "started": before(hours=10)},
            {"code": "nifedipine", "started": before(hours=10)},
        ],
        drugs=["succinylcholine", "rocuronium", "sugammadex", "neostigmine", "magnesium-sulfate"],
        weight=78,
    )

    assert_caution(cautions["succinylcholine"], "monitor")
    assert_caution(cautions["rocuronium"], "adjust", ["increased_sensitivity", "prolonged"])
    assert_caution(cautions["sugammadex"], {"monitor", "adjust"})
    assert_caution(cautions["neostigmine"], "adjust", ["reduced_reversal"])
    assert_caution(cautions["magnesium-sulfate"], "monitor")
    # The magnesium and calcium-channel-blocker interaction is flagged.
    triggers = {t for f in cautions["rocuronium"]["findings"] for t in f["triggered_by"]}
    assert "medication:nifedipine" in triggers


@pytest.mark.django_db
def test_v29_chronic_phenytoin_for_craniotomy(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        conditions=[{"code": "epilepsy", "onset": "2010-01-01"}],
        medications=[{"code": "phenytoin", "started": "2024-11-22"}],
        drugs=[
            "rocuronium",
            "vecuronium",
            "cisatracurium",
            "atracurium",
            "succinylcholine",
            "sugammadex",
        ],
        weight=75,
    )

    assert_caution(cautions["rocuronium"], "adjust", ["resistance"])
    assert_caution(cautions["vecuronium"], "adjust", ["resistance"])
    assert_caution(cautions["cisatracurium"], {"monitor", "adjust"}, ["resistance"])
    assert_caution(cautions["atracurium"], "none")
    assert_caution(cautions["succinylcholine"], "none")
    assert_caution(cautions["sugammadex"], "none")


@pytest.mark.django_db
def test_v30_an_acute_phenytoin_load_yesterday_potentiates(pharmacist_client):
    _, cautions = check(
        pharmacist_client,
        medications=[{"code": "phenytoin", "started": before(hours=20)}],
        drugs=["vecuronium", "rocuronium"],
        weight=65,
    )

    assert_caution(cautions["vecuronium"], "adjust", ["increased_sensitivity"])
    assert_caution(cautions["rocuronium"], "adjust", ["increased_sensitivity"])
    assert cautions["vecuronium"]["conflict"] is False


@pytest.mark.django_db
def test_a_contraindicated_caution_never_carries_a_milder_findings_dose(pharmacist_client):
    # Myasthenia alone gives succinylcholine a raised-dose caution; the stroke contraindicates
    # it. The card must not offer the myasthenic dose.
    _, alone = check(
        pharmacist_client, conditions=[MYASTHENIA], drugs=["succinylcholine"], weight=70
    )
    _, both = check(
        pharmacist_client,
        conditions=[MYASTHENIA, {"code": "stroke", "onset": before(days=10)}],
        drugs=["succinylcholine"],
        weight=70,
    )

    assert alone["succinylcholine"]["dose"] is not None
    assert both["succinylcholine"]["level"] == "contraindicated"
    assert both["succinylcholine"]["dose"] is None
