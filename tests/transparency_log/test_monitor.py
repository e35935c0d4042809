"""`modelcvd log verify` against a live server (SQLite): an honest log passes, and each attack
on it (a tampered entry, a reordered entry, a forked tree, a truncated log, a rewritten history,
a bad signature) is detected and named."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from modelcvd.cli import main
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry, LogNode, SignedTreeHead
from modelcvd.transparency.services import log_append, tree_head_sign
from modelcvd.transparency.signing import instance_signing_key
from modelcvd.transparency.treehead import tree_head_message
from modelcvd.vocabulary import LogEntryKind

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.SIGNING_KEY_FILE = tmp_path / "signing-keys.json"
    return settings.SIGNING_KEY_FILE


def _append(start: int, stop: int) -> None:
    for i in range(start, stop):
        log_append(
            kind=LogEntryKind.ADVISORY_REVISION,
            ref=f"MCVD-2026-{i:04d}@1",
            body={"advisory": f"MCVD-2026-{i:04d}", "revision": 1, "document_sha256": f"{i:064x}"},
        )


def _verify(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, str]:
    code = main(["log", "verify", "--server", url, *extra])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("modelcvd log")]
    return code, lines[-1] if lines else captured.out


@pytest.fixture
def honest(live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A log of 11 entries that a monitor has verified once; its state file."""
    _append(0, 11)
    tree_head_sign()
    state = tmp_path / "state.json"
    code, line = _verify(capsys, live_server.url, "--state", str(state))
    assert code == 0, line
    assert "log consistent: 11 entries" in line
    assert json.loads(state.read_text())["size"] == 11
    return state


def test_an_honest_log_passes_incrementally(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _append(11, 20)
    tree_head_sign()
    keys = tmp_path / "keys.json"
    keys.write_text(
        json.dumps({"keys": [{"key_id": instance_signing_key()[0], "public_key": _public()}]})
    )
    code, line = _verify(capsys, live_server.url, "--state", str(honest), "--key", str(keys))
    assert code == 0, line
    assert "20 entries" in line and "9 new entries checked" in line
    code, line = _verify(capsys, live_server.url, "--state", str(honest), "--key-id", "ed25519:0")
    assert code == 1 and "key ed25519:0 is not among the published keys" in line


def _public() -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = instance_signing_key()[1].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_a_tampered_entry_is_named(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(11, 14)
    tree_head_sign()
    # The server rewrites an entry's body after the monitor's last run, keeping its leaf.
    original = LogEntry.objects.get(index=12).body
    LogEntry.objects.filter(index=12).update(body='{"advisory":"MCVD-2026-9999"}')
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "tampered entry 12 (advisory_revision MCVD-2026-0012@1): its body hashes to" in line
    # An old entry rewritten with its leaf hash recomputed: caught by a new monitor (or --all).
    LogEntry.objects.filter(index=12).update(body=original)
    body = '{"advisory":"MCVD-2026-9999"}'
    leaf = merkle.leaf_hash(body.encode()).hex()
    LogEntry.objects.filter(index=3).update(body=body, leaf_hash=leaf)
    code, line = _verify(capsys, live_server.url)
    assert code == 1
    assert (
        "entry 3 (advisory_revision MCVD-2026-0003@1) is not at index 3 of the signed tree" in line
    )
    code, line = _verify(capsys, live_server.url, "--state", str(honest), "--all")
    assert code == 1
    assert "entry 3 (advisory_revision MCVD-2026-0003@1) is not at index 3" in line


def test_a_reordered_entry_is_named(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(11, 16)
    tree_head_sign()
    a, b = LogEntry.objects.get(index=12), LogEntry.objects.get(index=14)
    for entry, other in ((a, b), (b, a)):
        LogEntry.objects.filter(pk=entry.pk).update(
            ref=other.ref, body=other.body, leaf_hash=other.leaf_hash
        )
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "entry 12 (advisory_revision MCVD-2026-0014@1) is not at index 12" in line


def _sign_head(size: int, root: bytes) -> dict[str, Any]:
    key_id, key = instance_signing_key()
    head = {
        "log": SignedTreeHead.objects.latest("id").log,
        "size": size,
        "root_hash": root.hex(),
        "timestamp": "2026-12-06T12:00:00Z",
    }
    signature = key.sign(tree_head_message(**head))
    return {**head, "key_id": key_id, "signature": base64.b64encode(signature).decode()}


def test_a_forked_tree_is_detected(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The server showed this monitor another tree of the same size, validly signed.
    other = merkle.root_from_leaves([merkle.leaf_hash(b"%d" % i) for i in range(11)])
    honest.write_text(json.dumps(_sign_head(11, other)))
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "forked log: two signed heads of size 11 with different roots" in line


def test_a_truncated_log_is_detected(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    LogEntry.objects.filter(index__gte=7).delete()
    # Every stored subtree that ends at leaf 7 or later goes too: a clean, smaller log.
    gone = [
        k for k in LogNode.objects.values_list("key", flat=True) if ((k >> 6) + 1) << (k & 63) > 7
    ]
    LogNode.objects.filter(key__in=gone).delete()
    SignedTreeHead.objects.all().delete()
    assert tree_head_sign().size == 7
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "truncated log: the server's signed head has 7 entries, but it signed 11 before" in line


def test_a_rewritten_history_is_inconsistent(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Rebuild the whole log with entry 5 changed, nodes and all, and append more on top.
    LogEntry.objects.all().delete()
    LogNode.objects.all().delete()
    _append(0, 5)
    log_append(kind=LogEntryKind.ADVISORY_REVISION, ref="MCVD-2026-0005@1", body={"x": 1})
    _append(6, 14)
    tree_head_sign()
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "inconsistent log: the head of size 14" in line
    assert "does not extend the head of size 11" in line


def test_a_bad_signature_is_detected(
    honest: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _append(11, 12)
    head = tree_head_sign()
    SignedTreeHead.objects.filter(pk=head.pk).update(size=13)
    code, line = _verify(capsys, live_server.url, "--state", str(honest))
    assert code == 1
    assert "the server's tree head (size 13) has an invalid signature" in line
