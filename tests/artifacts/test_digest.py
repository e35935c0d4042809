"""Model directory digests (no database): deterministic, streamed, and compatible with the
OpenSSF model-signing manifest."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from model_signing import hashing as ms_hashing
from model_signing._signing.signing import Payload

from modelcvd.artifacts.digest import (
    DigestError,
    huggingface_purl,
    manifest_files,
    model_manifest,
)
from modelcvd.cli import main
from modelcvd.verification.engine.identity import weights_digest


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    (d / "tokenizer.json").write_text("{}")
    (d / "model-00001-of-00002.safetensors").write_bytes(b"\x01" * 3000)
    (d / "model-00002-of-00002.safetensors").write_bytes(b"\x02" * 5000)
    (d / "README.md").write_text("# not part of the manifest\n")
    (d / "notes.txt").write_text("neither")
    return d


def test_manifest_lists_weights_and_config_files_with_their_sha256(model_dir: Path) -> None:
    manifest = model_manifest(model_dir)
    assert [f.path for f in manifest.files] == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
    ]
    for item in manifest.files:
        assert item.sha256 == hashlib.sha256((model_dir / item.path).read_bytes()).hexdigest()
    assert manifest == model_manifest(model_dir)  # deterministic
    # The weights digest is the one the verification engine measures at run time.
    assert manifest.weights_digest == weights_digest(model_dir)


def test_any_change_changes_the_digest(model_dir: Path) -> None:
    before = model_manifest(model_dir).digest
    (model_dir / "README.md").write_text("changed, but not in the manifest")
    assert model_manifest(model_dir).digest == before
    (model_dir / "config.json").write_text("{}")
    assert model_manifest(model_dir).digest != before


def test_same_per_file_digests_and_root_digest_as_model_signing(model_dir: Path) -> None:
    ours = model_manifest(model_dir)
    files = [model_dir / f.path for f in ours.files]
    theirs = (
        ms_hashing.Config()
        .use_file_serialization(hashing_algorithm="sha256")
        .hash(model_dir, files_to_hash=files)
    )
    resources = {r.identifier: r.digest.digest_hex for r in theirs.resource_descriptors()}
    assert resources == {f.path: f.sha256 for f in ours.files}
    # The subject digest model-signing would sign is our combined digest.
    statement = Payload(theirs).statement.pb
    assert statement.subject[0].digest["sha256"] == ours.digest
    predicate = ours.model_signing_predicate()
    assert predicate["subject_digest"] == {"sha256": ours.digest}
    assert [r["name"] for r in predicate["resources"]] == sorted(resources)


def test_model_signing_default_hashes_more_files(model_dir: Path) -> None:
    """Not compatible by default: model-signing hashes every file (README, notes) unless given
    the file list; the digests then differ."""
    theirs = ms_hashing.hash(model_dir)
    assert (
        Payload(theirs).statement.pb.subject[0].digest["sha256"] != model_manifest(model_dir).digest
    )


def test_a_directory_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DigestError, match=r"no \.safetensors"):
        manifest_files(tmp_path)
    with pytest.raises(DigestError, match="not found"):
        manifest_files(tmp_path / "missing")


def test_purl() -> None:
    assert (
        huggingface_purl("HuggingFaceTB/SmolLM2-135M-Instruct", "ABCDEF12")
        == "pkg:huggingface/HuggingFaceTB/SmolLM2-135M-Instruct@abcdef12"
    )
    assert huggingface_purl("org/name") == "pkg:huggingface/org/name"
    for bad in ("name-only", "a/b/c", "org/na me", "../x"):
        with pytest.raises(DigestError):
            huggingface_purl(bad)


def test_cli_digest_json_and_purl_of_a_hub_snapshot(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "models--acme--chat-7b" / "snapshots" / ("ab" * 20)
    snapshot.parent.mkdir(parents=True)
    model_dir.rename(snapshot)
    assert main(["artifact", "digest", str(snapshot), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["purl"] == f"pkg:huggingface/acme/chat-7b@{'ab' * 20}"
    assert data["digest"] == model_manifest(snapshot).digest
    assert len(data["files"]) == 4
    assert main(["artifact", "digest", str(tmp_path / "nothing")]) == 2


def test_hashing_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 256 MiB shard is hashed without reading it into memory (peak RSS of a fresh process)."""
    d = tmp_path / "big"
    d.mkdir()
    with (d / "model.safetensors").open("wb") as handle:
        handle.truncate(256 << 20)  # sparse: costs no disk
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from a
    # large test process would report the parent's size.
    code = (
        "import pathlib; from modelcvd.artifacts.digest import model_manifest; "
        f"model_manifest(pathlib.Path({str(d)!r})); "
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kib = int(out.stdout.strip())
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB"
