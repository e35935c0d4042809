"""Mail that reaches people (issue 17): a vendor's members hear when their organisation is
notified of a case, with the link that opens it; people a comment is shared with hear of it
(never its author, never the text); each topic can be turned off on the settings page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from modelcvd.cases.services import case_transition, comment_add
from modelcvd.cli.server import _worker_groups
from modelcvd.notifications.models import MailPreference
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db


def _to(address: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [address]]


def test_vendor_members_are_mailed_when_notified(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    b = world.cases["b"].pk
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for to in ("acknowledged", "triaged_valid", "vendor_notified"):
            case_transition(case_id=b, actor=world.users["triager"], to=to, reason="go")
    [notice] = [m for m in _to(world.users["vendor_b"].email) if "notified" in m.subject]
    assert f"/cases/{b}/" in notice.body and "/cases/" in notice.body
    assert _to(world.users["vendor_a"].email) == []  # not vendor_a's case


def test_comments_reach_whom_they_are_shared_with(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    a = world.cases["a"].pk
    vendor, triager = world.users["vendor_a"], world.users["triager"]
    secret = "the payload works with temperature 0.7"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment_add(case_id=a, actor=triager, body=secret, visibility="vendor")
    [told] = _to(vendor.email)
    assert "new comment" in told.subject and secret not in told.body
    assert f"/cases/{a}/#comments" in told.body
    assert _to(triager.email) == []  # not its author
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment_add(case_id=a, actor=triager, body="internal note", visibility="internal")
    assert _to(vendor.email) == [] and _to(world.users["researcher_a"].email) == []
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment_add(case_id=a, actor=vendor, body="Confirmed, fixing.", visibility="vendor")
    assert len(_to(triager.email)) == 1 and _to(vendor.email) == []


def test_a_muted_topic_is_not_mailed_and_the_page_saves_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    vendor = world.users["vendor_a"]
    client = sign_in(Client(), vendor)
    page = client.get("/account/notifications/").content.decode()
    assert "A comment is shared with me on a case" in page and "checked" in page
    client.post("/account/notifications/", {"wanted": ["vendor_notices", "case_moves"]})
    assert MailPreference.objects.get(user=vendor).muted == ["comments"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        comment_add(
            case_id=world.cases["a"].pk,
            actor=world.users["triager"],
            body="Anything new?",
            visibility="vendor",
        )
    assert _to(vendor.email) == []


def test_serve_gives_verification_its_own_worker() -> None:
    assert _worker_groups("default,verification") == ["default", "verification"]
    assert _worker_groups("default") == ["default"]
    assert _worker_groups("default,verification,verification-gpu") == [
        "default",
        "verification,verification-gpu",
    ]
