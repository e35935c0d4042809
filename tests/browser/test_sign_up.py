"""A researcher signs up in a real browser, follows the e-mailed link (read from the test
mail outbox: the live server runs in this process) and signs in."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelcvd.accounts.models import User
from tests.browser.test_intake_flow import browser  # noqa: F401 - the shared chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-unusual-passphrase-42"


def test_sign_up_verify_and_sign_in(
    browser: Any,  # noqa: F811
    live_server: Any,
    mailoutbox: list[Any],
) -> None:
    base = live_server.url
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5000)
    page.goto(f"{base}/signin/")
    page.get_by_role("link", name="Sign up as a researcher").click()
    page.get_by_label("Username").fill("kestrel")
    page.get_by_label("Email").fill("kestrel@example.test")
    page.get_by_label("Pseudonym").fill("Kestrel")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("heading", name="Check your mail").wait_for()
    assert not User.objects.get(username="kestrel").is_active

    assert len(mailoutbox) == 1
    match = re.search(r"https?://[^/\s]+(/signup/verify/\S+)", mailoutbox[0].body)
    assert match
    page.goto(base + match.group(1))
    page.get_by_role("button", name="Activate my account").click()
    page.get_by_text("Your address is confirmed").wait_for()

    page.get_by_label("Username").fill("kestrel")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as kestrel").wait_for()
    context.close()
