"""Issue 15.5, the attacks as they were reproduced: a token scoped `submit` (a reporter's
scope) proposed and exited embargoes, posted internal and vendor comments, and read whole
cases through the answers of POSTs; a token without `read` listed hidden artifacts. Each is
tried here through the full stack with the tokens of the people who could do it before, and
each is refused now (403 naming the scope), with nothing written.
"""

from __future__ import annotations

from typing import Any

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Comment, DeadlineExtension, Embargo
from tests.conftest import ApiClient
from tests.factories import World

FUTURE = "2099-01-01T00:00:00Z"


def _case(world: World) -> str:
    return f"/api/v1/cases/{world.cases['a'].pk}"


def test_a_submit_token_neither_proposes_nor_exits_an_embargo(world: World, api_as: Any) -> None:
    submit_only: ApiClient = api_as("triager", scopes=("submit",))
    propose = {"action": "propose", "public_date": FUTURE, "reason": "attack"}
    refused = submit_only.post(f"{_case(world)}/embargo", propose)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this token lacks the 'read' and 'triage' scopes"}
    assert not Embargo.objects.filter(case=world.cases["a"]).exists()

    # The coordinators' own token proposes it; the submit token cannot end it either.
    assert api_as("triager").post(f"{_case(world)}/embargo", propose).status_code == 200
    exit_ = submit_only.post(f"{_case(world)}/embargo", {"action": "exit", "reason": "attack"})
    assert exit_.status_code == 403
    assert Embargo.objects.get(case=world.cases["a"]).state == Embargo.State.PROPOSED


def test_a_submit_token_posts_no_internal_or_vendor_comment(world: World, api_as: Any) -> None:
    before = Comment.objects.count()
    for role, visibility in (
        ("triager", "internal"),
        ("triager", "vendor"),
        ("admin", "internal"),
        ("vendor_a", "vendor"),
    ):
        response = api_as(role, scopes=("submit",)).post(
            f"{_case(world)}/comments", {"body": "attack", "visibility": visibility}
        )
        assert response.status_code == 403, (role, visibility)
        assert response.json() == {
            "detail": f"this token lacks the 'triage' scope ({visibility} comments)"
        }
    assert Comment.objects.count() == before
    # What `submit` is for still works: the reporter writes in their own channel.
    own = api_as("researcher_a", scopes=("submit",)).post(
        f"{_case(world)}/comments", {"body": "more detail", "visibility": "reporter"}
    )
    assert own.status_code == 201 and Comment.objects.count() == before + 1
    # And a triage token writes in the coordinators' and the vendors' channels.
    internal = api_as("triager", scopes=("triage",)).post(
        f"{_case(world)}/comments", {"body": "note", "visibility": "internal"}
    )
    assert internal.status_code == 201


def test_no_post_answers_with_the_case_to_a_token_without_read(world: World, api_as: Any) -> None:
    extension = {"deadline": "triage", "days": 5, "reason": "attack"}
    # The reporter's submit token asked for an extension and got the whole case back.
    asked = api_as("researcher_a", scopes=("submit",)).post(f"{_case(world)}/extensions", extension)
    assert asked.status_code == 403
    assert asked.json() == {"detail": "this token lacks the 'read' scope"}
    assert not DeadlineExtension.objects.filter(case=world.cases["a"]).exists()
    # A triage-only token moved a case (or set waiting) and read the case in the answer.
    triage_only = api_as("triager", scopes=("triage",))
    for url, body in (
        ("transition", {"to": "remediating", "reason": "attack"}),
        ("waiting", {"waiting": True, "reason": "attack"}),
        ("embargo", {"action": "propose", "public_date": FUTURE, "reason": "attack"}),
        ("extensions", extension),
        ("merge", {"source_case_id": world.cases["b"].pk, "reason": "attack"}),
    ):
        response = triage_only.post(f"{_case(world)}/{url}", body)
        assert response.status_code == 403, url
        assert b"timeline" not in response.content
    world.cases["a"].refresh_from_db()
    assert world.cases["a"].state == "vendor_notified"
    assert world.cases["a"].waiting_on_reporter_since is None
    # With `read` as well, the same token does its work and reads the answer.
    both = api_as("triager", scopes=("triage", "read"))
    moved = both.post(f"{_case(world)}/transition", {"to": "remediating", "reason": "fix"})
    assert moved.status_code == 200 and moved.json()["state"] == "remediating"


def test_a_token_without_read_lists_artifacts_as_the_public(world: World, api_as: Any) -> None:
    # Registered by no program and named by no case: a triager sees it, the public does not.
    hidden = Artifact.objects.create(provider="lab", name="unreleased", revision="1")
    anonymous = {a["id"] for a in api_as("anonymous").get("/api/v1/artifacts").json()}
    reader = {a["id"] for a in api_as("triager", scopes=("read",)).get("/api/v1/artifacts").json()}
    writer = api_as("triager", scopes=("submit", "triage", "admin"))
    assert hidden.pk in reader and hidden.pk not in anonymous
    assert {a["id"] for a in writer.get("/api/v1/artifacts").json()} == anonymous
    assert writer.get(f"/api/v1/artifacts/{hidden.pk}").status_code == 404
