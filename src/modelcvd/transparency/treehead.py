"""Signed tree heads: the bytes that are signed and their verification.

Pure (no Django), shared by the server and by any monitor. The signature is Ed25519 over the
canonical JSON of `{"log": <instance base url>, "size": n, "root_hash": hex, "timestamp":
iso8601}`, base64-encoded; the head names the signing key's id.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from modelcvd.transparency.merkle import canonical_bytes

SIGNED_FIELDS = ("log", "size", "root_hash", "timestamp")


def tree_head_message(*, log: str, size: int, root_hash: str, timestamp: str) -> bytes:
    return canonical_bytes(
        {"log": log, "size": size, "root_hash": root_hash, "timestamp": timestamp}
    )


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    """A published key (log-keys.json's `public_key`): ValueError if it is not one."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as error:
        raise ValueError(f"not an Ed25519 public key: {error}") from None


def tree_head_signature_valid(head: Mapping[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Does `head` (as the API serves it) carry a valid signature by `public_key`?"""
    try:
        message = tree_head_message(
            log=str(head["log"]),
            size=int(head["size"]),
            root_hash=str(head["root_hash"]),
            timestamp=str(head["timestamp"]),
        )
        public_key.verify(base64.b64decode(str(head["signature"]), validate=True), message)
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False
    return True
