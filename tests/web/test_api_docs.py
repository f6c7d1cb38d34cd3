"""The API documentation page (Swagger UI) under the same content security policy as the
pre-op pages: no inline script or style, served from local files."""

from __future__ import annotations

import re

import pytest
from django.test.html import Element, parse_html

pytestmark = pytest.mark.django_db


def tags(root: Element, name: str) -> list[Element]:
    found = [root] if root.name == name else []
    for child in root.children:
        if isinstance(child, Element):
            found += tags(child, name)
    return found


def test_the_docs_page_renders_for_a_signed_in_user(anesthetist_browser):
    response = anesthetist_browser.get("/api/v1/docs/")

    assert response.status_code == 200
    assert '<div id="swagger-ui">' in response.content.decode()


def test_the_docs_page_carries_the_content_security_policy(anesthetist_browser):
    response = anesthetist_browser.get("/api/v1/docs/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_the_docs_page_has_no_inline_script_or_style(anesthetist_browser):
    page = anesthetist_browser.get("/api/v1/docs/").content.decode()

    scripts = tags(parse_html(page), "script")
    assert len(scripts) == 3  # the Swagger UI bundle, its preset, and the start-up script
    for script in scripts:
        assert dict(script.attributes).get("src")
        assert not "".join(str(child) for child in script.children).strip()
    assert "<style" not in page
    assert not re.search(r"\son\w+=", page)  # no inline event handlers either


def test_the_start_up_script_is_a_url_of_its_own(anesthetist_browser):
    page = anesthetist_browser.get("/api/v1/docs/").content.decode()
    sources = [dict(script.attributes)["src"] for script in tags(parse_html(page), "script")]
    start_up = next(src for src in sources if "script=" in src)

    response = anesthetist_browser.get(start_up)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    body = response.content.decode()
    assert "SwaggerUIBundle" in body
    assert "/api/v1/schema/" in body


def test_the_docs_page_still_needs_a_signed_in_user(client):
    response = client.get("/api/v1/docs/")

    assert response.status_code in {401, 403}
