"""The metrics dashboard and the assessments comparison in a real browser (Playwright driving
Debian's chromium, headless; the launch and the CI rule are test_intake_flow's): the charts
render as SVG with data marks of non-zero size, and nothing trips the Content Security Policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_intake_flow import browser  # noqa: F401 - the shared browser fixture
from tests.factories import build_world
from tests.metrics.dataset import build_dataset
from tests.transparency import build_transparency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _marks(page: Any, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const b = e.getBBox(); "
        "return {w: b.width, h: b.height, v: parseFloat(e.dataset.value)}; })",
    )


def test_dashboard_and_comparison_charts_render(browser: Any, live_server: Any) -> None:  # noqa: F811
    world = build_world()
    build_dataset()
    build_transparency(world)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live_server.url}/metrics/")
    page.get_by_role("heading", name="Response metrics").wait_for()
    charts = page.locator("figure svg.chart")
    assert charts.count() == 5
    for name in ("monthly", "times", "compliance", "ages", "exploit"):
        svg = page.locator(f"#chart-{name} svg")
        assert svg.is_visible(), name
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150, name
        marks = _marks(page, f"#chart-{name} rect.mark")
        assert marks, f"no data marks in the {name} chart"
        # Each mark is drawn with the size its value asks for: positive values are visible.
        assert any(m["h"] > 0 for m in marks if m["v"] > 0), name
    exploit = _marks(page, "#chart-exploit rect.mark")
    assert len(exploit) == 6  # before and after for alpha, beta and all programs
    # Programs are a filter: one program's dashboard.
    page.get_by_role("link", name="Beta").click()
    page.get_by_role("heading", name="Response metrics: Beta").wait_for()
    assert page.locator("figure svg.chart").count() == 5

    page.goto(f"{live_server.url}/assessments/compare/")
    page.get_by_role("heading", name="Security assessments compared").wait_for()
    table = page.locator("#comparison")
    assert "Vendor A" in table.inner_text()
    bars = _marks(page, "#comparison svg rect.mark")
    assert len(bars) == 2  # weight exfiltration and the custom threat model
    assert sorted(b["w"] for b in bars) == [32.0, 64.0]  # basic (1/3) and opportunistic (2/3)
    page.get_by_role("link", name="Robust against opportunistic attackers").click()
    page.get_by_role("heading", name="Vendor A security assessment 2026").wait_for()
    assert "Weight shards reachable from a debug endpoint" in page.content()
    # Inline SVG must not trip the Content Security Policy (the browser's own favicon request
    # may log a 404, as on every page).
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
