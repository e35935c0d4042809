"""Appending to the log, signing heads, and the proofs the selectors serve, against the
database (SQLite here; PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from modelcvd.cli import main
from modelcvd.core.errors import InvalidInput
from modelcvd.core.models import AuditEvent
from modelcvd.transparency import merkle, selectors, signing
from modelcvd.transparency.models import LogEntry, LogNode
from modelcvd.transparency.services import log_append, tree_head_sign
from modelcvd.transparency.treehead import public_key_from_b64, tree_head_signature_valid
from modelcvd.vocabulary import LogEntryKind
from tests.transparency_log.test_merkle import naive_mth, naive_path, naive_proof

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_file(settings, tmp_path: Path) -> Path:
    settings.SIGNING_KEY_FILE = tmp_path / "signing-keys.json"
    return settings.SIGNING_KEY_FILE


def _fill(n: int) -> list[bytes]:
    data = []
    for i in range(n):
        entry = log_append(
            kind=LogEntryKind.ADVISORY_REVISION, ref=f"MCVD-2026-{i:04d}@1", body={"i": i}
        )
        data.append(entry.body.encode())
    return data


def test_append_stores_the_canonical_body_and_its_leaf() -> None:
    entry = log_append(
        kind=LogEntryKind.PAYLOAD_COMMITMENT, ref="MCVD-2026-0001", body={"b": [1], "a": "é"}
    )
    assert entry.index == 0
    assert entry.body == '{"a":"é","b":[1]}'
    assert entry.leaf_hash == merkle.leaf_hash(entry.body.encode()).hex()
    again = log_append(
        kind=LogEntryKind.PAYLOAD_COMMITMENT, ref="MCVD-2026-0001", body={"a": "é", "b": [1]}
    )
    assert again.pk == entry.pk and LogEntry.objects.count() == 1
    other = log_append(kind=LogEntryKind.PAYLOAD_COMMITMENT, ref="MCVD-2026-0001", body={"a": 2})
    assert other.index == 1
    assert selectors.entry_for_ref(LogEntryKind.PAYLOAD_COMMITMENT, "MCVD-2026-0001") == other


def test_stored_nodes_serve_the_rfc_proofs() -> None:
    data = _fill(21)
    # Each append stores its leaf and the perfect subtrees it completes: 2n - popcount(n).
    assert LogNode.objects.count() == 2 * 21 - bin(21).count("1")
    for n in (1, 2, 7, 8, 13, 21):
        d = data[:n]
        for m in range(n):
            proof = selectors.inclusion_proof(index=m, size=n)
            assert [bytes.fromhex(p) for p in proof.path] == naive_path(m, d)
            assert merkle.verify_inclusion(
                bytes.fromhex(proof.leaf_hash),
                m,
                n,
                [bytes.fromhex(p) for p in proof.path],
                naive_mth(d),
            )
        for m in range(1, n):
            consistency = selectors.consistency_proof(first=m, second=n)
            assert [bytes.fromhex(p) for p in consistency.path] == naive_proof(m, d)
    assert [e.index for e in selectors.entries(start=3, end=6)] == [3, 4, 5]
    assert [e.index for e in selectors.entries(start=19, end=400)] == [19, 20]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: selectors.inclusion_proof(index=0, size=4), "size"),
        (lambda: selectors.inclusion_proof(index=3, size=3), "index"),
        (lambda: selectors.inclusion_proof(index=-1, size=3), "index"),
        (lambda: selectors.consistency_proof(first=2, second=9), "second"),
        (lambda: selectors.consistency_proof(first=3, second=2), "first"),
        (lambda: selectors.entries(start=5, end=6), "start"),
        (lambda: selectors.entries(start=2, end=1), "end"),
    ],
)
def test_out_of_range_requests_name_the_field(call, field: str) -> None:
    _fill(3)
    with pytest.raises(InvalidInput) as caught:
        call()
    assert [e.field for e in caught.value.errors] == [field]


def test_tree_heads_are_signed_once_per_state_and_survive_rotation(key_file: Path) -> None:
    assert tree_head_sign().size == 0
    _fill(5)
    head = tree_head_sign()
    assert head.size == 5 and head.root_hash == selectors.tree_head_latest().root_hash
    assert tree_head_sign().pk == head.pk  # unchanged: no new head
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    keys = {k.key_id: public_key_from_b64(k.public_key_b64) for k in signing.published_keys()}
    assert tree_head_signature_valid(head.as_dict(), keys[head.key_id])

    new_id = signing.signing_key_rotate()
    assert new_id != head.key_id
    _fill(6)
    newer = tree_head_sign()
    assert newer.key_id == new_id
    published = signing.published_keys()
    assert [k.key_id for k in published] == [head.key_id, new_id]
    assert published[0].retired is not None and published[1].retired is None
    keys = {k.key_id: public_key_from_b64(k.public_key_b64) for k in published}
    assert tree_head_signature_valid(head.as_dict(), keys[head.key_id])
    assert tree_head_signature_valid(newer.as_dict(), keys[new_id])
    assert not tree_head_signature_valid(head.as_dict(), keys[new_id])
    forged = {**newer.as_dict(), "size": newer.size + 1}
    assert not tree_head_signature_valid(forged, keys[new_id])
    assert not tree_head_signature_valid({**newer.as_dict(), "signature": "!!"}, keys[new_id])
    # The private keys never leave the file; the public list carries none of them.
    raw = json.loads(key_file.read_text())
    assert all(base64.b64decode(k["private_key"]) for k in raw["keys"])
    assert "private" not in json.dumps([k.as_dict() for k in published])


def test_a_readable_key_file_is_refused(key_file: Path) -> None:
    signing.instance_signing_key()
    os.chmod(key_file, 0o644)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        signing.instance_signing_key()


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_dense_consistent_log() -> None:
    """Six threads, each its own connection and transaction, append at once: indexes stay
    dense and the stored nodes give the root of the entries in index order."""
    gate: threading.Lock | None = None
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        "file:memorydb"
    ):
        # As in tests/advisories/test_services.py: shared-cache SQLite cannot wait on a lock,
        # so the threads queue here; PostgreSQL runs them in parallel on the advisory lock.
        gate = threading.Lock()
    failures: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                with gate or contextlib.nullcontext():
                    log_append(kind=LogEntryKind.ATTESTATION, ref=f"{worker}-{i}", body={"i": i})
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = list(LogEntry.objects.order_by("index").values_list("index", "leaf_hash"))
    assert [index for index, _ in rows] == list(range(30))
    root = merkle.root_from_leaves([bytes.fromhex(leaf) for _, leaf in rows])
    assert tree_head_sign().root_hash == root.hex()


def test_rotate_key_command_keeps_the_old_key_published(capsys: pytest.CaptureFixture[str]) -> None:
    _fill(2)
    first = tree_head_sign()
    assert main(["log", "rotate-key", "--json"]) == 0
    new_id = json.loads(capsys.readouterr().out)["key_id"]
    assert [k.key_id for k in signing.published_keys()] == [first.key_id, new_id]
    assert AuditEvent.objects.filter(action="transparency.key_rotate").count() == 1
    # A head is signed with the new key at once, over the same tree.
    latest = selectors.tree_head_latest()
    assert (latest.key_id, latest.size, latest.root_hash) == (new_id, 2, first.root_hash)
