"""HTTP caching of the public registry (issue 18, point 6), through the full middleware stack:
strong validators from the published revision, 304 on a match without rendering, a new
revision changes them, and a signed-in reader's body is never shareable."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import advisory_update
from modelcvd.policy.models import Program
from tests.advisories.helpers import make_advisory
from tests.factories import World, sign_in, token_for


@pytest.fixture
def advisory(world: World) -> Advisory:
    return make_advisory(world)


def _routes(advisory_id: str) -> list[str]:
    return [
        f"/advisories/{advisory_id}/",
        f"/api/v1/advisories/{advisory_id}",
        f"/api/v1/advisories/{advisory_id}/revisions",
        f"/api/v1/advisories/{advisory_id}/export/osv",
        f"/advisories/osv/x_{advisory_id}.json",
        "/advisories/",
        "/advisories/?q=Quokka",
        "/api/v1/advisories",
        "/advisories/feed.atom",
        "/advisories/export.jsonl",
        "/advisories/osv/all.zip",
        "/advisories/osv/modified_id.csv",
    ]


def _cache_control(response: Any) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def _vary(response: Any) -> set[str]:
    return {part.strip().lower() for part in response["Vary"].split(",")}


def test_every_public_route_is_cacheable_and_answers_304(world: World, advisory: Advisory) -> None:
    client = Client(enforce_csrf_checks=True)
    for url in _routes(advisory.advisory_id):
        first = client.get(url)
        assert first.status_code == 200, url
        etag = first["ETag"]
        assert etag.startswith('"') and not etag.startswith("W/"), url  # strong
        assert "Last-Modified" in first, url
        control = _cache_control(first)
        assert {"public", "max-age=60", "s-maxage=300", "stale-while-revalidate=600"} <= control
        assert {"cookie", "authorization"} <= _vary(first), url
        # The same validators again (nothing changed), and a 304 for either condition.
        assert client.get(url)["ETag"] == etag, url
        again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, url
        assert again["ETag"] == etag and not again.content, url
        assert "public" in _cache_control(again)
        since = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
        assert since.status_code == 304, url
        assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200, url


def test_the_304_path_renders_nothing_and_reads_one_row(
    world: World, advisory: Advisory, settings: Any
) -> None:
    settings.REGISTRY_VALIDATOR_TTL = 0  # nothing remembered: every 304 reads the stamp
    client = Client()
    url = f"/api/v1/advisories/{advisory.advisory_id}"
    etag = client.get(url)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert '"document"' not in queries[0]["sql"]


def test_a_remembered_stamp_answers_304_without_reading(
    world: World, advisory: Advisory, settings: Any
) -> None:
    settings.REGISTRY_VALIDATOR_TTL = 60
    client = Client()
    url = f"/api/v1/advisories/{advisory.advisory_id}"
    etag = client.get(url)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert len(queries) == 0, [q["sql"] for q in queries]
    advisory_update(
        actor=world.users["triager"],
        advisory_id=advisory.advisory_id,
        changes={"summary": "Wombat framing, revised."},
        changelog="Revised.",
    )
    # Within the TTL a revalidating reader may keep the old revision (as max-age allows)...
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # ...and once it is past, the new revision's generation makes the process forget.
    settings.REGISTRY_VALIDATOR_TTL = 1e-9
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_a_new_revision_changes_the_validators(
    world: World, advisory: Advisory, settings: Any
) -> None:
    settings.REGISTRY_VALIDATOR_TTL = 0
    client = Client()
    urls = _routes(advisory.advisory_id)
    before = {url: client.get(url)["ETag"] for url in urls}
    advisory_update(
        actor=world.users["triager"],
        advisory_id=advisory.advisory_id,
        changes={"summary": "Wombat framing, now also in tool results."},
        changelog="Tool results too.",
    )
    for url in urls:
        response = client.get(url, HTTP_IF_NONE_MATCH=before[url])
        assert response.status_code == 200, url
        assert response["ETag"] != before[url], url


@pytest.mark.parametrize("how", ["session", "token"])
def test_a_signed_in_reader_is_never_served_from_a_shared_cache(
    world: World, advisory: Advisory, how: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    headers: dict[str, str] = {}
    if how == "session":
        sign_in(client, world.users["defender"])
    else:
        token = token_for(world.users["defender"], ["read"])
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    public_etag = Client().get(f"/api/v1/advisories/{advisory.advisory_id}")["ETag"]
    for url in _routes(advisory.advisory_id):
        response = client.get(url, HTTP_IF_NONE_MATCH=public_etag, **headers)
        assert response.status_code == 200, url  # never a 304 on the public body's tag
        assert "ETag" not in response, url
        assert {"private", "no-store"} <= _cache_control(response), url
        assert "public" not in _cache_control(response), url
        assert {"cookie", "authorization"} <= _vary(response), url
    body = client.get(f"/api/v1/advisories/{advisory.advisory_id}", **headers).json()
    assert body["disclosure_level"] == "defender"


def test_unpublished_and_missing_advisories_are_not_cached(world: World) -> None:
    draft = make_advisory(world, publish=False)
    client = Client()
    for url in (f"/api/v1/advisories/{draft.advisory_id}", "/api/v1/advisories/MCVD-1999-0001"):
        response = client.get(url)
        assert response.status_code == 404
        assert "ETag" not in response


def test_program_pages_and_security_txt_answer_304(world: World) -> None:
    program = Program.objects.filter(is_default=True).first() or Program.objects.first()
    assert program is not None
    client = Client()
    for url in ("/", f"/programs/{program.slug}/", f"/programs/{program.slug}/security.txt"):
        first = client.get(url)
        assert first.status_code == 200, url
        assert "public" in _cache_control(first), url
        assert {"cookie", "authorization"} <= _vary(first), url
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304, url
    signed_in = Client()
    sign_in(signed_in, world.users["defender"])
    assert "private" in _cache_control(signed_in.get(f"/programs/{program.slug}/"))
