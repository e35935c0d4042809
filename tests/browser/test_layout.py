"""No page is wider than the window (issue 17): every HTML page of the permission matrix, opened
in a real browser at 1280 px (a laptop) and 390 px (a phone), by the most entitled role that
may open it, scrolls only vertically. Wide tables scroll inside their own box (.table-scroll);
the page itself never does."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.browser.test_intake_flow import browser  # noqa: F401 - the shared browser fixture
from tests.factories import build_world, sign_in
from tests.security.test_permission_matrix import WEB, _fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390)
# Who opens a page: the first of these the matrix lets in (the richest page first).
PREFERENCE = ("admin", "triager", "vendor_a", "researcher_a", "defender", "assessor", "anonymous")
# How far a page may overflow, in CSS pixels: sub-pixel rounding only.
SLACK = 1


def _pages() -> dict[str, str]:
    """route -> role, for every GET route some role may open (status 200)."""
    pages = {}
    for (method, route), statuses in WEB.items():
        if method != "GET":
            continue
        role = next((r for r in PREFERENCE if statuses.get(r) == 200), None)
        if role is not None:
            pages[route] = role
    return pages


def test_no_page_is_wider_than_the_window(browser: Any, live_server: Any) -> None:  # noqa: F811
    world = build_world()
    pages = _pages()
    cookies: dict[str, list[dict[str, Any]]] = {}
    for role in set(pages.values()) - {"anonymous"}:
        client = sign_in(Client(), world.users[role])
        session = client.cookies["sessionid"].value
        cookies[role] = [{"name": "sessionid", "value": session, "url": live_server.url}]
    too_wide: list[str] = []
    checked = 0
    for width in WIDTHS:
        contexts = {}
        for role in set(pages.values()):
            context = browser.new_context(viewport={"width": width, "height": 900})
            if role in cookies:
                context.add_cookies(cookies[role])
            contexts[role] = context.new_page()
        for route, role in sorted(pages.items()):
            path = "/" + _fill(route, world)
            page = contexts[role]
            head = page.context.request.get(f"{live_server.url}{path}")
            if not head.headers.get("content-type", "").startswith("text/html"):
                continue  # a download, a feed, a JSON document: not a page
            page.goto(f"{live_server.url}{path}")
            checked += 1
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            if overflow > SLACK:
                wide = page.evaluate(
                    """() => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                        .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '')
                        + (e.className ? '.' + e.className : ''))"""
                )
                too_wide.append(f"{path} as {role} at {width}px: +{overflow}px ({wide})")
        for page in contexts.values():
            page.context.close()
    assert checked >= 2 * 25, f"only {checked} pages checked"
    assert not too_wide, "\n".join(too_wide)
