"""Accessible markup: groups of choices are fieldsets whose errors are linked to them, and
content that htmx swaps in is announced in one line rather than read out whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test.html import Element, parse_html
from django.utils import timezone

from periop.accounts.models import Role
from tests.factories import AssessmentFactory, MembershipFactory, PatientConditionFactory
from tests.web.conftest import tomorrow_form

pytestmark = pytest.mark.django_db


def elements(root: Element, match: Callable[[Element], bool]) -> Iterator[Element]:
    """The root (parse_html returns a lone element itself) and its descendants that match."""
    if match(root):
        yield root
    for child in root.children:
        if isinstance(child, Element):
            yield from elements(child, match)


def attribute(element: Element, name: str) -> str | None:
    return dict(element.attributes).get(name)


def text(element: Element) -> str:
    return " ".join(
        child if isinstance(child, str) else text(child) for child in element.children
    ).strip()


def by_id(root: Element, element_id: str) -> Element:
    (found,) = elements(root, lambda e: attribute(e, "id") == element_id)
    return found


def fieldset_with_legend(root: Element, legend: str) -> Element:
    def has_legend(element: Element) -> bool:
        return element.name == "fieldset" and any(
            isinstance(child, Element) and child.name == "legend" and text(child).startswith(legend)
            for child in element.children
        )

    (found,) = elements(root, has_legend)
    return found


def descriptions(root: Element, fieldset: Element) -> list[str]:
    """The texts the fieldset's aria-describedby points at, in order."""
    ids = (attribute(fieldset, "aria-describedby") or "").split()
    return [text(by_id(root, element_id)) for element_id in ids]


def inputs(fieldset: Element, kind: str) -> list[Element]:
    return list(elements(fieldset, lambda e: e.name == "input" and attribute(e, "type") == kind))


def assert_group_links_its_error(page: str, legend: str, kind: str, message: str) -> None:
    root = parse_html(page)
    group = fieldset_with_legend(root, legend)
    assert any(message in described for described in descriptions(root, group))
    choices = inputs(group, kind)
    assert choices
    assert all(attribute(choice, "aria-invalid") == "true" for choice in choices)


@pytest.fixture
def draft(patient: Any, anesthetist: Any) -> Any:
    """Succinylcholine for a patient ten days after a stroke: a caution to acknowledge."""
    PatientConditionFactory(
        patient=patient, code="stroke", onset_date=timezone.localdate() - dt.timedelta(days=10)
    )
    return AssessmentFactory(patient=patient, drugs=["succinylcholine"], created_by=anesthetist)


def test_a_missing_planned_drug_is_linked_to_the_drugs_group(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/assessments/new", tomorrow_form(drugs=[])
    )

    assert response.status_code == 400
    assert_group_links_its_error(
        response.content.decode(), "Planned drugs", "checkbox", "Choose at least one planned drug."
    )


def test_a_missing_receptor_state_is_linked_to_its_group(anesthetist_browser, patient):
    response = anesthetist_browser.post(
        f"/patients/{patient.pk}/receptor-state", {"reason": "Burns."}
    )

    assert response.status_code == 400
    assert_group_links_its_error(
        response.content.decode(),
        "Receptor state to use instead of the derived one",
        "radio",
        "Choose the receptor state to record.",
    )


def test_the_drugs_group_is_described_by_its_hint_and_is_valid_without_errors(
    anesthetist_browser, patient
):
    page = anesthetist_browser.get(f"/patients/{patient.pk}/assessments/new").content.decode()

    root = parse_html(page)
    group = fieldset_with_legend(root, "Planned drugs")
    assert descriptions(root, group) == [
        "Tick every drug you plan to give. The cautions update as you tick."
    ]
    assert not any(attribute(choice, "aria-invalid") for choice in inputs(group, "checkbox"))
    # Each class of drugs is a group of its own inside the question.
    assert fieldset_with_legend(group, "Non-depolarising neuromuscular blockers")


def test_a_missing_decision_is_linked_to_the_decision_group(anesthetist_browser, draft):
    response = anesthetist_browser.post(
        f"/assessments/{draft.pk}/acknowledge",
        {"drug": "succinylcholine", "revision": draft.revision},
    )

    assert response.status_code == 400
    assert_group_links_its_error(
        response.content.decode(),
        "What will be done with Succinylcholine (suxamethonium)?",
        "radio",
        "Choose what will be done with this drug.",
    )


def test_the_decision_group_is_valid_before_anything_is_submitted(anesthetist_browser, draft):
    root = parse_html(anesthetist_browser.get(f"/assessments/{draft.pk}/").content.decode())

    group = fieldset_with_legend(root, "What will be done with Succinylcholine (suxamethonium)?")
    assert attribute(group, "aria-describedby") is None
    radios = inputs(group, "radio")
    assert len(radios) == 2
    assert not any(attribute(radio, "aria-invalid") for radio in radios)


def test_the_decision_form_names_its_drug_once_as_heading_and_asks_its_question(
    anesthetist_browser, draft
):
    """The form's heading names the drug; the group of choices asks the question, rather than
    repeating the heading word for word."""
    page = anesthetist_browser.get(f"/assessments/{draft.pk}/").content.decode()

    assert page.count("Decision for Succinylcholine") == 1
    assert fieldset_with_legend(
        parse_html(page), "What will be done with Succinylcholine (suxamethonium)?"
    )


def test_a_wrong_department_choice_is_linked_to_the_department_group(
    client, department, other_department
):
    user = MembershipFactory(department=department, role=Role.ANESTHETIST).user
    MembershipFactory(user=user, department=other_department, role=Role.AUDITOR)
    client.force_login(user)

    response = client.post("/department", {"department": "999999"})

    assert response.status_code == 400
    assert_group_links_its_error(response.content.decode(), "Department", "radio", "999999")


def test_the_condition_picker_announces_the_fields_it_loads_in_one_line(
    anesthetist_browser, patient
):
    root = parse_html(anesthetist_browser.get(f"/patients/{patient.pk}/").content.decode())

    select = by_id(root, "condition-code")
    assert descriptions(root, select) == ["Its own fields follow the list once you choose."]
    # Only the last choice's fields may arrive while someone arrows through the list.
    assert attribute(select, "hx-sync") == "this:replace"
    container = by_id(root, "condition-fields")
    assert attribute(container, "aria-live") is None
    assert attribute(by_id(root, attribute(container, "data-status") or ""), "role") == "status"

    fragment = anesthetist_browser.get(
        f"/patients/{patient.pk}/conditions/new?code=stroke", headers={"HX-Request": "true"}
    ).content.decode()
    (form,) = elements(parse_html(fragment), lambda e: e.name == "form")
    assert attribute(form, "data-announce") == "Stroke: its fields follow the list."


def test_the_caution_panel_announces_a_summary_instead_of_its_whole_text(
    anesthetist_browser, draft
):
    form = parse_html(
        anesthetist_browser.get(f"/patients/{draft.patient.pk}/assessments/new").content.decode()
    )
    panel = by_id(form, "caution-panel")
    assert attribute(panel, "aria-live") is None
    assert attribute(by_id(form, attribute(panel, "data-status") or ""), "role") == "status"

    fragment = anesthetist_browser.post(
        f"/patients/{draft.patient.pk}/assessments/preview",
        tomorrow_form(drugs=["succinylcholine", "rocuronium"]),
        headers={"HX-Request": "true"},
    ).content.decode()
    (summary,) = elements(parse_html(fragment), lambda e: attribute(e, "data-announce") is not None)
    assert attribute(summary, "data-announce") == (
        "Cautions updated. Highest caution: Contraindicated. "
        "Succinylcholine (suxamethonium): Contraindicated. Rocuronium: Monitor."
    )
