"""`modelcvd mirror` against a live server (issue 18, point 5): it reproduces the dump byte for
byte with every record checked against the transparency log, a second run fetches nothing, and
a record whose served bytes differ from what the log committed to is refused, named, exit 1."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelcvd.advisories.models import Advisory
from modelcvd.cli import main
from modelcvd.transparency.services import tree_head_sign
from tests.advisories.helpers import make_advisory
from tests.factories import World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.SIGNING_KEY_FILE = tmp_path / "signing-keys.json"
    return settings.SIGNING_KEY_FILE


def _mirror(capsys: pytest.CaptureFixture[str], url: str, out: Path) -> tuple[int, Any]:
    code = main(["mirror", "--from", f"{url}/advisories/osv/", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    if code == 0:
        return code, json.loads(captured.out)
    return code, captured.err.strip().splitlines()[-1]


@pytest.fixture
def published(world: World, live_server: Any) -> list[Advisory]:
    made = [make_advisory(world), make_advisory(world, title="Quokka prompt leak in chat-7b")]
    tree_head_sign()
    return made


def test_mirror_reproduces_the_dump_verified_and_incrementally(
    published: list[Advisory], live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mirror"
    code, result = _mirror(capsys, live_server.url, out)
    assert code == 0, result
    assert sorted(result["fetched"]) == sorted(f"x_{a.advisory_id}" for a in published)
    archive = zipfile.ZipFile(
        io.BytesIO(httpx.get(f"{live_server.url}/advisories/osv/all.zip").content)
    )
    assert {p.name for p in out.glob("*.json")} == set(archive.namelist())
    for name in archive.namelist():
        assert (out / name).read_bytes() == archive.read(name)  # byte for byte
    code, again = _mirror(capsys, live_server.url, out)
    assert code == 0 and again["fetched"] == [] and again["removed"] == []


def test_mirror_refuses_a_document_the_log_did_not_commit_to(
    published: list[Advisory], live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = published[1]
    # The server's stored document rewritten after publication, its `modified` kept: the dump
    # serves other bytes than the revision the log holds.
    document = {**victim.document, "title": "Nothing to see here"}
    Advisory.objects.filter(pk=victim.pk).update(document=document)
    code, line = _mirror(capsys, live_server.url, tmp_path / "mirror")
    assert code == 1
    assert f"x_{victim.advisory_id}" in line and "differs from the log" in line
    assert not (tmp_path / "mirror" / f"x_{victim.advisory_id}.json").exists()
