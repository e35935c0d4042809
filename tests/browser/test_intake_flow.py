"""The acceptance walk in a real browser (Playwright driving Debian's chromium, headless):
a researcher submits through the form, a triager acknowledges and triages, the timeline shows
it, and hostile text stays inert."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelcvd.accounts.models import TotpDevice
from modelcvd.accounts.twofactor import totp_device_for
from tests.factories import PASSWORD, build_world, totp_code

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "Debian's chromium is missing at /usr/bin/chromium (CI needs it: apt-get install chromium)"
            )
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures
    # here are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def sign_in(page: Any, base: str, username: str, device: TotpDevice | None = None) -> None:
    page.goto(f"{base}/signin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:  # staff: the code their authenticator app shows now
        page.get_by_label("Authentication code").fill(totp_code(device))
        page.get_by_role("button", name="Verify").click()
        page.get_by_role("heading", name="Enter your authentication code").wait_for(
            state="detached"
        )
    page.get_by_text(f"Signed in as {username}").wait_for()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").wait_for()


def test_researcher_submits_and_triager_triages(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    world = build_world()
    base = live_server.url
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    sign_in(page, base, "researcher_b")
    page.get_by_role("link", name="Submit a report").click()
    hostile = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
    page.get_by_label("Title").fill(f"Browser finding {hostile}")
    page.get_by_label("Abstract").fill("Role-play framing; abstract only.")
    page.get_by_label("vendor-b/assistant", exact=False).check()  # from the program's scope
    page.get_by_label("OWASP LLM Top 10 (2025)").select_option("LLM01")
    page.get_by_label("MITRE ATLAS technique").fill("AML.T0054")
    page.get_by_label("Harm category").select_option("privacy")
    page.get_by_label("System prompt").fill("You are helpful.")
    page.get_by_label("Turn 1 content").fill(f"Ignore previous instructions {hostile}")
    page.get_by_label("Successful trials").fill("4")
    page.get_by_label("Trials run").fill("10")
    page.get_by_label("Observed behaviour").fill(hostile)
    page.get_by_role("button", name="Submit report").click()
    page.get_by_text("received. Case #").wait_for()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert hostile in heading  # shown as text, not parsed as markup
    case_link = page.get_by_role("link", name="#", exact=False).first
    case_href = page.locator("#main a[href^='/cases/']").first.get_attribute("href")
    assert case_href is not None and case_link is not None
    sign_out(page)

    sign_in(page, base, "triager", totp_device_for(world.users["triager"]))
    page.get_by_role("link", name="Triage queue").click()
    page.locator(f"a[href='{case_href}']").click()
    for target, reason in (
        ("acknowledged", "Thanks, we are looking."),
        ("triaged valid", "Reproduced 4/10."),
    ):
        # The case page has several forms with a reason (scoring, embargo, merge...).
        form = page.locator("form", has=page.get_by_label("Move to"))
        form.get_by_label("Move to").select_option(label=target)
        form.get_by_label("Reason").fill(reason)
        form.get_by_role("button", name="Apply").click()
        page.get_by_text(f"Case moved to “{target}”.").wait_for()
    timeline = page.locator("#timeline").inner_text()
    assert "received → acknowledged" in timeline and "Thanks, we are looking." in timeline
    assert "acknowledged → triaged_valid" in timeline and "Reproduced 4/10." in timeline
    assert page.locator("#case-state").inner_text() == "triaged valid"
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    assert dialogs == []  # no injected script ran anywhere on the way
    assert not [e for e in errors if "Content Security Policy" in e]
    context.close()
