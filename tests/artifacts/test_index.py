"""The artifacts index (/artifacts/): each visitor sees the artifacts artifacts/access.py lets
them see, and a filter never reveals one they may not (issue 17: the page was a 404)."""

from __future__ import annotations

import pytest
from django.test import Client

from modelcvd.artifacts import views
from modelcvd.artifacts.models import Artifact
from tests.factories import World, sign_in

HIDDEN = "secret-13b"


def _page(world: World, role: str, query: str = "") -> tuple[int, str]:
    client = Client(enforce_csrf_checks=True)
    if role != "anonymous":
        sign_in(client, world.users[role])
    response = client.get(f"/artifacts/{query}")
    return response.status_code, response.content.decode()


def _rows(html: str) -> str:
    """The table's body: the filter form echoes what was asked."""
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def _main(html: str) -> str:
    """The page's own content (the header's sign-out form carries a fresh CSRF token)."""
    return html.split('<main id="main">', 1)[1]


@pytest.fixture
def hidden(world: World) -> Artifact:
    """Vendor A's model that no program puts in scope and no case names: unvetted, so only
    the coordinators see it."""
    return Artifact.objects.create(
        provider="vendor-a", name=HIDDEN, revision="c" * 40, vendor=world.orgs["vendor_a"]
    )


def test_the_index_lists_the_public_artifacts_with_their_columns(world: World) -> None:
    status, html = _page(world, "anonymous")
    assert status == 200
    assert "<h1>Artifacts</h1>" in html
    for header in ("Provider", "Name", "Version", "Revision", "Vendor", "Lineage"):
        assert f"<th>{header}</th>" in html
    for artifact in world.artifacts.values():
        assert f'href="/artifacts/{artifact.pk}/lineage/"' in html
    assert "Vendor A" in html and "Vendor B" in html and "chat-7b" in html
    assert "2 artifacts." in html


@pytest.mark.parametrize(
    ("role", "listed"),
    [
        ("anonymous", False),
        ("researcher_a", False),
        ("vendor_b", False),
        # The vendor's own unvetted artifact stays out too: "view" of an artifact outside
        # every program's scope is the coordinators' (artifacts/access.py).
        ("vendor_a", False),
        ("defender", False),
        ("triager", True),
        ("admin", True),
    ],
)
def test_a_hidden_artifact_is_listed_only_for_its_coordinators(
    world: World, hidden: Artifact, role: str, listed: bool
) -> None:
    status, html = _page(world, role)
    assert status == 200
    assert (HIDDEN in html) is listed
    assert (f'href="/artifacts/{hidden.pk}/lineage/"' in html) is listed
    # Filtering on its exact name tells an outsider nothing either: same answer as a name
    # that exists nowhere.
    status, html = _page(world, role, f"?provider=vendor-a&name={HIDDEN}")
    assert status == 200
    assert (HIDDEN in _rows(html)) is listed
    if not listed:
        _, nowhere = _page(world, role, "?provider=vendor-a&name=no-such-model")
        assert _main(html).replace(HIDDEN, "no-such-model") == _main(nowhere)


def test_the_filter_matches_provider_and_name_in_any_case(world: World) -> None:
    _, html = _page(world, "anonymous", "?provider=VENDOR-B")
    assert "assistant" in html and "chat-7b" not in html and "1 artifact." in html
    _, html = _page(world, "anonymous", "?name=Chat")
    assert "chat-7b" in html and "assistant" not in html


def test_the_index_is_paginated_and_keeps_the_filter(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    _, first = _page(world, "anonymous", "?provider=vendor")
    assert "Page 1 of 2" in first and 'href="?provider=vendor&amp;page=2"' in first
    assert "chat-7b" in first and "assistant" not in first
    _, second = _page(world, "anonymous", "?provider=vendor&page=2")
    assert "assistant" in second and "chat-7b" not in second
    assert 'href="?provider=vendor&amp;page=1"' in second


@pytest.mark.parametrize(
    ("query", "field"),
    [("?page=zero", "page"), ("?page=0", "page"), ("?name=" + "x" * 201, "name")],
)
def test_bad_filters_are_422_naming_the_field(world: World, query: str, field: str) -> None:
    status, html = _page(world, "anonymous", query)
    assert status == 422
    assert f"<strong>{field}</strong>:" in html


def test_the_navigation_links_the_index_for_everyone(world: World) -> None:
    for role in ("anonymous", "vendor_a"):
        _, html = _page(world, role)
        assert '<a href="/artifacts/">Artifacts</a>' in html
