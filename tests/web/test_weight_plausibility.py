"""A child's weight that is implausible for the age on the CDC growth charts is a warning, not
a refusal: the web form and the API save the assessment and show the same message."""

import datetime as dt
import html

import pytest

from periop.assessments.models import Assessment
from tests.conftest import client_for, nothing_changes
from tests.factories import PatientFactory
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db

IMPLAUSIBLE = "implausible-weight"


def years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years, day=min(day.day, 28))


def planned_day() -> dt.date:
    return dt.date.fromisoformat(tomorrow_form()["planned_date"])


@pytest.fixture
def boy(department):
    """A boy of 4 at the planned time (tomorrow)."""
    return PatientFactory(
        department=department, sex="male", birth_date=years_before(planned_day(), 4)
    )


def through_both_doors(user, browser, patient, weight_kg):
    """Creates one assessment through the form and one through the API with the same values;
    answers the page shown after saving and the API's answer."""
    page = browser.post(
        f"/patients/{patient.pk}/assessments/new",
        tomorrow_form(weight_kg=weight_kg),
        follow=True,
    )
    created = Assessment.objects.get()
    api = client_for(user).post(
        "/api/v1/assessments",
        {
            "patient": patient.pk,
            "planned_at": created.planned_at.isoformat(),
            "procedure": "Thymectomy",
            "weight_kg": weight_kg,
            "drugs": ["succinylcholine", "rocuronium"],
        },
        format="json",
    )
    return page, api


def shown(page) -> list[str]:
    return [warning["message"] for warning in page.context["warnings"]]


def test_an_implausible_weight_for_the_age_is_saved_with_the_same_warning_on_both_doors(
    anesthetist, anesthetist_browser, boy
):
    # 40 kg for a boy of 4: pounds typed as kilograms, say.
    page, api = through_both_doors(anesthetist, anesthetist_browser, boy, "40")

    assert page.status_code == 200
    assert api.status_code == 201
    assert Assessment.objects.filter(patient=boy).count() == 2
    (warning,) = api.json()["warnings"]
    assert (warning["code"], warning["field"]) == (IMPLAUSIBLE, "weight_kg")
    assert shown(page) == [warning["message"]]
    assert html.escape(warning["message"]) in page.content.decode()
    message = warning["message"]
    assert message.startswith("Weight 40 kg is outside the plausible range of the CDC growth")
    assert "a boy aged 4 years" in message
    assert message.endswith("Check the weight and its units (kg).")


def test_the_warning_stays_with_the_weight_when_the_assessment_is_read_again(
    anesthetist, anesthetist_browser, boy
):
    _, api = through_both_doors(anesthetist, anesthetist_browser, boy, "40")
    created = api.json()

    again = client_for(anesthetist).get(f"/api/v1/assessments/{created['id']}")
    page = anesthetist_browser.get(f"/assessments/{created['id']}/")

    assert again.json()["warnings"] == created["warnings"]
    assert shown(page) == [warning["message"] for warning in created["warnings"]]


def test_a_plausible_weight_gives_no_warning_on_either_door(anesthetist, anesthetist_browser, boy):
    page, api = through_both_doors(anesthetist, anesthetist_browser, boy, "16.5")

    assert api.status_code == 201
    assert api.json()["warnings"] == []
    assert shown(page) == []
    assert f'id="{IMPLAUSIBLE}-warning"' not in page.content.decode()


def test_an_adult_is_not_checked_against_the_growth_charts(
    anesthetist, anesthetist_browser, department
):
    adult = PatientFactory(department=department, birth_date=years_before(planned_day(), 20))

    page, api = through_both_doors(anesthetist, anesthetist_browser, adult, "300")

    assert api.status_code == 201
    assert api.json()["warnings"] == []
    assert shown(page) == []


def test_a_child_whose_sex_is_not_recorded_is_warned_about_a_weight_implausible_for_both(
    anesthetist, anesthetist_browser, department
):
    child = PatientFactory(
        department=department, sex="unknown", birth_date=years_before(planned_day(), 4)
    )

    page, api = through_both_doors(anesthetist, anesthetist_browser, child, "40")

    (warning,) = api.json()["warnings"]
    assert shown(page) == [warning["message"]]
    assert "a child aged 4 years, both as a boy and as a girl" in warning["message"]
    assert "the sex is not recorded as female or male" in warning["message"]


def test_editing_to_an_implausible_weight_warns_the_same_on_both_doors(
    anesthetist, anesthetist_browser, boy
):
    page, api = through_both_doors(anesthetist, anesthetist_browser, boy, "16")
    web_draft, api_draft = Assessment.objects.order_by("pk")

    page = anesthetist_browser.post(
        f"/assessments/{web_draft.pk}/edit",
        tomorrow_form(weight_kg="4", revision=web_draft.revision),
        follow=True,
    )
    api = client_for(anesthetist).patch(
        f"/api/v1/assessments/{api_draft.pk}",
        {"weight_kg": "4"},
        format="json",
        HTTP_IF_MATCH=api_draft.etag,
    )

    assert api.status_code == 200
    (warning,) = api.json()["warnings"]
    assert shown(page) == [warning["message"]]
    assert warning["message"].startswith("Weight 4 kg is outside the plausible range")


def test_the_form_preview_shows_the_same_warning_before_saving_and_saving_is_not_stopped(
    anesthetist, anesthetist_browser, boy
):
    preview = anesthetist_browser.post(
        f"/patients/{boy.pk}/assessments/preview", tomorrow_form(weight_kg="40")
    )
    plausible = anesthetist_browser.post(
        f"/patients/{boy.pk}/assessments/preview", tomorrow_form(weight_kg="16")
    )
    _, api = through_both_doors(anesthetist, anesthetist_browser, boy, "40")

    (warning,) = api.json()["warnings"]
    notice = f"{html.escape(warning['message'])} It does not stop you saving."
    assert notice in preview.content.decode()
    assert "implausible-weight-notice" not in plausible.content.decode()
    assert Assessment.objects.filter(patient=boy).count() == 2


@pytest.mark.parametrize(
    ("weight_kg", "message"),
    [
        ("0.2", "Weight must be between 0.3 and 400 kg."),
        ("401", "Weight must be between 0.3 and 400 kg."),
        ("heavy", "Enter the weight as a number of kg, for example 72.5."),
        ("70.125", "Give the weight to at most two decimal places."),
    ],
)
def test_the_form_and_the_api_refuse_the_same_weight_with_the_same_message(
    anesthetist, anesthetist_browser, boy, weight_kg, message
):
    with nothing_changes(reads_allowed=True):
        page = anesthetist_browser.post(
            f"/patients/{boy.pk}/assessments/new", tomorrow_form(weight_kg=weight_kg)
        )
        api = client_for(anesthetist).post(
            "/api/v1/assessments",
            {
                "patient": boy.pk,
                "planned_at": "2027-01-04T08:30:00+00:00",
                "procedure": "Thymectomy",
                "weight_kg": weight_kg,
                "drugs": ["succinylcholine", "rocuronium"],
            },
            format="json",
        )
        check = client_for(anesthetist).post(
            "/api/v1/checks",
            {"patient": {"weight_kg": weight_kg}, "conditions": [], "drugs": ["rocuronium"]},
            format="json",
        )

    assert page.status_code == 400
    assert page.context["form"].errors["weight_kg"] == [message]
    assert api.status_code == 400
    assert api.json()["weight_kg"] == [message]
    assert check.status_code == 400
    assert check.json()["patient"]["weight_kg"] == [message]


def test_the_print_carries_the_weight_warning_beside_the_weight(
    anesthetist, anesthetist_browser, boy
):
    client = client_for(anesthetist)
    created = client.post(
        "/api/v1/assessments",
        {
            "patient": boy.pk,
            "planned_at": f"{planned_day().isoformat()}T08:30:00+00:00",
            "procedure": "Thymectomy",
            "weight_kg": "40",
            "drugs": ["rocuronium"],
        },
        format="json",
    ).json()
    (warning,) = created["warnings"]
    signed = client.post(f"/api/v1/assessments/{created['id']}/sign", {}, format="json")
    assert signed.status_code == 200, signed.content

    printed = anesthetist_browser.get(f"/assessments/{created['id']}/print")

    assert printed.status_code == 200
    assert html.escape(warning["message"]) in printed.content.decode()


def test_a_check_against_the_patients_record_carries_the_same_weight_warning(anesthetist, boy):
    client = client_for(anesthetist)
    body = {"drugs": ["rocuronium"], "at": f"{planned_day().isoformat()}T08:30:00+00:00"}

    implausible = client.post(
        f"/api/v1/patients/{boy.pk}/checks", {**body, "weight_kg": "40"}, format="json"
    )
    plausible = client.post(
        f"/api/v1/patients/{boy.pk}/checks", {**body, "weight_kg": "16"}, format="json"
    )
    without = client.post(f"/api/v1/patients/{boy.pk}/checks", body, format="json")
    assessment = client.post(
        "/api/v1/assessments",
        {
            "patient": boy.pk,
            "planned_at": body["at"],
            "procedure": "Thymectomy",
            "weight_kg": "40",
            "drugs": ["rocuronium"],
        },
        format="json",
    )

    assert implausible.status_code == 200
    assert implausible.json()["warnings"] == assessment.json()["warnings"]
    assert implausible.json()["warnings"][0]["code"] == IMPLAUSIBLE
    assert plausible.json()["warnings"] == []
    assert without.json()["warnings"] == []
