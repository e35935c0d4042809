"""The case inbox at /cases/ (issue 17): each role finds exactly its cases, filters narrow the
list, a case with activity since the reader last opened it is marked new, and the navigation
shows only what the role can use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from modelcvd.cases.models import Case
from modelcvd.cases.services import comment_add, embargo_propose
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db


def _listed(client: Client, query: str = "") -> set[int]:
    page = client.get(f"/cases/{query}")
    assert page.status_code == 200
    return {int(n) for n in re.findall(r'href="/cases/(\d+)/"', page.content.decode())}


def test_each_role_sees_its_cases(world: World) -> None:
    a, b = world.cases["a"].pk, world.cases["b"].pk
    assert _listed(sign_in(Client(), world.users["triager"])) == {a, b}
    assert _listed(sign_in(Client(), world.users["vendor_a"])) == {a}  # notified of a only
    assert _listed(sign_in(Client(), world.users["vendor_b"])) == set()  # b not notified yet
    assert _listed(sign_in(Client(), world.users["researcher_a"])) == {a}
    assert _listed(sign_in(Client(), world.users["researcher_b"])) == {b}
    assert _listed(sign_in(Client(), world.users["defender"])) == set()
    assert Client().get("/cases/").status_code == 302  # sign in first


def test_filters(world: World) -> None:
    a, b = world.cases["a"].pk, world.cases["b"].pk
    triager = sign_in(Client(), world.users["triager"])
    assert _listed(triager, "?state=vendor_notified") == {a}
    assert _listed(triager, "?state=received") == {b}
    assert _listed(triager, "?artifact=assistant") == {b}
    assert _listed(triager, "?embargoed=on") == set()
    embargo_propose(
        case_id=a,
        actor=world.users["triager"],
        public_date=timezone.now() + timedelta(days=40),
        reason="time to fix",
    )
    page = triager.get("/cases/?embargoed=on").content.decode()
    assert f'href="/cases/{a}/"' in page and "UTC" in page
    Case.objects.filter(pk=b).update(acknowledge_due=timezone.now() + timedelta(days=2))
    Case.objects.filter(pk=a).update(
        acknowledge_due=None, triage_due=None, remediate_due=timezone.now() + timedelta(days=60)
    )
    assert _listed(triager, "?due_soon=on") == {b}
    assert _listed(triager, "?program=open-models") == {a, b}
    assert triager.get("/cases/?state=nonsense").status_code == 200  # an invalid filter: none


def test_unread_marks(world: World) -> None:
    a = world.cases["a"].pk
    vendor = sign_in(Client(), world.users["vendor_a"])
    assert _listed(vendor, "?unread=on") == {a}  # never opened
    vendor.get(f"/cases/{a}/")
    assert _listed(vendor, "?unread=on") == set()
    comment_add(
        case_id=a, actor=world.users["triager"], body="Please confirm.", visibility="vendor"
    )
    assert _listed(vendor, "?unread=on") == {a}
    assert 'class="badge"' in vendor.get("/cases/").content.decode()


def test_navigation_follows_the_role(world: World) -> None:
    vendor = sign_in(Client(), world.users["vendor_a"]).get("/cases/").content.decode()
    assert ">Cases<" in vendor
    assert "Triage queue" not in vendor and "My credits" not in vendor
    triager = sign_in(Client(), world.users["triager"]).get("/cases/").content.decode()
    assert "Triage queue" in triager and ">Cases<" in triager
    researcher = sign_in(Client(), world.users["researcher_a"]).get("/cases/").content.decode()
    assert "My reports" in researcher and "Triage queue" not in researcher
    for page in (vendor, triager, researcher):
        assert "API tokens" in page  # the account menu
