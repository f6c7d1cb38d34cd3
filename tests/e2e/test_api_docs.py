"""Swagger UI runs in Chromium under the content security policy, without violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e]


def test_swagger_ui_starts_under_the_content_security_policy(
    live_server: Any, signed_in: Any, anesthetist: Any
) -> None:
    page = signed_in(anesthetist)
    page.set_default_timeout(15_000)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(live_server.url + "/api/v1/docs/")

    # The title comes from the schema, fetched by the start-up script: both ran.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Periop API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert refused == []
