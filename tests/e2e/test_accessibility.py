"""Keyboard use in a real Chromium: focus survives htmx swaps, and every interactive element
shows the focus indicator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.factories import (
    AssessmentFactory,
    PatientConditionFactory,
    PatientFactory,
    PatientMedicationFactory,
)

pytestmark = [pytest.mark.e2e]

# What the focused element looks like, read from the browser.
FOCUS_STYLE = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  return {
    element: element.outerHTML.slice(0, 90),
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
    ring: style.boxShadow,
  };
}"""
OUTLINE = "solid 3px rgb(255, 191, 71)"
RING = "rgb(11, 12, 12) 0px 0px 0px 6px"


@pytest.fixture
def patient(department: Any) -> Any:
    return PatientFactory(department=department, name="Ada Lovelace")


def tab_through(page: Page, limit: int = 150) -> list[dict[str, str]]:
    """Presses Tab from the top of the page until focus leaves it, recording each stop."""
    page.locator("body").focus()
    stops: list[dict[str, str]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STYLE)
        if stop is None or (stops and stop == stops[0]):
            break
        stops.append(stop)
    return stops


def test_choosing_a_condition_by_keyboard_keeps_focus_on_the_list(
    live_server: Any, signed_in: Any, anesthetist: Any, patient: Any
) -> None:
    page = signed_in(anesthetist)
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/patients/{patient.pk}/")
    select = page.get_by_label("Condition", exact=True)
    select.focus()

    # Arrowing through the list loads each condition's fields; only the last may stay.
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    chosen = select.input_value()
    form = page.locator("#condition-fields form")
    expect(form.locator('input[name="code"]')).to_have_value(chosen)

    expect(select).to_be_focused()
    name = select.locator("option:checked").inner_text()
    expect(page.locator("#condition-fields-status")).to_have_text(
        f"{name}: its fields follow the list."
    )
    page.keyboard.press("Tab")
    expect(form.get_by_label("Onset: date")).to_be_focused()


def test_every_interactive_element_shows_the_focus_indicator(
    live_server: Any, signed_in: Any, anesthetist: Any, patient: Any
) -> None:
    PatientConditionFactory(
        patient=patient, code="stroke", onset_date=timezone.localdate() - dt.timedelta(days=10)
    )
    PatientMedicationFactory(patient=patient, code="pyridostigmine")
    draft = AssessmentFactory(patient=patient, drugs=["succinylcholine"], created_by=anesthetist)
    page = signed_in(anesthetist)
    page.set_default_timeout(10_000)

    missing = []
    for path in (
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/assessments/new",
        f"/assessments/{draft.pk}/",
    ):
        page.goto(live_server.url + path)
        stops = tab_through(page)
        assert len(stops) > 10, path
        missing += [
            (path, stop) for stop in stops if stop["outline"] != OUTLINE or RING not in stop["ring"]
        ]

    assert missing == [], "\n".join(f"{path}: {stop}" for path, stop in missing)
