"""Checkpointing the audit chain into the transparency log and the witness file.

No audit event is written for a checkpoint: it would move the head it records, and the log
entry is itself the public, append-only record of it (as for every log append).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from modelcvd.anchoring.witness import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_REF,
    WITNESS_FORMAT,
    AnchorDiverged,
    chain_against,
    witness_read,
)
from modelcvd.core.audit import GENESIS, audit_record, audit_verify
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.core.models import AuditEvent
from modelcvd.core.sealing import write_private_file
from modelcvd.transparency.selectors import entry_for_ref
from modelcvd.transparency.services import log_append, tree_head_sign
from modelcvd.vocabulary import LogEntryKind

logger = logging.getLogger("modelcvd.security")


@dataclass(frozen=True)
class Checkpoint:
    events: int
    last_seq: int
    head: str
    log_index: int
    tree_size: int
    root_hash: str


def audit_checkpoint() -> Checkpoint:
    """Verify the chain since the last checkpoint, then anchor its head: a log entry, a signed
    tree head, and the witness file. Refused (AnchorDiverged, logged) when the chain does not
    verify or falls short of the witness or the log: anchoring it then would bless a rewrite,
    and overwriting the witness would hide an older database restored."""
    witness = witness_read()
    with transaction.atomic():
        previous = entry_for_ref(LogEntryKind.AUDIT_CHECKPOINT, CHECKPOINT_REF)
        anchored = [json.loads(previous.body)] if previous is not None else []
        if witness is not None:
            anchored.append(witness["checkpoint"])
        problems = [p for body in anchored for p in chain_against(body)]
        start = max(anchored, key=lambda body: int(body["last_seq"]), default=None)
        after_seq = int(start["last_seq"]) if start and not problems else 0
        after_head = str(start["head"]) if start and not problems else GENESIS
        verdict = audit_verify(after_seq=after_seq, after_head=after_head)
        if not verdict.ok:
            problems.append(f"audit chain broken at event #{verdict.broken_seq}: {verdict.problem}")
        if problems:
            logger.error("audit.checkpoint refused: %s", "; ".join(problems))
            raise AnchorDiverged(problems)
        last_seq = verdict.last_seq
        body: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "events": AuditEvent.objects.count(),
            "last_seq": last_seq,
            "head": verdict.head,
        }
        entry = log_append(kind=LogEntryKind.AUDIT_CHECKPOINT, ref=CHECKPOINT_REF, body=body)
        head = tree_head_sign()
    tree_head = {
        "log": head.log,
        "size": head.size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "key_id": head.key_id,
        "signature": head.signature,
    }
    document = {
        "format": WITNESS_FORMAT,
        "written_at": timezone.now().isoformat(),
        "log_index": entry.index,
        "checkpoint": body,
        "tree_head": tree_head,
    }
    write_private_file(settings.AUDIT_WITNESS_FILE, json.dumps(document, indent=1, sort_keys=True))
    return Checkpoint(
        events=body["events"],
        last_seq=last_seq,
        head=verdict.head,
        log_index=entry.index,
        tree_size=head.size,
        root_hash=head.root_hash,
    )


def audit_witness_reset(*, reason: str) -> Path | None:
    """Set the witness file aside (kept as `<name>.superseded-<time>`), after an older backup
    was restored on purpose; the next checkpoint writes a new one. An audit event records who
    did it, why, and the head the old witness held. Returns where the old witness went."""
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a reason is required to reset the witness")])
    path = Path(settings.AUDIT_WITNESS_FILE)
    old = witness_read()
    kept = None
    if old is not None:
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        kept = path.with_name(f"{path.name}.superseded-{stamp}")
        path.replace(kept)
    with transaction.atomic():
        audit_record(
            actor=None,
            action="audit.witness.reset",
            reason=reason,
            data={"witness": old["checkpoint"] if old else None, "kept": str(kept or "")},
        )
    logger.warning("audit.witness.reset: %s (old witness kept at %s)", reason, kept)
    return kept
