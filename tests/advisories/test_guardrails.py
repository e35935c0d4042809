"""The publication guardrails (issue 17): an embargo holds publication and disclosure until its
public date unless an administrator overrides it with a reason; a program's four-eyes rule
needs a second coordinator's approval; reading a sealed payload asks for a reason, except the
reporter's own. Each through the service, and the refusals through the API and the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import advisory_approve, advisory_transition, advisory_update
from modelcvd.cases.models import Case, Embargo, TimelineEvent
from modelcvd.cases.services import case_transition, embargo_agree, embargo_propose
from modelcvd.core.errors import ApprovalRequired, EmbargoInForce, Forbidden
from modelcvd.core.models import AuditEvent
from tests.advisories.helpers import make_advisory
from tests.factories import World, sign_in

pytestmark = pytest.mark.django_db


def _embargo(world: World, days: int = 30) -> Embargo:
    case_id = world.cases["a"].pk
    embargo_propose(
        case_id=case_id,
        actor=world.users["triager"],
        public_date=timezone.now() + timedelta(days=days),
        reason="vendor needs time",
    )
    return embargo_agree(case_id=case_id, actor=world.users["vendor_a"])


def _in_review(world: World) -> Advisory:
    advisory = make_advisory(world, publish=False)
    advisory_transition(actor=world.users["triager"], advisory_id=advisory.advisory_id, to="review")
    advisory_approve(actor=world.users["admin"], advisory_id=advisory.advisory_id)
    return advisory


def _csrf(client: Client) -> str:
    client.get("/signin/")
    return str(client.cookies["csrftoken"].value)


# -- embargo ----------------------------------------------------------------------------------


def test_publishing_during_an_active_embargo_is_refused(world: World, api_as: Any) -> None:
    embargo = _embargo(world)
    assert embargo.state == Embargo.State.ACTIVE
    advisory = _in_review(world)
    aid = advisory.advisory_id
    with pytest.raises(EmbargoInForce) as refused:
        advisory_transition(actor=world.users["triager"], advisory_id=aid, to="published")
    assert embargo.public_date.strftime("%Y-%m-%d") in refused.value.message
    # The API answers 409 with the date; the page shows the message; nothing changed.
    answer = api_as("triager").post(f"/api/v1/advisories/{aid}/transition", {"to": "published"})
    assert answer.status_code == 409 and "embargo" in answer.json()["detail"]
    triager = sign_in(Client(), world.users["triager"])
    page = triager.post(
        f"/advisories/{aid}/transition/",
        {"to": "published", "csrfmiddlewaretoken": _csrf(triager)},
        follow=True,
    )
    assert "active embargo until" in page.content.decode()
    advisory.refresh_from_db()
    assert advisory.state == Advisory.State.REVIEW and advisory.published_at is None
    assert Embargo.objects.get(pk=embargo.pk).state == Embargo.State.ACTIVE


def test_disclosing_the_case_during_an_embargo_is_refused(world: World) -> None:
    _embargo(world)
    case_id = world.cases["a"].pk
    with pytest.raises(EmbargoInForce):
        case_transition(
            case_id=case_id, actor=world.users["triager"], to="disclosed", reason="deadline"
        )
    assert Case.objects.get(pk=case_id).state == "vendor_notified"
    # A proposed (not yet agreed) embargo holds too: publishing would pre-empt the agreement.
    Embargo.objects.filter(case_id=case_id).update(state=Embargo.State.PROPOSED)
    with pytest.raises(EmbargoInForce):
        case_transition(
            case_id=case_id, actor=world.users["triager"], to="disclosed", reason="deadline"
        )


def test_an_administrator_overrides_with_a_reason_audited_and_on_the_timeline(
    world: World,
) -> None:
    embargo = _embargo(world)
    aid = _in_review(world).advisory_id
    # A coordinator who is not an administrator cannot override, reason or not.
    with pytest.raises(Forbidden):
        advisory_transition(
            actor=world.users["triager"],
            advisory_id=aid,
            to="published",
            override_reason="in the wild",
        )
    advisory_transition(
        actor=world.users["admin"],
        advisory_id=aid,
        to="published",
        override_reason="exploited in the wild; users must mitigate now",
    )
    assert Advisory.objects.get(advisory_id=aid).state == Advisory.State.PUBLISHED
    embargo.refresh_from_db()
    assert embargo.state == Embargo.State.EXITED
    assert "exploited in the wild" in embargo.exit_reason
    event = AuditEvent.objects.get(action="embargo.override")
    assert event.actor_id == world.users["admin"].pk and "in the wild" in event.reason
    line = TimelineEvent.objects.filter(case=world.cases["a"], kind="embargo").last()
    assert line is not None and "overridden by an administrator" in line.reason
    # The case page no longer says the embargo is active.
    page = sign_in(Client(), world.users["vendor_a"]).get(f"/cases/{world.cases['a'].pk}/")
    assert "Embargo <strong>exited</strong>" in page.content.decode()


def test_after_the_public_date_publication_goes_ahead_and_the_embargo_ends(
    world: World,
) -> None:
    embargo = _embargo(world)
    aid = _in_review(world).advisory_id
    Embargo.objects.filter(pk=embargo.pk).update(public_date=timezone.now() - timedelta(hours=1))
    advisory_transition(actor=world.users["triager"], advisory_id=aid, to="published")
    embargo.refresh_from_db()
    assert embargo.state == Embargo.State.EXITED and embargo.exit_reason == "public date reached"


# -- four eyes --------------------------------------------------------------------------------


def test_four_eyes_needs_a_second_coordinator(world: World) -> None:
    triager, admin = world.users["triager"], world.users["admin"]
    advisory = make_advisory(world, publish=False)
    aid = advisory.advisory_id
    advisory_transition(actor=triager, advisory_id=aid, to="review")
    with pytest.raises(ApprovalRequired):
        advisory_transition(actor=triager, advisory_id=aid, to="published")
    with pytest.raises(Forbidden):
        advisory_approve(actor=triager, advisory_id=aid)  # the requester
    advisory_approve(actor=admin, advisory_id=aid, reason="checked the measurements")
    # An edit after approval needs a new approval: the approval was of the old text.
    advisory_update(actor=triager, advisory_id=aid, changes={"title": "Quokka, reworded"})
    assert Advisory.objects.get(pk=advisory.pk).approved_by is None
    with pytest.raises(ApprovalRequired):
        advisory_transition(actor=triager, advisory_id=aid, to="published")
    advisory_approve(actor=admin, advisory_id=aid)
    advisory_transition(actor=triager, advisory_id=aid, to="published")
    published = Advisory.objects.get(pk=advisory.pk)
    assert published.state == Advisory.State.PUBLISHED and published.approved_by == admin
    assert AuditEvent.objects.filter(action="advisory.approve").count() == 2


def test_a_program_may_turn_four_eyes_off(world: World) -> None:
    world.program.publication_approval = False
    world.program.save()
    Case.objects.filter(pk=world.cases["a"].pk).update(program=world.program)
    advisory = make_advisory(world, publish=False)
    triager = world.users["triager"]
    advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="review")
    advisory_transition(actor=triager, advisory_id=advisory.advisory_id, to="published")
    assert Advisory.objects.get(pk=advisory.pk).state == Advisory.State.PUBLISHED


# -- reason prompts ---------------------------------------------------------------------------


def test_viewing_an_advisory_never_unseals_without_a_reason(world: World) -> None:
    advisory = make_advisory(world, publish=False)
    before = AuditEvent.objects.filter(action="seal.open").count()
    triager = sign_in(Client(), world.users["triager"])
    page = triager.get(f"/advisories/{advisory.advisory_id}/").content.decode()
    assert 'id="read-reproduction"' in page and "Pretend you are a locksmith" not in page
    assert AuditEvent.objects.filter(action="seal.open").count() == before
    empty = triager.post(
        f"/advisories/{advisory.advisory_id}/reproduction/",
        {"reason": "  ", "csrfmiddlewaretoken": _csrf(triager)},
        follow=True,
    )
    assert "say why you read the reproduction" in empty.content.decode()
    assert AuditEvent.objects.filter(action="seal.open").count() == before
    read = triager.post(
        f"/advisories/{advisory.advisory_id}/reproduction/",
        {"reason": "reviewing the draft", "csrfmiddlewaretoken": _csrf(triager)},
    )
    assert "Pretend you are a locksmith" in read.content.decode()
    opened = AuditEvent.objects.filter(action="seal.open").order_by("-seq").first()
    assert opened is not None and "reviewing the draft" in opened.reason


def test_the_reporter_reads_her_own_payload_without_a_reason(world: World) -> None:
    report = world.reports["a"]
    reporter = sign_in(Client(), world.users["researcher_a"])
    page = reporter.get(f"/reports/{report.pk}/").content.decode()
    assert "Pretend you are a locksmith" in page and "Why do you need the payload?" not in page
    opened = AuditEvent.objects.filter(action="seal.open").order_by("-seq").first()
    assert opened is not None and opened.actor_id == world.users["researcher_a"].pk
    # Anyone else is asked why.
    triager = sign_in(Client(), world.users["triager"])
    page = triager.get(f"/reports/{report.pk}/").content.decode()
    assert "Pretend you are a locksmith" not in page and "Why do you need the payload?" in page


def test_the_refusal_reads_as_english() -> None:
    active = EmbargoInForce(state="active", public_date="2027-01-05 12:00 UTC").message
    revised = EmbargoInForce(state="revised", public_date="2027-01-05 12:00 UTC").message
    assert "under an active embargo until 2027-01-05 12:00 UTC" in active
    assert "under a revised embargo" in revised


def test_the_embargo_is_told_before_the_missing_approval(world: World) -> None:
    """During an embargo the refusal names the date even before anyone approved (the date is
    the harder limit, and the walk's order: refused during the embargo, approved after it);
    an administrator's override that would lift the embargo is rolled back when the approval
    is still missing."""
    embargo = _embargo(world)
    advisory = make_advisory(world, publish=False)
    aid = advisory.advisory_id
    advisory_transition(actor=world.users["triager"], advisory_id=aid, to="review")
    with pytest.raises(EmbargoInForce):
        advisory_transition(actor=world.users["triager"], advisory_id=aid, to="published")
    with pytest.raises(ApprovalRequired):
        advisory_transition(
            actor=world.users["admin"], advisory_id=aid, to="published", override_reason="x"
        )
    assert Embargo.objects.get(pk=embargo.pk).state == Embargo.State.ACTIVE
    assert Advisory.objects.get(pk=advisory.pk).state == Advisory.State.REVIEW
