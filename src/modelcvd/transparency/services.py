"""Writes to the transparency log: appending an entry, signing a tree head.

Appends run inside the caller's transaction (an advisory's publication appends its revision in
the same transaction), serialised: PostgreSQL by a transaction-scoped advisory lock, SQLite by
its IMMEDIATE transactions. Appends and signatures write no audit event: the log is itself an
append-only, publicly verifiable record, and each append happens inside the audited service
that caused it. A key rotation is audited.
"""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from modelcvd.core.audit import audit_record
from modelcvd.transparency import merkle
from modelcvd.transparency.models import LogEntry, LogNode, SignedTreeHead, node_key
from modelcvd.transparency.signing import instance_signing_key, signing_key_rotate
from modelcvd.transparency.storage import build, log_size, tree_root
from modelcvd.transparency.treehead import tree_head_message
from modelcvd.vocabulary import LogEntryKind

# pg_advisory_xact_lock key for the log ("MCVDLOG" in ASCII); the audit chain uses another.
_PG_LOCK_KEY = 0x4D4356444C4F47


def _serialise() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])


def _size_and_twin(kind: str, ref: str, leaf: str) -> tuple[int, int | None]:
    """The log's size and the id of an identical entry already in it, in one round trip (run
    after the lock, in its own statement, so it sees every append committed before)."""
    table = connection.ops.quote_name(LogEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT (SELECT MAX("index") FROM {table}), '  # noqa: S608 (our own table name)
            f"(SELECT id FROM {table} WHERE kind = %s AND ref = %s AND leaf_hash = %s LIMIT 1)",
            [kind, ref, leaf],
        )
        last, twin = cursor.fetchone()
    return (0 if last is None else last + 1), twin


def log_append(*, kind: LogEntryKind, ref: str, body: dict[str, Any]) -> LogEntry:
    """Append one entry whose leaf data is the canonical JSON of `body`. Idempotent: an entry
    with the same kind, ref and body already in the log is returned as it is."""
    kind = LogEntryKind(kind)
    data = merkle.canonical_bytes(body)
    leaf = merkle.leaf_hash(data)
    with transaction.atomic():
        _serialise()
        index, existing = _size_and_twin(kind, ref, leaf.hex())
        if existing is not None:
            return LogEntry.objects.get(pk=existing)
        made = build(lambda node: merkle.new_nodes(index, leaf, node))
        entry = LogEntry.objects.create(
            index=index,
            kind=kind,
            ref=ref,
            body=data.decode(),
            leaf_hash=leaf.hex(),
            created_at=timezone.now(),
        )
        LogNode.objects.bulk_create(
            [LogNode(key=node_key(level, i), hash=value.hex()) for level, i, value in made]
        )
    return entry


def tree_head_sign() -> SignedTreeHead:
    """Sign the current size and root with the instance key; if the latest head already says
    exactly that (same log, size and root, by the active key), return it instead."""
    with transaction.atomic():
        _serialise()
        size = log_size()
        root = tree_root(size).hex()
        log = settings.BASE_URL
        key_id, key = instance_signing_key()
        latest = SignedTreeHead.objects.order_by("-size", "-id").first()
        if latest and (latest.log, latest.size, latest.root_hash, latest.key_id) == (
            log,
            size,
            root,
            key_id,
        ):
            return latest
        now = timezone.now()
        timestamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        message = tree_head_message(log=log, size=size, root_hash=root, timestamp=timestamp)
        return SignedTreeHead.objects.create(
            log=log,
            size=size,
            root_hash=root,
            timestamp=timestamp,
            key_id=key_id,
            signature=base64.b64encode(key.sign(message)).decode(),
            created_at=now,
        )


def log_key_rotate() -> str:
    """Retire the active signing key (its public part stays published), start a new one, and
    sign the current tree head with it. Returns the new key id."""
    key_id = signing_key_rotate()
    with transaction.atomic():
        audit_record(
            actor=None,
            action="transparency.key_rotate",
            object_type="signing_key",
            object_id=key_id,
            data={"key_id": key_id},
        )
        tree_head_sign()
    return key_id
