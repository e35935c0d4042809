"""The coordinators' advisory pages: draft from a case, edit, review, publish, revise; the
same refusals as the API (422 naming the field, nothing stored), and nobody else may write."""

from __future__ import annotations

from typing import Any

from django.test import Client

from modelcvd.advisories.models import Advisory
from tests.advisories.helpers import FORM, make_advisory
from tests.factories import World, sign_in


def web(world: World, role: str) -> Client:
    return sign_in(Client(), world.users[role])


def test_a_coordinator_drafts_an_advisory_from_the_case_page(world: World) -> None:
    case_id = world.reports["a"].case_id
    triager = web(world, "triager")
    assert f"/advisories/draft/{case_id}/" in triager.get(f"/cases/{case_id}/").content.decode()
    page = triager.get(f"/advisories/draft/{case_id}/")
    assert page.status_code == 200
    assert world.reports["a"].title in page.content.decode()  # filled in from the report

    response = triager.post(f"/advisories/draft/{case_id}/", FORM)
    assert response.status_code == 302
    advisory = Advisory.objects.get(case_id=case_id)
    assert response["Location"] == f"/advisories/{advisory.advisory_id}/"
    assert advisory.state == Advisory.State.DRAFT
    assert advisory.content["aliases"] == ["CVE-2026-12345", "GHSA-2c3f-4g5h-6j7m"]
    assert advisory.content["references"] == [
        {"url": "https://example.org/writeup", "kind": "article", "label": "The write-up"},
        {"url": "https://example.org/x", "kind": "web", "label": ""},
    ]
    assert advisory.content["detection_indicators"] == [
        "role-play preamble",
        "opening with 'Sure, here is'",
    ]
    listed = triager.get(f"/cases/{case_id}/").content.decode()
    assert advisory.advisory_id in listed


def test_bad_content_is_422_naming_the_field_and_nothing_is_stored(world: World) -> None:
    case_id = world.reports["a"].case_id
    triager = web(world, "triager")
    for field, value, named in (
        ("atlas", "AML.T9999", "atlas"),
        ("references", "ftp://example.org/file", "references.0.url"),
        ("aliases", "CVE-12", "aliases"),
        ("cvss_vector", "CVSS:4.0/AV:Q", "cvss_vector"),
        ("title", "", "title"),
    ):
        response = triager.post(f"/advisories/draft/{case_id}/", {**FORM, field: value})
        assert response.status_code == 422, field
        assert f"<strong>{named}</strong>" in response.content.decode(), field
    assert not Advisory.objects.filter(case_id=case_id).exists()


def test_only_the_cases_coordinators_may_draft(world: World) -> None:
    case_id = world.reports["a"].case_id
    # The notified vendor and the reporter see the case; researcher_b does not.
    for role, status in (("vendor_a", 403), ("researcher_a", 403), ("researcher_b", 404)):
        client = web(world, role)
        assert client.get(f"/advisories/draft/{case_id}/").status_code == status, role
        assert client.post(f"/advisories/draft/{case_id}/", FORM).status_code == status, role
        assert "/advisories/draft/" not in client.get(f"/cases/{case_id}/").content.decode()
    anonymous = Client().get(f"/advisories/draft/{case_id}/")
    assert anonymous.status_code == 302 and "/signin/" in anonymous["Location"]
    assert not Advisory.objects.exists()


def test_review_publish_and_revise_through_the_page(world: World) -> None:
    advisory = make_advisory(world, publish=False)
    path = f"/advisories/{advisory.advisory_id}/"
    triager = web(world, "triager")
    page = triager.get(path).content.decode()
    assert "Send to review" in page and 'name="changelog"' in page

    def move(to: str, reason: str = "") -> Any:
        return triager.post(f"{path}transition/", {"to": to, "reason": reason})

    assert move("review").status_code == 302
    # Four eyes: the requester cannot approve nor publish alone; a second coordinator approves.
    page = triager.get(path).content.decode()
    assert "Approve for publication" not in page and "four eyes" in page
    refused = triager.post(f"{path}transition/", {"to": "published"}, follow=True)
    assert "second coordinator approves" in refused.content.decode()
    assert triager.post(f"{path}approve/").status_code == 302  # refused with a message
    advisory.refresh_from_db()
    assert advisory.approved_by is None and advisory.state == Advisory.State.REVIEW
    admin = web(world, "admin")
    assert "Approve for publication" in admin.get(path).content.decode()
    assert admin.post(f"{path}approve/", {"reason": "read it"}).status_code == 302
    assert move("published", "First publication.").status_code == 302
    advisory.refresh_from_db()
    assert advisory.state == Advisory.State.PUBLISHED
    assert "Withdraw" in triager.get(path).content.decode()

    # After publication an edit needs a changelog, and makes a revision.
    edit = {**FORM, "title": "Quokka role-play jailbreak, revised", "changelog": ""}
    refused = triager.post(f"{path}edit/", edit)
    assert refused.status_code == 422
    assert "<strong>changelog</strong>" in refused.content.decode()
    advisory.refresh_from_db()
    assert advisory.content["title"] != edit["title"]
    saved = triager.post(f"{path}edit/", {**edit, "changelog": "Clearer title."})
    assert saved.status_code == 302
    advisory.refresh_from_db()
    assert advisory.content["title"] == edit["title"]
    assert advisory.revisions.order_by("number").last().changelog == "Clearer title."

    # An illegal move is refused with a message, and changes nothing.
    follow = triager.post(f"{path}transition/", {"to": "draft"}, follow=True)
    assert "draft" in follow.content.decode()
    advisory.refresh_from_db()
    assert advisory.state == Advisory.State.PUBLISHED


def test_nobody_else_may_edit_or_move_an_advisory(world: World) -> None:
    advisory = make_advisory(world, publish=False)
    path = f"/advisories/{advisory.advisory_id}/"
    vendor = web(world, "vendor_a")  # sees the draft, may not change it
    assert vendor.get(path).status_code == 200
    assert 'name="changelog"' not in vendor.get(path).content.decode()
    assert vendor.post(f"{path}edit/", FORM).status_code == 403
    assert vendor.post(f"{path}transition/", {"to": "review"}).status_code == 403
    stranger = web(world, "researcher_b")  # does not see the draft at all
    assert stranger.post(f"{path}edit/", FORM).status_code == 404
    assert stranger.post(f"{path}transition/", {"to": "review"}).status_code == 404
    advisory.refresh_from_db()
    assert advisory.state == Advisory.State.DRAFT and advisory.content["title"] != FORM["title"]


def test_the_coordinators_section_links_back_to_the_case(world: World) -> None:
    """From the advisory a coordinator goes back to its case (the embargo, the vendors), without
    typing its address; nobody else sees which case an advisory came from."""
    advisory = make_advisory(world, publish=True)
    link = f'href="/cases/{advisory.case_id}/"'
    assert (
        link in web(world, "triager").get(f"/advisories/{advisory.advisory_id}/").content.decode()
    )
    assert link not in Client().get(f"/advisories/{advisory.advisory_id}/").content.decode()
