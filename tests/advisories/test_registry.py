"""The public registry: list, full-text search (PostgreSQL tsvector + GIN; SQLite word match),
filters, pagination, 422 naming the field, the Atom feed and the JSON Lines mirror."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from modelcvd.advisories import selectors
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.selectors import _full_text
from modelcvd.advisories.services import advisory_create, advisory_transition
from tests.advisories.helpers import MARKERS, content, make_advisory, publish_advisory
from tests.factories import World

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def registry(world: World) -> dict[str, Advisory]:
    """a: case A, critical jailbreak; b: case B, low-severity system-prompt leak; d: a draft."""
    a = make_advisory(world)
    triager = world.users["triager"]
    b = advisory_create(
        actor=triager,
        case_id=world.cases["b"].pk,
        content=content(
            title="System prompt disclosure in the assistant API",
            summary="A crafted tool result makes the assistant print its instructions.",
            owasp="LLM07",
            atlas="AML.T0051",
            harm_category="privacy",
            cvss_vector="CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            aliases=[],
        ),
    )
    publish_advisory(world, b.advisory_id)
    d = advisory_create(
        actor=triager,
        case_id=world.cases["b"].pk,
        content=content(title="Unpublished draft about jailbreaks"),
    )
    return {
        "a": a,
        "b": Advisory.objects.get(pk=b.pk),
        "d": d,
    }


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def test_filters(registry: dict[str, Advisory]) -> None:
    a, b = registry["a"].advisory_id, registry["b"].advisory_id
    api = Client()
    get = lambda query: _ids(api.get("/api/v1/advisories", query))  # noqa: E731
    assert sorted(get({})) == sorted([a, b])  # never the draft
    assert get({"artifact": "vendor-a/chat-7b"}) == [a]
    assert get({"vendor": "vendor-b"}) == [b]
    assert get({"technique": "AML.T0054"}) == [a]
    assert get({"technique": "LLM07"}) == [b]
    assert get({"harm_category": "privacy"}) == [b]
    assert get({"severity": "critical"}) == [a]
    assert get({"severity": "LOW"}) == [b]
    published = registry["a"].published_at
    assert published is not None
    day = published.date().isoformat()
    assert sorted(get({"published_from": day, "published_to": day})) == sorted([a, b])
    assert get({"published_to": "2000-01-01"}) == []
    assert get({"vendor": "vendor-a", "harm_category": "privacy"}) == []


BAD_FILTERS: list[tuple[dict[str, str], str]] = [
    ({"harm_category": "mischief"}, "harm_category"),
    ({"severity": "apocalyptic"}, "severity"),
    ({"technique": "AML.T9999"}, "technique"),
    ({"vendor": "nobody"}, "vendor"),
    ({"artifact": "no-slash"}, "artifact"),
    ({"artifact": "nobody/nothing"}, "artifact"),
    ({"published_from": "yesterday"}, "published_from"),
    ({"published_from": "2026-02-01", "published_to": "2026-01-01"}, "published_to"),
    ({"page": "0"}, "page"),
    ({"page_size": "1000"}, "page_size"),
    ({"q": "x" * 201}, "q"),
]


def test_bad_filters_are_422_naming_the_field(registry: dict[str, Advisory]) -> None:
    for query, field in BAD_FILTERS:
        response = Client().get("/api/v1/advisories", query)
        assert response.status_code == 422, query
        assert [e["field"] for e in response.json()["errors"]] == [field]
        page = Client().get("/advisories/", query)
        assert page.status_code == 422
        assert f"<strong>{field}</strong>" in page.content.decode()


def test_full_text_search(registry: dict[str, Advisory]) -> None:
    a, b = registry["a"].advisory_id, registry["b"].advisory_id
    api = Client()
    search = lambda q: _ids(api.get("/api/v1/advisories", {"q": q}))  # noqa: E731
    assert search("quokka") == [a]
    assert search("assistant instructions") == [b]
    assert search("CVE-2026-12345") == [a]
    assert search("nothing-like-this") == []
    # Defender-level words are not searchable: a match would reveal them.
    assert search(MARKERS["mitigation_details"]) == []
    assert search(MARKERS["detection_indicators"]) == []
    if connection.vendor == "postgresql":
        # Stemming and web-search syntax: "disclosures" finds "disclosure"; "-" excludes.
        assert search("prompt disclosures") == [b]
        assert search("assistant -instructions") == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'advisory_search_gin'"
            )
            assert "gin" in cursor.fetchone()[0]
            cursor.execute("SET enable_seqscan = off")
            plan = _full_text(Advisory.objects.all(), "quokka", by_relevance=False).explain()
            cursor.execute("SET enable_seqscan = on")
        assert "advisory_search_gin" in plan
    else:
        assert search("QUOKKA jailbreak") == [a]  # every word, any case


def test_results_are_newest_first_or_best_match_first_when_asked(
    registry: dict[str, Advisory],
) -> None:
    api = Client()
    newest = _ids(api.get("/api/v1/advisories", {"q": "assistant"}))
    ranked = _ids(api.get("/api/v1/advisories", {"q": "assistant", "sort": "relevance"}))
    assert sorted(newest) == sorted(ranked) and newest
    listed = _ids(api.get("/api/v1/advisories"))
    assert [i for i in listed if i in newest] == newest  # the same order as the listing
    bad = api.get("/api/v1/advisories", {"sort": "relevance"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sort"
    assert api.get("/api/v1/advisories", {"sort": "oldest"}).status_code == 422


def test_counts_stop_at_the_cap(
    registry: dict[str, Advisory], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Client()
    exact = api.get("/api/v1/advisories").json()
    assert (exact["count"], exact["count_exact"]) == (2, True)
    monkeypatch.setattr(selectors, "COUNT_CAP", 1)
    capped = api.get("/api/v1/advisories", {"page_size": "1"}).json()
    assert (capped["count"], capped["count_exact"]) == (1, False)
    page = api.get("/advisories/", {"page_size": "1"}).content.decode()
    assert "More than 1 advisories" in page and 'rel="next"' in page and "of 1+" in page
    # The last page counts without a count query, exactly.
    last = api.get("/api/v1/advisories", {"page_size": "3"}).json()
    assert (last["count"], last["count_exact"]) == (2, True)


def test_pagination(world: World, registry: dict[str, Advisory]) -> None:
    api = Client()
    first = api.get("/api/v1/advisories", {"page_size": "1"}).json()
    second = api.get("/api/v1/advisories", {"page_size": "1", "page": "2"}).json()
    assert first["count"] == second["count"] == 2
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"][0]["id"] != second["results"][0]["id"]
    assert api.get("/api/v1/advisories", {"page": "3", "page_size": "1"}).json()["results"] == []
    page = Client().get("/advisories/", {"page_size": "1"}).content.decode()
    assert 'rel="next"' in page and "Page 1 of 2" in page


def test_feed_is_atom_with_one_entry_per_published_advisory(
    registry: dict[str, Advisory],
) -> None:
    response = Client().get("/advisories/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's output
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert len(entries) == 2 and all(t and t.startswith("MCVD-") for t in titles)
    assert all(e.find(f"{ATOM}updated") is not None for e in entries)
    assert "Unpublished draft" not in response.content.decode()


def test_jsonl_mirror_streams_every_public_advisory(
    world: World, registry: dict[str, Advisory]
) -> None:
    advisory_transition(
        actor=world.users["triager"],
        advisory_id=registry["b"].advisory_id,
        to="withdrawn",
        reason="Not a model vulnerability.",
    )
    response = Client().get("/advisories/export.jsonl")
    assert response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    # The last line may be the transparency log's tree head (tests/transparency_log).
    documents = [d for d in map(json.loads, lines) if "tree_head" not in d]
    assert {d["id"] for d in documents} == {registry["a"].advisory_id, registry["b"].advisory_id}
    assert {d["disclosure_level"] for d in documents} == {"public"}
    withdrawn = next(d for d in documents if d["state"] == "withdrawn")
    assert withdrawn["withdrawn_reason"] == "Not a model vulnerability."


def test_registry_pages_render(registry: dict[str, Advisory]) -> None:
    client = Client()
    listing = client.get("/advisories/", {"q": "quokka"}).content.decode()
    assert registry["a"].advisory_id in listing and registry["b"].advisory_id not in listing
    page = client.get(f"/advisories/{registry['a'].advisory_id}/").content.decode()
    assert "Revisions" in page and "Initial publication." in page
    assert client.get(f"/advisories/{registry['d'].advisory_id}/").status_code == 404
    assert client.get("/advisories/MCVD-1999-0001/").status_code == 404
    assert 'href="/advisories/"' in client.get("/").content.decode()  # nav link
