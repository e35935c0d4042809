"""The registry's artifact filter is no existence oracle (issue 15, defect 7).

`GET /api/v1/advisories?artifact=provider/name` answered 200 for an artifact hidden from the
caller (named only by an unvetted report) and 422 for one that does not exist, so anyone could
learn which unreleased models had been reported. Both now answer alike, by the artifact
access rule (artifacts/access.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from modelcvd.artifacts.models import Artifact
from modelcvd.reports.services import report_submit
from tests.factories import World, document, sign_in

HIDDEN = "vendor-a/unreleased-13b"
UNKNOWN = "vendor-a/no-such-model"


@pytest.fixture
def hidden(world: World) -> Artifact:
    """An artifact first named by a report, in the scope of no program."""
    provider, name = HIDDEN.split("/")
    report_submit(
        actor=world.users["researcher_b"],
        document=document(
            title="Unreleased model jailbreak",
            artifacts=[{"provider": provider, "name": name, "revision": "c" * 40}],
        ),
    )
    artifact = Artifact.objects.get(provider=provider, name=name)
    assert not artifact.programs.exists()
    return artifact


@pytest.mark.parametrize("role", ["anonymous", "researcher_a", "vendor_b", "defender"])
def test_hidden_and_unknown_artifacts_answer_alike_in_the_api(
    hidden: Artifact, api_as: Any, role: str
) -> None:
    api = api_as(role)
    answers = [api.get(f"/api/v1/advisories?artifact={name}") for name in (HIDDEN, UNKNOWN)]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["errors"] == [
        {"field": "artifact", "reason": "no artifact with this provider/name"}
    ]


@pytest.mark.parametrize("role", ["anonymous", "researcher_a", "vendor_b"])
def test_hidden_and_unknown_artifacts_answer_alike_on_the_registry_page(
    hidden: Artifact, world: World, role: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    if role != "anonymous":
        sign_in(client, world.users[role])
    pages = [client.get("/advisories/", {"artifact": name}) for name in (HIDDEN, UNKNOWN)]
    assert [p.status_code for p in pages] == [422, 422]
    texts = [
        p.content.decode().replace(name, "NAME")
        for p, name in zip(pages, (HIDDEN, UNKNOWN), strict=True)
    ]
    strip = lambda t: t.split('name="csrfmiddlewaretoken"')[0]  # noqa: E731
    assert strip(texts[0]) == strip(texts[1])


def test_visible_artifacts_still_filter(hidden: Artifact, world: World, api_as: Any) -> None:
    # In some program's scope: known to everyone (the filter then simply matches nothing yet).
    response = api_as("anonymous").get("/api/v1/advisories?artifact=vendor-a/chat-7b")
    assert response.status_code == 200
    # The triager coordinating the case that names the hidden artifact may filter by it.
    response = api_as("triager").get(f"/api/v1/advisories?artifact={HIDDEN}")
    assert response.status_code == 200
