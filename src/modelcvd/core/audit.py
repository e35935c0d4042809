"""The tamper-evident audit chain.

Each event's link (`hash`) is an HMAC-SHA256 over its fields and the previous event's link,
under an audit key that is NOT in the database: the audit key file (0600, created on first use)
or MODELCVD_AUDIT_KEY. `seq` counts up from 1 without gaps. So editing, deleting or reordering
any event breaks verification at that event, and someone who can write the database but not
read the key cannot recompute the links after an edit. Each event names the key that linked it
(`key_id`): a rotation (`modelcvd audit rotate-key`) adds a key and keeps the old ones, so old
links still verify. What the keyed chain alone cannot show, a deleted tail or an older database
restored whole, the checkpoints outside the database show (modelcvd.anchoring, docs/audit.md).
Events are written inside the caller's transaction: the change and its audit entry commit
together or not at all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone

from modelcvd.core.models import AuditEvent
from modelcvd.core.sealing import write_private_file

GENESIS = "0" * 64
# Any constant: serialises appends on PostgreSQL so two writers never fork the chain. SQLite
# needs nothing: its IMMEDIATE transactions already admit one writer at a time.
_PG_LOCK_KEY = 0x6D6376640001


def audit_key_id_of(key: bytes) -> str:
    """A public name for an audit key: a hash prefix, so events can name it without it."""
    return "audit-" + hashlib.sha256(b"modelcvd-audit-key-id" + key).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeyring:
    """The audit HMAC keys. `active` links new events; the others verify older links."""

    active: str
    keys: dict[str, bytes]


def _ring_of(keys: list[bytes]) -> AuditKeyring:
    return AuditKeyring(active=audit_key_id_of(keys[0]), keys={audit_key_id_of(k): k for k in keys})


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ImproperlyConfigured(f"{where}: an audit key is not valid base64") from None
    if len(key) != 32:
        raise ImproperlyConfigured(f"{where}: an audit key must be 32 bytes, base64-encoded")
    return key


def _write_audit_key_file(path: Path, ring: AuditKeyring) -> None:
    body = {
        "active": ring.active,
        "keys": {k: base64.b64encode(v).decode() for k, v in ring.keys.items()},
    }
    write_private_file(path, json.dumps(body, indent=1))


def _create_audit_key_file(path: Path) -> AuditKeyring:
    """The first key, made once even when several processes start at the same moment: each
    writes its own temporary file and links it into place, which only one link can do; the
    others read the winner's key (two first keys would leave events no key file verifies)."""
    ring = _ring_of([secrets.token_bytes(32)])
    body = {
        "active": ring.active,
        "keys": {k: base64.b64encode(v).decode() for k, v in ring.keys.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.new")
    write_private_file(tmp, json.dumps(body, indent=1))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return load_audit_keyring(create=False)
    finally:
        tmp.unlink(missing_ok=True)
    return ring


def load_audit_keyring(*, create: bool = True) -> AuditKeyring:
    """The audit keys: from MODELCVD_AUDIT_KEY, else the audit key file (made on first use)."""
    if settings.AUDIT_KEY_ENV:
        parts = [p for p in settings.AUDIT_KEY_ENV.split(",") if p.strip()]
        return _ring_of([_decode_key(p, "MODELCVD_AUDIT_KEY") for p in parts])
    path = Path(settings.AUDIT_KEY_FILE)
    if not path.exists():
        if not create:
            raise ImproperlyConfigured(f"audit key file {path} is missing")
        return _create_audit_key_file(path)
    if path.stat().st_mode & 0o077:
        raise ImproperlyConfigured(
            f"audit key file {path} must not be readable by group or others (chmod 600)"
        )
    raw = json.loads(path.read_text("utf-8"))
    keys = {k: _decode_key(v, str(path)) for k, v in raw["keys"].items()}
    if raw["active"] not in keys:
        raise ImproperlyConfigured(f"audit key file {path}: the active key is not in it")
    return AuditKeyring(active=raw["active"], keys=keys)


def audit_keyring_add_active_key() -> AuditKeyring:
    """A new audit key links new events from now on; every old one stays, to verify."""
    if settings.AUDIT_KEY_ENV:
        raise ImproperlyConfigured(
            "the audit keys come from MODELCVD_AUDIT_KEY; put a new key first in that list "
            "(keep the old ones after it) in your secret store"
        )
    ring = load_audit_keyring()
    key = secrets.token_bytes(32)
    new = AuditKeyring(active=audit_key_id_of(key), keys={**ring.keys, audit_key_id_of(key): key})
    _write_audit_key_file(Path(settings.AUDIT_KEY_FILE), new)
    return new


def audit_link(
    key: bytes,
    *,
    seq: int,
    at: str,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str,
    data: Any,
    prev_hash: str,
    key_id: str,
) -> str:
    """HMAC-SHA256 under `key` of the event's fields, in a canonical JSON array."""
    body = json.dumps(
        [
            seq,
            at,
            actor_id,
            actor_label,
            action,
            object_type,
            object_id,
            reason,
            data,
            prev_hash,
            key_id,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def audit_link_of(event: AuditEvent, key: bytes) -> str:
    return audit_link(
        key,
        seq=event.seq,
        at=event.at.isoformat(),
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        reason=event.reason,
        data=event.data,
        prev_hash=event.prev_hash,
        key_id=event.key_id,
    )


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the current transaction."""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
    user = actor if isinstance(actor, AbstractBaseUser) else None
    ring = load_audit_keyring()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        event = AuditEvent(
            seq=(last.seq + 1) if last else 1,
            at=timezone.now(),
            actor=user,  # type: ignore[misc]  # AUTH_USER_MODEL is a subclass
            actor_label=user.get_username() if user else "system" if actor is None else "anonymous",
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            # A JSON round trip now, so the hash covers exactly what the database will hand back.
            data=json.loads(json.dumps(data or {}, sort_keys=True)),
            prev_hash=last.hash if last else GENESIS,
            key_id=ring.active,
        )
        event.hash = audit_link_of(event, ring.keys[ring.active])
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainVerdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str = ""
    # The last event that verified: its seq (0: none) and its link (GENESIS: none).
    last_seq: int = 0
    head: str = GENESIS


def audit_verify(
    events: Iterable[AuditEvent] | None = None,
    *,
    ring: AuditKeyring | None = None,
    after_seq: int = 0,
    after_head: str = GENESIS,
) -> ChainVerdict:
    """Walk the chain from the start (or from the event after `after_seq`, whose link was
    `after_head`: a checkpoint verified before); name the first event that does not fit."""
    rows = (
        events
        if events is not None
        else AuditEvent.objects.filter(seq__gt=after_seq).order_by("seq").iterator(chunk_size=2000)
    )
    expected_seq, prev_hash, checked = after_seq + 1, after_head, 0

    def broken(event: AuditEvent, problem: str) -> ChainVerdict:
        return ChainVerdict(False, checked, event.seq, problem, expected_seq - 1, prev_hash)

    for event in rows:
        if event.seq != expected_seq:
            return broken(event, f"expected event #{expected_seq}, found #{event.seq}")
        if event.prev_hash != prev_hash:
            return broken(event, "prev_hash does not match the previous event")
        if ring is None:  # read only when there is an event: an empty chain needs no key
            ring = load_audit_keyring(create=False)
        key = ring.keys.get(event.key_id)
        if key is None:
            return broken(
                event,
                f"linked with audit key {event.key_id or '(none)'}, which is not in the audit "
                "keyring",
            )
        if not hmac.compare_digest(audit_link_of(event, key), event.hash):
            return broken(event, "contents do not match the event's keyed link")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    return ChainVerdict(True, checked, last_seq=expected_seq - 1, head=prev_hash)
