"""Shapes of the transparency log's public API. Hashes are lowercase hex; signatures base64."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class TreeHeadOut(Schema):
    log: str = Field(description="The instance's base URL, as signed")
    size: int = Field(description="Number of entries in the tree")
    root_hash: str = Field(description="RFC 9162 Merkle tree hash (SHA-256), hex")
    timestamp: str = Field(description="When the head was signed (ISO 8601, UTC), as signed")
    key_id: str = Field(description="The signing key; see /.well-known/modelcvd/log-keys.json")
    signature: str = Field(
        description="Ed25519 over the canonical JSON of {log, size, root_hash, timestamp}, base64"
    )


class InclusionProofOut(Schema):
    index: int
    size: int
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical body), hex")
    path: list[str] = Field(description="RFC 9162 inclusion proof, leaf to root, hex")


class ConsistencyProofOut(Schema):
    first: int
    second: int
    path: list[str] = Field(description="RFC 9162 consistency proof, hex")


class EntryOut(Schema):
    index: int
    kind: str
    ref: str
    body: dict[str, Any] = Field(
        description="The entry; its canonical JSON (sorted keys, no spaces, UTF-8) is the leaf"
    )
    leaf_hash: str
    created_at: str


class EntriesOut(Schema):
    start: int
    end: int = Field(description="One past the last index returned")
    entries: list[EntryOut]


class EntryProofOut(Schema):
    """One entry with its inclusion proof in the latest signed tree head: what a reader needs
    to check it offline (`modelcvd log verify --advisory FILE --proof THIS`)."""

    entry: EntryOut
    tree_head: TreeHeadOut | None = Field(description="Null until a head covering it is signed")
    inclusion: InclusionProofOut | None
