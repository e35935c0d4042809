"""The OSV-style dump (issue 18, point 5): all.zip and modified_id.csv in OSV's layout, served
at stable URLs, byte-identical for the same data; and the sync (interop/mirror.py) reproducing
it byte for byte, incrementally."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.test import Client

from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import advisory_transition, advisory_update
from modelcvd.interop.mirror import MirrorError, mirror_sync
from tests.advisories.helpers import make_advisory
from tests.factories import World

DUMP = "/advisories/osv/"


def _fetcher(client: Client, asked: list[str]):  # type: ignore[no-untyped-def]
    def fetch(name: str) -> bytes:
        asked.append(name)
        response = client.get(DUMP + name)
        assert response.status_code == 200, name
        return response.content

    return fetch


@pytest.fixture
def two(world: World) -> list[Advisory]:
    first = make_advisory(world)
    second = make_advisory(world, title="Quokka prompt leak in chat-7b")
    make_advisory(world, publish=False, title="A draft, never in the dump")
    return [first, second]


def test_the_dump_is_osv_shaped_and_deterministic(world: World, two: list[Advisory]) -> None:
    client = Client()
    archive = client.get(DUMP + "all.zip")
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"
    assert client.get(DUMP + "all.zip").content == archive.content  # byte-identical
    members = zipfile.ZipFile(io.BytesIO(archive.content))
    names = members.namelist()
    assert names == sorted(f"x_{a.advisory_id}.json" for a in two)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in members.infolist())
    lines = client.get(DUMP + "modified_id.csv").content.decode().splitlines()
    assert len(lines) == 2
    listed = [line.split(",") for line in lines]
    assert [m for m, _ in listed] == sorted((m for m, _ in listed), reverse=True)  # newest first
    for modified, osv_id in listed:
        one = client.get(f"{DUMP}{osv_id}.json")
        assert one.content == members.read(f"{osv_id}.json")  # the same bytes everywhere
        document = json.loads(one.content)
        assert document["id"] == osv_id and document["modified"] == modified
        assert document["database_specific"]["revision"] == 1
    assert client.get(f"{DUMP}x_MCVD-1999-0001.json").status_code == 404


def test_a_withdrawn_advisory_stays_in_the_dump_marked(world: World, two: list[Advisory]) -> None:
    advisory_transition(
        actor=world.users["triager"], advisory_id=two[0].advisory_id, to="withdrawn", reason="dup"
    )
    document = json.loads(Client().get(f"{DUMP}x_{two[0].advisory_id}.json").content)
    assert document["withdrawn"] == document["modified"]
    assert document["database_specific"]["revision"] == 2


def test_the_sync_reproduces_the_dump_and_fetches_only_changes(
    world: World, two: list[Advisory], tmp_path: Path
) -> None:
    client = Client()
    out = tmp_path / "mirror"
    asked: list[str] = []
    first = mirror_sync(fetch=_fetcher(client, asked), out=out, bulk_from=2)
    assert first.bulk and len(first.fetched) == 2
    assert asked == ["modified_id.csv", "all.zip"]
    archive = zipfile.ZipFile(io.BytesIO(client.get(DUMP + "all.zip").content))
    mirrored = {p.name for p in out.glob("*.json")}
    assert mirrored == set(archive.namelist())
    for name in mirrored:
        assert (out / name).read_bytes() == archive.read(name)
    assert (out / "modified_id.csv").read_bytes() == client.get(DUMP + "modified_id.csv").content

    asked.clear()
    again = mirror_sync(fetch=_fetcher(client, asked), out=out, bulk_from=2)
    assert again.fetched == [] and again.removed == [] and asked == ["modified_id.csv"]

    advisory_update(
        actor=world.users["triager"],
        advisory_id=two[1].advisory_id,
        changes={"summary": "Wombat framing, revised."},
        changelog="Revised.",
    )
    asked.clear()
    changed = mirror_sync(fetch=_fetcher(client, asked), out=out, bulk_from=2)
    assert changed.fetched == [f"x_{two[1].advisory_id}"] and not changed.bulk
    assert asked == ["modified_id.csv", f"x_{two[1].advisory_id}.json"]
    name = f"x_{two[1].advisory_id}.json"
    assert (out / name).read_bytes() == client.get(DUMP + name).content

    (out / "x_MCVD-1999-0001.json").write_bytes(b"{}")  # no longer in the dump
    removed = mirror_sync(fetch=_fetcher(client, []), out=out, bulk_from=2)
    assert removed.removed == ["x_MCVD-1999-0001"]


def test_the_sync_refuses_a_record_that_is_not_what_the_listing_says(
    world: World, two: list[Advisory], tmp_path: Path
) -> None:
    client = Client()
    victim = f"x_{two[0].advisory_id}"

    def fetch(name: str) -> bytes:
        content = client.get(DUMP + name).content
        if name == f"{victim}.json":
            return content.replace(b'"modified": "', b'"modified": "1')
        return content

    with pytest.raises(MirrorError) as refused:
        mirror_sync(fetch=fetch, out=tmp_path)
    assert refused.value.record == victim
    assert not (tmp_path / f"{victim}.json").exists()
    assert not (tmp_path / "modified_id.csv").exists()
