"""Comparing the database's audit chain with its checkpoints: the latest one in the
transparency log, and the witness file outside the database.

The keyed links (core.audit) catch an edit, even with every later link recomputed, by anyone
without the audit key. They cannot catch a chain that is shorter than it was: a deleted tail,
or an older database restored whole (whose links are all genuine). A checkpoint can: it says
how far the chain reached and what its last link was. The log's checkpoint is in the database
(an attacker who deletes the tail can delete it too, and a restored database brings its own
older log); the witness file is not, which is why it exists.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db.models import Max

from modelcvd.core.audit import audit_verify
from modelcvd.core.models import AuditEvent
from modelcvd.transparency.merkle import canonical_bytes
from modelcvd.transparency.selectors import entries, entry_for_ref, tree_size
from modelcvd.transparency.signing import published_keys
from modelcvd.transparency.storage import tree_root
from modelcvd.transparency.treehead import tree_head_signature_valid
from modelcvd.vocabulary import LogEntryKind

CHECKPOINT_FORMAT = "modelcvd-audit-checkpoint/1"
WITNESS_FORMAT = "modelcvd-audit-witness/1"
# Every checkpoint is about the one audit chain: the latest entry of this ref is the latest.
CHECKPOINT_REF = "audit-chain"


class AnchorDiverged(Exception):
    """The chain does not match a checkpoint; `problems` says each way it diverged."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def witness_read() -> dict[str, Any] | None:
    """The witness file's document, or None when there is none yet."""
    path = Path(settings.AUDIT_WITNESS_FILE)
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    if document.get("format") != WITNESS_FORMAT:
        raise AnchorDiverged([f"the witness file {path} is not a {WITNESS_FORMAT} document"])
    return document


def chain_against(checkpoint: dict[str, Any], source: str = "a checkpoint") -> list[str]:
    """How the database's chain diverges from `checkpoint` (nothing: it extends it)."""
    last_seq, head = int(checkpoint["last_seq"]), str(checkpoint["head"])
    if last_seq == 0:
        return []
    link = AuditEvent.objects.filter(seq=last_seq).values_list("hash", flat=True).first()
    if link is None:
        ends = AuditEvent.objects.aggregate(last=Max("seq"))["last"] or 0
        return [
            f"the chain ends at event #{ends}, but {source} covers {last_seq} events: its "
            "tail was deleted, or an older database was restored"
        ]
    if link != head:
        return [
            f"event #{last_seq}'s link differs from the head in {source}: the chain was "
            "rewritten up to there, or another database was restored"
        ]
    return []


def _tree_head_problems(witness: dict[str, Any], source: str) -> list[str]:
    head = witness["tree_head"]
    size, current = int(head["size"]), tree_size()
    if current < size:
        return [
            f"the transparency log holds {current} entries, fewer than the {size} of the tree "
            f"head in {source}: the log was truncated, or an older database was restored"
        ]
    problems = []
    if tree_root(size).hex() != head["root_hash"]:
        problems.append(
            f"the transparency log's root at size {size} differs from the tree head in {source}: "
            "the log was rewritten"
        )
    index = int(witness["log_index"])
    stored = list(entries(start=index, end=index + 1)) if index < current else []
    if not stored or stored[0].body.encode() != canonical_bytes(witness["checkpoint"]):
        problems.append(f"log entry #{index} is not the checkpoint recorded in {source}")
    keys = {k.key_id: k.public_key_b64 for k in published_keys()}
    public = keys.get(str(head["key_id"]))
    if public is None or not tree_head_signature_valid(
        head, Ed25519PublicKey.from_public_bytes(base64.b64decode(public))
    ):
        problems.append(
            f"the tree head in {source} is not signed by the instance's key {head['key_id']}"
        )
    return problems


@dataclass(frozen=True)
class AnchorVerdict:
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What the chain was compared with: the log entry index of its latest checkpoint there,
    # and the last seq each checkpoint covers (None: no such checkpoint).
    log_checkpoint: int | None = None
    log_last_seq: int | None = None
    witness_last_seq: int | None = None


def audit_anchor_verify() -> AnchorVerdict:
    """The whole check behind `modelcvd audit verify`: every keyed link, then the latest
    checkpoint in the log, then the witness file (and its tree head against the log)."""
    problems: list[str] = []
    warnings: list[str] = []
    verdict = audit_verify()
    if not verdict.ok:
        problems.append(f"audit chain broken at event #{verdict.broken_seq}: {verdict.problem}")
    latest = entry_for_ref(LogEntryKind.AUDIT_CHECKPOINT, CHECKPOINT_REF)
    log_last_seq = None
    if latest is not None:
        body = json.loads(latest.body)
        log_last_seq = int(body["last_seq"])
        problems += chain_against(body, f"the log's latest checkpoint (entry #{latest.index})")
    path = Path(settings.AUDIT_WITNESS_FILE)
    witness_last_seq = None
    try:
        witness = witness_read()
    except AnchorDiverged as exc:
        problems += exc.problems
        witness = None
    if witness is not None:
        source = f"the witness file {path}"
        witness_last_seq = int(witness["checkpoint"]["last_seq"])
        problems += chain_against(witness["checkpoint"], source)
        problems += _tree_head_problems(witness, source)
    elif latest is not None:
        warnings.append(
            f"the log holds audit checkpoints but there is no witness file at {path}: a restore "
            "of an older database cannot be detected without it"
        )
    return AnchorVerdict(
        ok=not problems,
        checked=verdict.checked,
        problems=problems,
        warnings=warnings,
        log_checkpoint=latest.index if latest is not None else None,
        log_last_seq=log_last_seq,
        witness_last_seq=witness_last_seq,
    )
