"""The instance's Ed25519 signing key for tree heads (and attestations).

The private keys live OUTSIDE the database, in a 0600 JSON file (`settings.SIGNING_KEY_FILE`,
env MODELCVD_SIGNING_KEY_FILE), created on first use: someone who can rewrite the database
still cannot sign a tree head. Rotation adds a new active key and keeps every old one, marked
retired, so heads signed before the rotation stay verifiable from the published keys.

A key id is "ed25519:" + the first 16 hex digits of SHA-256 of the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_LOCK = threading.Lock()


@dataclass(frozen=True)
class PublishedKey:
    """A public key as the instance publishes it: anyone verifies tree heads with it."""

    key_id: str
    public_key_b64: str
    created: str
    retired: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "public_key": self.public_key_b64,
            "created": self.created,
            "retired": self.retired,
        }


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


def _path() -> Path:
    return Path(settings.SIGNING_KEY_FILE)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(path: Path, keys: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps({"keys": keys}, indent=1))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written key file


def _new_key() -> dict[str, Any]:
    private = Ed25519PrivateKey.generate()
    public = raw_public(private.public_key())
    return {
        "key_id": key_id_of(public),
        "private_key": base64.b64encode(private.private_bytes_raw()).decode(),
        "public_key": base64.b64encode(public).decode(),
        "created": _now(),
        "retired": None,
    }


def _load(*, create: bool = True) -> list[dict[str, Any]]:
    path = _path()
    if not path.exists():
        if not create:
            raise ImproperlyConfigured(f"signing key file {path} is missing")
        first = [_new_key()]
        _write(path, first)
        return first
    if path.stat().st_mode & 0o077:
        raise ImproperlyConfigured(
            f"signing key file {path} must not be readable by group or others (chmod 600)"
        )
    keys: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))["keys"]
    if not keys or keys[-1]["retired"] is not None:
        raise ImproperlyConfigured(f"signing key file {path} has no active key")
    return keys


def instance_signing_key() -> tuple[str, Ed25519PrivateKey]:
    """(key id, private key) of the active signing key, created on first use."""
    with _LOCK:
        active = _load()[-1]
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(active["private_key"]))
    return active["key_id"], private


def published_keys() -> list[PublishedKey]:
    """Every key the instance ever signed with, oldest first; the last one is active."""
    with _LOCK:
        keys = _load()
    return [
        PublishedKey(
            key_id=k["key_id"],
            public_key_b64=k["public_key"],
            created=k["created"],
            retired=k["retired"],
        )
        for k in keys
    ]


def signing_key_rotate() -> str:
    """Retire the active key (kept, public part still published) and start a new one."""
    with _LOCK:
        keys = _load()
        keys[-1]["retired"] = _now()
        fresh = _new_key()
        _write(_path(), [*keys, fresh])
    return str(fresh["key_id"])
