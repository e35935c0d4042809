"""Credits (accept / decline / listed), the hall of fame, credits_public, and the bounty ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from modelcvd.cases.services import case_transition
from modelcvd.credits.models import Bounty, Credit
from modelcvd.credits.selectors import credits_public
from tests.factories import World, sign_in
from tests.transparency import build_transparency

pytestmark = pytest.mark.django_db


def _disclose(world: World) -> None:
    case_id = world.cases["a"].pk
    case_transition(case_id=case_id, actor=world.users["triager"], to="disclosed", reason="done")


def test_credit_waits_for_the_person_and_respects_the_pseudonym(world: World, api_as: Any) -> None:
    case_id = world.cases["a"].pk
    response = api_as("triager").post(
        f"/api/v1/cases/{case_id}/credits", {"credit_type": "finder", "user": "researcher_a"}
    )
    assert response.status_code == 201
    credit = response.json()
    assert credit["status"] == "pending"
    # researcher_a's pseudonym, never the username.
    assert credit["name"] == "nightjar"
    assert credits_public(case=world.cases["a"]) == []
    answer = api_as("researcher_a").post(
        f"/api/v1/credits/{credit['id']}/respond", {"accept": True}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "accepted"
    public = credits_public(case=world.cases["a"])
    assert [(c.name, c.credit_type, c.label) for c in public] == [("nightjar", "finder", "Finder")]
    assert "researcher_a" not in str(public)
    mine = api_as("researcher_a").get("/api/v1/me/credits").json()
    assert [c["id"] for c in mine] == [credit["id"]]


def test_declined_and_unlisted_credits_stay_out_of_public_view(world: World, api_as: Any) -> None:
    case_id = world.cases["a"].pk
    grant = api_as("triager").post
    a = grant(f"/api/v1/cases/{case_id}/credits", {"credit_type": "finder", "user": "researcher_a"})
    b = grant(
        f"/api/v1/cases/{case_id}/credits", {"credit_type": "analyst", "user": "researcher_b"}
    )
    tool = grant(f"/api/v1/cases/{case_id}/credits", {"credit_type": "tool", "name": "garak"})
    assert tool.json()["status"] == "accepted"  # a tool has nobody to ask
    api_as("researcher_a").post(
        f"/api/v1/credits/{a.json()['id']}/respond", {"accept": True, "listed": False}
    )
    api_as("researcher_b").post(f"/api/v1/credits/{b.json()['id']}/respond", {"accept": False})
    assert [c.name for c in credits_public(case=world.cases["a"])] == ["garak"]
    assert Credit.objects.get(pk=b.json()["id"]).status == "declined"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"credit_type": "hero", "user": "researcher_a"}, "credit_type"),
        ({"credit_type": "finder", "user": "nobody"}, "user"),
        ({"credit_type": "finder"}, "user"),
        ({"credit_type": "finder", "name": "Jane"}, "name"),
        ({"credit_type": "tool", "user": "researcher_a", "name": "garak"}, "name"),
    ],
)
def test_bad_credit_names_the_field(world: World, api_as: Any, body: Any, field: str) -> None:
    response = api_as("triager").post(f"/api/v1/cases/{world.cases['a'].pk}/credits", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_same_credit_twice_is_a_conflict(world: World, api_as: Any) -> None:
    url = f"/api/v1/cases/{world.cases['a'].pk}/credits"
    body = {"credit_type": "finder", "user": "researcher_a"}
    assert api_as("triager").post(url, body).status_code == 201
    assert api_as("triager").post(url, body).status_code == 409


def test_hall_of_fame_lists_disclosed_cases_only(world: World, api_as: Any) -> None:
    t = build_transparency(world)
    api_as("researcher_a").post(f"/api/v1/credits/{t.credit.pk}/respond", {"accept": True})
    url = "/api/v1/programs/open-models/hall-of-fame"
    assert api_as("anonymous").get(url).json() == []  # case A is not disclosed yet
    case_transition(
        case_id=world.cases["a"].pk, actor=world.users["triager"], to="remediating", reason="r"
    )
    _disclose(world)
    entries = api_as("anonymous").get(url).json()
    assert [(e["name"], e["credits"], e["types"]) for e in entries] == [("nightjar", 1, ["Finder"])]
    page = Client().get("/programs/open-models/hall-of-fame/").content.decode()
    assert "nightjar" in page and "researcher_a" not in page
    # Opting out afterwards removes them.
    api_as("researcher_a").post(
        f"/api/v1/credits/{t.credit.pk}/respond", {"accept": True, "listed": False}
    )
    assert api_as("anonymous").get(url).json() == []
    assert api_as("anonymous").get("/api/v1/programs/nope/hall-of-fame").status_code == 404


def test_web_credit_answer(world: World) -> None:
    t = build_transparency(world)
    client = sign_in(Client(), world.users["researcher_a"])
    page = client.get("/credits/").content.decode()
    assert "Finder" in page and "1500.00 EUR" in page
    client.get("/signin/")
    token = client.cookies["csrftoken"].value
    client.post(
        f"/credits/{t.credit.pk}/respond/", {"answer": "unlisted", "csrfmiddlewaretoken": token}
    )
    credit = Credit.objects.get(pk=t.credit.pk)
    assert (credit.status, credit.listed) == ("accepted", False)


def test_bounty_is_exact_and_private(world: World, api_as: Any) -> None:
    case_id = world.cases["a"].pk
    response = api_as("triager").post(
        f"/api/v1/cases/{case_id}/bounties",
        {"researcher": "researcher_a", "amount": "1234.50", "currency": "eur", "note": "thanks"},
    )
    assert response.status_code == 201, response.content
    bounty = response.json()
    assert (bounty["amount"], bounty["currency"]) == ("1234.50", "EUR")
    assert Bounty.objects.get(pk=bounty["id"]).amount == Decimal("1234.50")
    url = f"/api/v1/bounties/{bounty['id']}"
    assert api_as("researcher_a").get(url).status_code == 200
    assert api_as("triager").get(url).status_code == 200
    missing = api_as("vendor_a").get("/api/v1/bounties/99999")
    for role in ("vendor_a", "researcher_b", "defender", "assessor"):
        r = api_as(role).get(url)
        assert r.status_code == 404 and r.content == missing.content, role
    # The case's vendor sees the case but not its bounties.
    assert api_as("vendor_a").get(f"/api/v1/cases/{case_id}").status_code == 200
    assert api_as("vendor_a").get(f"/api/v1/cases/{case_id}/bounties").status_code == 404
    listed = api_as("researcher_a").get(f"/api/v1/cases/{case_id}/bounties").json()
    assert [b["id"] for b in listed] == [bounty["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "EURO"}, "currency"),
        ({"currency": "ABC"}, "currency"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"researcher": "nobody"}, "researcher"),
    ],
)
def test_bad_bounty_names_the_field(world: World, api_as: Any, change: Any, field: str) -> None:
    body = {"researcher": "researcher_a", "amount": "10.00", "currency": "USD", **change}
    response = api_as("triager").post(f"/api/v1/cases/{world.cases['a'].pk}/bounties", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field, response.json()


def test_bounty_status_and_donation(world: World, api_as: Any) -> None:
    t = build_transparency(world)
    url = f"/api/v1/bounties/{t.bounty.pk}"
    donation = api_as("researcher_a").post(f"{url}/donation", {"donate": True, "charity": ""})
    assert donation.json()["errors"][0]["field"] == "charity"
    donation = api_as("researcher_a").post(
        f"{url}/donation", {"donate": True, "charity": "Open Source Security Foundation"}
    )
    assert donation.status_code == 200 and donation.json()["donate"] is True
    assert api_as("triager").post(f"{url}/status", {"status": "paid"}).status_code == 409
    assert api_as("triager").post(f"{url}/status", {"status": "approved"}).status_code == 200
    assert api_as("triager").post(f"{url}/status", {"status": "paid"}).json()["status"] == "paid"
    late = api_as("researcher_a").post(f"{url}/donation", {"donate": False})
    assert late.status_code == 409
    bad = api_as("triager").post(f"{url}/status", {"status": "lost"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
