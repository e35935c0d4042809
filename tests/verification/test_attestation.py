"""Signed verification attestations end to end (docs/attestations.md): a run finishes and is
logged; `attest export` writes the bundle; `attest verify` passes offline with the published
key and the model directory, and fails, naming the check, when one byte of the envelope's
signature, of its payload (the predicate) or of a model file is flipped. Who may download it:
the run's readers, and defenders through the published advisory."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from modelcvd.artifacts.digest import model_manifest
from modelcvd.artifacts.services import artifact_record_manifest
from modelcvd.cli import main
from modelcvd.transparency.selectors import entry_for_ref
from modelcvd.transparency.signing import published_keys
from modelcvd.verification.engine.attestation import log_ref
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services import execution
from modelcvd.vocabulary import LogEntryKind
from tests.advisories.helpers import make_advisory
from tests.factories import World, sign_in
from tests.verification.engine.test_attestation import SUMMARY


@pytest.fixture(autouse=True)
def signing_key_file(settings: Any, tmp_path: Path) -> Path:
    settings.SIGNING_KEY_FILE = tmp_path / "signing-keys.json"
    return settings.SIGNING_KEY_FILE


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A tiny model directory: the digest hashes bytes, it does not parse the shard."""
    root = tmp_path / "chat-7b"
    root.mkdir()
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 16)
    (root / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    return root


@pytest.fixture
def finished(world: World, model_dir: Path) -> VerificationRun:
    """World's run on vendor A's artifact, its digest recorded, finished by the worker's own
    finishing step (a summary in the engine's shape; no generation needed)."""
    artifact_record_manifest(
        actor=world.users["triager"],
        artifact=world.artifacts["a"],
        manifest=model_manifest(model_dir),
    )
    run = VerificationRun.objects.select_related("artifact", "case").get(pk=world.run.pk)
    VerificationRun.objects.filter(pk=run.pk).update(state=VerificationRun.State.RUNNING)
    run.refresh_from_db()
    return execution._run_finish(run, dict(SUMMARY, trials=10, successes=3))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """The published keys, as /.well-known/modelcvd/log-keys.json serves them."""
    path = tmp_path / "log-keys.json"
    path.write_text(json.dumps({"keys": [k.as_dict() for k in published_keys()]}))
    return path


def _export(run: VerificationRun, out: Path) -> dict[str, Any]:
    assert main(["attest", "export", str(run.pk), "-o", str(out)]) == 0
    return json.loads(out.read_text())


def _verify(path: Path, key_file: Path, model_dir: Path, capsys: Any) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["attest", "verify", str(path), "--key", str(key_file), "--model", str(model_dir)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _flip_b64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_finishing_logs_it_and_the_round_trip_verifies(
    finished: VerificationRun, model_dir: Path, key_file: Path, tmp_path: Path, capsys: Any
) -> None:
    bundle = _export(finished, tmp_path / "run.intoto.json")
    envelope = bundle["dsseEnvelope"]
    entry = entry_for_ref(LogEntryKind.ATTESTATION, log_ref(envelope))
    assert entry is not None and entry.index == bundle["log"]["index"]  # logged at finish, once
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][0]["digest"]["sha256"] == model_manifest(model_dir).digest
    assert (statement["predicate"]["n"], statement["predicate"]["successes"]) == (10, 3)
    assert statement["predicate"]["run"]["id"] == finished.pk

    code, text = _verify(tmp_path / "run.intoto.json", key_file, model_dir, capsys)
    assert code == 0, text
    assert "verified: signature, inclusion, subject" in text
    # Exporting again is the same entry: issuing is idempotent.
    assert _export(finished, tmp_path / "again.json")["log"]["index"] == entry.index


def test_one_flipped_byte_fails_the_check_it_breaks(
    finished: VerificationRun, model_dir: Path, key_file: Path, tmp_path: Path, capsys: Any
) -> None:
    bundle = _export(finished, tmp_path / "run.intoto.json")
    envelope = bundle["dsseEnvelope"]

    def verify_with(changed: dict[str, Any], name: str) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(changed))
        code, text = _verify(path, key_file, model_dir, capsys)
        assert code == 1, text
        return text

    sig = json.loads(json.dumps(bundle))
    sig["dsseEnvelope"]["signatures"][0]["sig"] = _flip_b64(envelope["signatures"][0]["sig"], 5)
    assert "signature: the envelope is not signed" in verify_with(sig, "sig.json")

    payload = base64.b64decode(envelope["payload"])
    at = payload.index(b'"successes":3') + len('"successes":')
    pred = json.loads(json.dumps(bundle))
    pred["dsseEnvelope"]["payload"] = _flip_b64(envelope["payload"], at)  # 3 -> 2
    text = verify_with(pred, "predicate.json")
    assert "signature: the envelope is not signed" in text
    assert "inclusion: the log entry's body does not commit to this payload" in text

    proof = json.loads(json.dumps(bundle))
    proof["log"]["treeHead"]["root_hash"] = "00" * 32
    assert "tree head: the signature does not verify" in verify_with(proof, "head.json")

    shard = model_dir / "model.safetensors"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0x01
    shard.write_bytes(bytes(data))
    code, text = _verify(tmp_path / "run.intoto.json", key_file, model_dir, capsys)
    assert code == 1
    assert "subject: the manifest digest of" in text and "signature" not in text.split("FAILED")[0]


@pytest.mark.parametrize(
    ("role", "status"),
    [("triager", 200), ("vendor_a", 200), ("vendor_b", 404), ("defender", 404)],
)
def test_the_run_route_answers_the_runs_readers(
    finished: VerificationRun, api_as: Any, role: str, status: int
) -> None:
    response = api_as(role).get(f"/api/v1/verifications/{finished.pk}/attestation")
    assert response.status_code == status
    if status == 200:
        assert response.json()["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"


def test_the_case_page_links_a_finished_runs_attestation(
    finished: VerificationRun, world: World
) -> None:
    client = Client()
    sign_in(client, world.users["triager"])
    url = f"/verifications/{finished.pk}/attestation.json"
    assert url in client.get(f"/cases/{finished.case_id}/").content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    outsider = Client()
    sign_in(outsider, world.users["vendor_b"])
    assert outsider.get(url).status_code == 404


@pytest.mark.parametrize(
    ("role", "status"), [("defender", 200), ("anonymous", 404), ("researcher_b", 404)]
)
def test_published_with_the_advisory_at_the_defender_level(
    finished: VerificationRun, world: World, api_as: Any, role: str, status: int
) -> None:
    advisory = make_advisory(world)
    client = Client()
    if role != "anonymous":
        sign_in(client, world.users[role])
    url = f"/advisories/{advisory.advisory_id}/attestations/{finished.pk}.json"
    page = client.get(f"/advisories/{advisory.advisory_id}/").content.decode()
    assert (url in page) is (status == 200)
    assert client.get(url).status_code == status

    api = api_as(role)
    listed = api.get(f"/api/v1/advisories/{advisory.advisory_id}/attestations").json()
    assert [row["run_id"] for row in listed] == ([finished.pk] if status == 200 else [])
    one = api.get(f"/api/v1/advisories/{advisory.advisory_id}/attestations/{finished.pk}")
    assert one.status_code == status


@pytest.mark.django_db(transaction=True)
def test_verify_against_the_server_with_a_bare_envelope(
    finished: VerificationRun, model_dir: Path, tmp_path: Path, live_server: Any, capsys: Any
) -> None:
    """--server: the published keys from the well-known URL and a fresh proof found by the
    payload's ref, so the bare DSSE envelope (no bundle) verifies too."""
    bundle = _export(finished, tmp_path / "run.intoto.json")
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(bundle["dsseEnvelope"]))
    for path in (tmp_path / "run.intoto.json", bare):
        capsys.readouterr()
        code = main(
            ["attest", "verify", str(path), "--server", live_server.url, "--model", str(model_dir)]
        )
        assert code == 0, capsys.readouterr()
    assert main(["attest", "verify", str(bare), "--key", str(tmp_path / "none.json")]) == 2


def test_after_a_key_rotation_both_exports_verify_and_share_the_log_entry(
    finished: VerificationRun, model_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    from modelcvd.transparency.signing import signing_key_rotate

    old = _export(finished, tmp_path / "old.json")
    signing_key_rotate()
    new = _export(finished, tmp_path / "new.json")
    assert old["dsseEnvelope"]["signatures"] != new["dsseEnvelope"]["signatures"]
    assert old["log"]["index"] == new["log"]["index"]
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [k.as_dict() for k in published_keys()]}))
    for name in ("old.json", "new.json"):
        code, text = _verify(tmp_path / name, keys, model_dir, capsys)
        assert code == 0, text


def test_no_attestation_before_the_run_finishes_or_without_a_digest(
    world: World, api_as: Any, tmp_path: Path
) -> None:
    """A queued run, and a finished run on an artifact with no recorded digest: 422 naming the
    run, no log entry, and no link on the case page."""
    url = f"/api/v1/verifications/{world.run.pk}/attestation"
    response = api_as("triager").get(url)
    assert response.status_code == 422
    assert "finished run" in response.content.decode()
    run = VerificationRun.objects.get(pk=world.run.pk)
    VerificationRun.objects.filter(pk=run.pk).update(state=VerificationRun.State.RUNNING)
    run.refresh_from_db()
    execution._run_finish(run, dict(SUMMARY, trials=10, successes=3))  # no digest: not logged
    response = api_as("triager").get(url)
    assert response.status_code == 422
    assert "no recorded digest" in response.content.decode()
    assert main(["attest", "export", str(run.pk), "-o", str(tmp_path / "x.json")]) == 2
    client = Client()
    sign_in(client, world.users["triager"])
    page = client.get(f"/cases/{run.case_id}/").content.decode()
    assert f"/verifications/{run.pk}/attestation.json" not in page
