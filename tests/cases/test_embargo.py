"""Embargo: proposed -> active (every vendor agreed) -> revised -> exited, or expiry at the
public date by the beat task; each step on the timeline and the audit chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from modelcvd.cases.models import Case, Embargo, TimelineEvent
from modelcvd.cases.services import case_transition
from modelcvd.cases.tasks import expire_embargoes
from modelcvd.core.models import AuditEvent
from modelcvd.reports.services import report_submit
from tests.factories import World, document, sign_in


@pytest.fixture
def two_vendor_case(world: World) -> Case:
    report = report_submit(
        actor=world.users["researcher_a"],
        document=document(
            title="Transferable jailbreak",
            artifacts=[
                {"provider": "vendor-a", "name": "chat-7b", "revision": "a" * 40},
                {"provider": "vendor-b", "name": "assistant", "revision": "b" * 40},
            ],
        ),
    )
    for to in ("acknowledged", "triaged_valid", "vendor_notified"):
        case_transition(case_id=report.case_id, actor=world.users["triager"], to=to, reason="t")
    return Case.objects.get(pk=report.case_id)


def _embargo(api: Any, case: Case, **body: Any) -> Any:
    return api.post(f"/api/v1/cases/{case.pk}/embargo", body)


def test_multi_vendor_embargo_needs_every_vendor(
    world: World, api_as: Any, two_vendor_case: Case
) -> None:
    case = two_vendor_case
    date = (timezone.now() + timedelta(days=30)).isoformat()
    proposed = _embargo(api_as("triager"), case, action="propose", public_date=date, reason="90d")
    assert proposed.status_code == 200, proposed.content
    embargo = proposed.json()["embargo"]
    assert embargo["state"] == "proposed"
    assert embargo["vendors"] == ["vendor-a", "vendor-b"] and embargo["agreed"] == []
    after_a = _embargo(api_as("vendor_a"), case, action="agree").json()["embargo"]
    assert after_a["state"] == "proposed" and after_a["agreed"] == ["vendor-a"]
    after_b = _embargo(api_as("vendor_b"), case, action="agree").json()["embargo"]
    assert after_b["state"] == "active" and after_b["agreed"] == ["vendor-a", "vendor-b"]

    later = (timezone.now() + timedelta(days=45)).isoformat()
    revised = _embargo(api_as("triager"), case, action="revise", public_date=later, reason="slip")
    assert revised.json()["embargo"]["state"] == "revised"
    exited = _embargo(api_as("triager"), case, action="exit", reason="fix shipped")
    body = exited.json()["embargo"]
    assert body["state"] == "exited" and body["exit_reason"] == "fix shipped"

    reasons = [e.reason for e in TimelineEvent.objects.filter(case=case, kind="embargo")]
    assert [r.split(" (")[0] for r in reasons] == [
        "embargo proposed",
        "embargo agreed",
        "embargo agreed",
        "embargo activated",
        "embargo revised",
        "embargo exited",
    ]
    actions = set(
        AuditEvent.objects.filter(action__startswith="embargo.").values_list("action", flat=True)
    )
    assert actions == {
        "embargo.proposed",
        "embargo.agreed",
        "embargo.activated",
        "embargo.revised",
        "embargo.exited",
    }


def test_unagreed_proposal_expires_at_its_date(
    world: World, api_as: Any, two_vendor_case: Case
) -> None:
    case = two_vendor_case
    date = (timezone.now() + timedelta(days=30)).isoformat()
    _embargo(api_as("triager"), case, action="propose", public_date=date)
    _embargo(api_as("vendor_a"), case, action="agree")
    assert expire_embargoes.delay().get() == 0  # not yet
    Embargo.objects.filter(case=case).update(public_date=timezone.now() - timedelta(seconds=1))
    assert expire_embargoes.delay().get() == 1
    embargo = Embargo.objects.get(case=case)
    assert embargo.state == "exited"
    assert embargo.exit_reason == "expired at its public date without every vendor's agreement"
    assert expire_embargoes.delay().get() == 0  # exits once


def test_bad_embargo_input_and_parties(world: World, api_as: Any, two_vendor_case: Case) -> None:
    case = two_vendor_case
    past = _embargo(
        api_as("triager"),
        case,
        action="propose",
        public_date=(timezone.now() - timedelta(days=1)).isoformat(),
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "public_date"
    missing = _embargo(api_as("triager"), case, action="propose")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "public_date"
    unknown = _embargo(api_as("triager"), case, action="extend")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "action"
    assert _embargo(api_as("researcher_a"), case, action="exit", reason="x").status_code == 403
    assert _embargo(api_as("vendor_a"), case, action="agree").status_code == 404  # none yet
    assert _embargo(api_as("defender"), case, action="agree").status_code == 404


def test_vendor_agrees_on_the_case_page(world: World, api_as: Any) -> None:
    case = world.cases["a"]  # one vendor: its agreement activates the embargo
    date = (timezone.now() + timedelta(days=10)).isoformat()
    _embargo(api_as("triager"), case, action="propose", public_date=date)
    client = sign_in(Client(), world.users["vendor_a"])
    response = client.post(f"/cases/{case.pk}/embargo/", {"action": "agree"})
    assert response.status_code == 302
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Embargo <strong>active</strong>" in page


def test_the_page_form_takes_a_date_to_the_second(world: World) -> None:
    """A coordinator may give seconds (as ISO dates have them): an embargo that must end soon,
    as the browser walk's does, need not wait for the next whole minute."""
    case = world.cases["a"]
    client = sign_in(Client(), world.users["triager"])
    date = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    for action in ("propose", "revise"):
        response = client.post(
            f"/cases/{case.pk}/embargo/",
            {
                "action": action,
                "public_date": date.strftime("%Y-%m-%d %H:%M:%S"),
                "reason": "the vendor ships then",
            },
        )
        assert response.status_code == 302
        assert Embargo.objects.get(case=case).public_date == date
        date += timedelta(seconds=7)


def test_a_revised_embargo_reads_in_force_with_its_seconds(world: World, api_as: Any) -> None:
    """After a revision the vendors' agreements were to the old date: the page said "agreed
    none yet" of an embargo still in force, and hid the seconds of the new date (the walk)."""
    case = world.cases["a"]
    date = (timezone.now() + timedelta(days=10)).isoformat()
    _embargo(api_as("triager"), case, action="propose", public_date=date)
    _embargo(api_as("vendor_a"), case, action="agree")
    soon = (timezone.now() + timedelta(days=2)).replace(second=30, microsecond=0)
    revised = _embargo(
        api_as("triager"), case, action="revise", public_date=soon.isoformat(), reason="sooner"
    )
    assert revised.status_code == 200, revised.content
    page = sign_in(Client(), world.users["triager"]).get(f"/cases/{case.pk}/").content.decode()
    assert "Embargo <strong>revised</strong>" in page
    assert soon.strftime("%Y-%m-%d %H:%M:30") in page
    assert "in force at the revised date; agreed to it: no vendor yet" in page
