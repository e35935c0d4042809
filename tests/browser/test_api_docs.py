"""The API documentation in a real browser (Playwright driving Debian's chromium, headless;
the launch and the CI rule are test_intake_flow's): Swagger UI, served from local static files
under the site's Content Security Policy, parses /api/openapi.json and lists the operations,
with their token scopes, and nothing trips the policy or logs an error (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest

from modelcvd.core.middleware import CSP
from tests.browser.test_intake_flow import browser  # noqa: F401 - the shared browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_operations_under_the_csp(browser: Any, live_server: Any) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.url, r.status))

    response = page.goto(f"{live_server.url}/api/docs")
    assert response is not None and response.status == 200
    # The real policy, as the middleware sends it on every page.
    assert response.headers["content-security-policy"] == CSP
    page.locator(".swagger-ui .info .title").get_by_text("modelcvd API").wait_for()
    operations = page.locator(".opblock")
    operations.first.wait_for()
    assert operations.count() > 50
    # An operation's block is really drawn, not only in the DOM.
    metrics = page.locator(".opblock-get", has_text="/api/v1/metrics").first
    assert metrics.is_visible()
    box = metrics.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 20
    # Opening it shows the declared answer that used to be spelled twice.
    metrics.locator(".opblock-summary").click()
    page.locator(".responses-wrapper").first.wait_for()
    assert "one row per number" in metrics.inner_text()
    # Swagger UI says so when it cannot parse the document.
    assert page.locator(".errors-wrapper").count() == 0
    assert not page.get_by_text("Failed to load API definition").count()

    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert not errors, errors
    assert not failed, failed
    assert not [url for url, status in statuses.items() if status >= 400], statuses
    context.close()
