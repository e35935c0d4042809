"""The log's public API and keys, and what a publication puts in the log: an advisory's
revisions and its payload commitment, checkable offline with `modelcvd log verify`."""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.advisories.services import advisory_transition, advisory_update
from modelcvd.cli import main
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry
from modelcvd.transparency.services import log_append, tree_head_sign
from modelcvd.transparency.signing import published_keys
from modelcvd.transparency.treehead import public_key_from_b64, tree_head_signature_valid
from modelcvd.vocabulary import LogEntryKind
from tests.advisories.helpers import make_advisory
from tests.factories import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.SIGNING_KEY_FILE = tmp_path / "signing-keys.json"
    return settings.SIGNING_KEY_FILE


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def _fill(n: int) -> None:
    for i in range(n):
        log_append(kind=LogEntryKind.ATTESTATION, ref=f"run-{i}", body={"run": i})


def test_tree_head_proofs_entries_and_keys(client: Client) -> None:
    assert client.get("/api/v1/log/tree-head").status_code == 404
    _fill(9)
    tree_head_sign()
    head = client.get("/api/v1/log/tree-head").json()
    keys = client.get("/.well-known/modelcvd/log-keys.json").json()
    assert [k["key_id"] for k in keys["keys"]] == [head["key_id"]]
    assert keys["keys"][0]["algorithm"] == "ed25519" and "private_key" not in keys["keys"][0]
    assert tree_head_signature_valid(head, public_key_from_b64(keys["keys"][0]["public_key"]))

    root = bytes.fromhex(head["root_hash"])
    page = client.get("/api/v1/log/entries", {"start": 0, "end": 50}).json()
    assert (page["start"], page["end"], len(page["entries"])) == (0, 9, 9)
    leaves = [merkle.leaf_hash(merkle.canonical_bytes(e["body"])) for e in page["entries"]]
    assert merkle.root_from_leaves(leaves) == root
    proof = client.get("/api/v1/log/proof/inclusion", {"index": 4, "size": 9}).json()
    assert proof["leaf_hash"] == leaves[4].hex()
    path = [bytes.fromhex(p) for p in proof["path"]]
    assert merkle.verify_inclusion(leaves[4], 4, 9, path, root)
    older = merkle.root_from_leaves(leaves[:5])
    proof = client.get("/api/v1/log/proof/consistency", {"first": 5, "second": 9}).json()
    assert merkle.verify_consistency(5, 9, older, root, [bytes.fromhex(p) for p in proof["path"]])

    bundle = client.get("/api/v1/log/entry", {"kind": "attestation", "ref": "run-2"}).json()
    assert bundle["entry"]["index"] == 2 and bundle["tree_head"] == head
    assert (
        client.get("/api/v1/log/entry", {"kind": "attestation", "ref": "nope"}).status_code == 404
    )


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/log/proof/inclusion", {"index": 0, "size": 99}, "size"),
        ("/api/v1/log/proof/inclusion", {"index": 3, "size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"index": "x", "size": 3}, "index"),
        ("/api/v1/log/proof/inclusion", {"size": 3}, "index"),
        ("/api/v1/log/proof/consistency", {"first": 1, "second": 99}, "second"),
        ("/api/v1/log/proof/consistency", {"first": 3, "second": 2}, "first"),
        ("/api/v1/log/entries", {"start": 7, "end": 9}, "start"),
        ("/api/v1/log/entry", {"kind": "nonsense", "ref": "x"}, "kind"),
    ],
)
def test_bad_requests_are_422_naming_the_field(
    client: Client, url: str, params: dict[str, Any], field: str
) -> None:
    _fill(4)
    response = client.get(url, params)
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_publication_logs_the_commitment_and_each_revision(
    world: World, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    advisory = make_advisory(world)
    triager = world.users["triager"]
    aid = advisory.advisory_id
    logged = list(LogEntry.objects.values_list("kind", "ref"))
    assert logged == [("payload_commitment", aid), ("advisory_revision", f"{aid}@1")]
    commitment = json.loads(LogEntry.objects.get(index=0).body)
    assert commitment == {"advisory": aid, "commitment": advisory.commitment}
    advisory_update(
        actor=triager, advisory_id=aid, changes={"summary": "Wombat, revised."}, changelog="x"
    )
    advisory_transition(actor=triager, advisory_id=aid, to="withdrawn", reason="duplicate")
    assert list(LogEntry.objects.values_list("ref", flat=True))[2:] == [f"{aid}@2", f"{aid}@3"]
    tree_head_sign()

    # The public document as the registry serves it is what the log committed to.
    document = client.get(f"/api/v1/advisories/{aid}").json()
    entry = json.loads(LogEntry.objects.get(ref=f"{aid}@3").body)
    assert entry["state"] == "withdrawn"
    digest = hashlib.sha256(merkle.canonical_bytes(document)).hexdigest()
    assert entry["document_sha256"] == digest

    files = {
        "advisory": document,
        "proof": client.get(
            "/api/v1/log/entry", {"kind": "advisory_revision", "ref": f"{aid}@3"}
        ).json(),
        "keys": client.get("/.well-known/modelcvd/log-keys.json").json(),
        "head": client.get("/api/v1/log/tree-head").json(),
    }
    for name, value in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False))
    argv = [
        "log", "verify", "--advisory", str(tmp_path / "advisory.json"),
        "--proof", str(tmp_path / "proof.json"), "--key", str(tmp_path / "keys.json"),
    ]  # fmt: skip
    assert main([*argv, "--tree-head", str(tmp_path / "head.json")]) == 0
    assert f"advisory {aid}@3 is entry 3 of the log" in capsys.readouterr().out

    changed = {**document, "summary": document["summary"] + "!"}
    (tmp_path / "advisory.json").write_text(json.dumps(changed))
    assert main(argv) == 1
    assert "differs from the one the log committed to" in capsys.readouterr().err

    (tmp_path / "advisory.json").write_text(json.dumps(document))
    other = {**files["keys"], "keys": [{**files["keys"]["keys"][0], "key_id": "ed25519:x"}]}
    (tmp_path / "keys.json").write_text(json.dumps(other))
    assert main(argv) == 1
    assert "not among the trusted keys" in capsys.readouterr().err
    assert [k.key_id for k in published_keys()] == [files["head"]["key_id"]]


def test_pages_feed_and_mirror_show_the_log(world: World, client: Client) -> None:
    advisory = make_advisory(world)
    aid = advisory.advisory_id
    # Before any head is signed the mirror is documents only.
    lines = b"".join(client.get("/advisories/export.jsonl").streaming_content).splitlines()
    assert [json.loads(line)["id"] for line in lines] == [aid]
    head = tree_head_sign().as_dict()

    feed = client.get("/advisories/feed.atom").content.decode()
    assert 'xmlns:log="urn:modelcvd:transparency-log:1"' in feed
    found = re.search(r'<log:treeHead type="application/json">(.*?)</log:treeHead>', feed)
    assert found is not None and json.loads(html.unescape(found.group(1))) == head
    lines = b"".join(client.get("/advisories/export.jsonl").streaming_content).splitlines()
    assert json.loads(lines[0])["id"] == aid
    assert json.loads(lines[-1]) == {"tree_head": head}

    page = client.get(f"/advisories/{aid}/").content.decode()
    assert "is entry <strong>1</strong>" in page
    proof_url = f"/api/v1/log/entry?kind=advisory_revision&amp;ref={aid}%401"
    assert proof_url in page
    bundle = client.get(html.unescape(proof_url)).json()
    assert bundle["entry"]["ref"] == f"{aid}@1" and bundle["tree_head"] == head

    program = client.get(f"/programs/{world.program.slug}/").content.decode()
    assert head["key_id"] in program and published_keys()[0].public_key_b64 in program
