"""The transparency log's rows: entries (the leaves), the tree's stored nodes, signed heads.

Nothing here is ever updated or deleted; `transparency.services` only appends.
"""

from __future__ import annotations

from django.db import models

from modelcvd.vocabulary import LogEntryKind


class LogEntry(models.Model):
    """One leaf of the log. `body` is the canonical JSON text whose UTF-8 bytes are the leaf
    data, so anyone holding the body recomputes `leaf_hash` = SHA-256(0x00 || body)."""

    Kind = LogEntryKind

    index = models.BigIntegerField(unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # What the entry is about, e.g. "MCVD-2026-0001@3" (an advisory's revision 3).
    ref = models.CharField(max_length=200)
    body = models.TextField()
    leaf_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["index"]
        indexes = [models.Index(fields=["kind", "ref"], name="logentry_kind_ref")]

    def __str__(self) -> str:
        return f"#{self.index} {self.kind} {self.ref}"


def node_key(level: int, index: int) -> int:
    """One integer for a node (level < 64): proofs fetch their nodes with one `key IN (...)`."""
    return (index << 6) | level


class LogNode(models.Model):
    """The hash of one complete, perfect subtree: leaves [index * 2**level, (index + 1) *
    2**level), keyed by node_key(level, index). Written once, when its last leaf is appended;
    every proof reads O(log n) of them (transparency.merkle explains the scheme)."""

    key = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"node {self.key & 63}/{self.key >> 6}"


class SignedTreeHead(models.Model):
    """A tree head signed with the instance key. `log` and `timestamp` are kept exactly as
    signed (the signature covers their text)."""

    log = models.CharField(max_length=300)
    size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40)
    key_id = models.CharField(max_length=40)
    signature = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-size", "-id"]
        indexes = [models.Index(fields=["-size", "-id"], name="sth_latest")]

    def __str__(self) -> str:
        return f"tree head {self.size} {self.root_hash[:12]}"

    def as_dict(self) -> dict[str, object]:
        return {
            "log": self.log,
            "size": self.size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature,
        }
