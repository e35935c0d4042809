"""Envelope encryption for payloads at rest, with the `cryptography` library.

Each value gets its own AES-256-GCM data key; the data key is wrapped (RFC 3394 AES key wrap)
by a key-encryption key (KEK). The KEK lives outside the database: in a key file created 0600
on first use, or in MODELCVD_KEK. An attacker holding only the database holds only ciphertext.

Each value is bound to the row that owns it: the GCM associated data names the purpose, the
owner's model and primary key and the column that holds the blob (`associated_data`). Opening
rebuilds it from the row the reader reached the blob through, so someone who can write the
database but not read the key cannot move a held-out item's ciphertext under a report a vendor
may read: it no longer opens there. The owner must exist (have its primary key) before its value
is sealed; `create_sealed` does both in one transaction for a column that cannot be empty.

Opening a blob is deliberately not exported from here for general use: callers go through
`core.services.sealed_open`, which writes an audit event for every read and every refusal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from modelcvd.core.errors import SealRefused
from modelcvd.core.models import SealedBlob

M = TypeVar("M", bound=models.Model)
# First element of the row-bound associated data: no other use of these keys encodes alike.
AAD_TAG = "modelcvd-seal"


def kek_id_of(key: bytes) -> str:
    """A public name for a KEK: a hash prefix, so a key file can be matched without the key."""
    return "kek-" + hashlib.sha256(b"modelcvd-kek-id" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Keyring:
    """The KEKs this process can use. `active` wraps new data keys; the others still unwrap."""

    active: str
    keys: dict[str, bytes]

    def key(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise ImproperlyConfigured(
                f"key-encryption key {kek_id} is not in the keyring"
            ) from None


def _write_key_file(path: Path, ring: Keyring) -> None:
    body = json.dumps(
        {
            "active": ring.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in ring.keys.items()},
        },
        indent=1,
    )
    write_private_file(path, body)


def write_private_file(path: Path, body: str) -> None:
    """Write `body` to `path`, 0600 (its folder 0700 when made here), atomically: a crash
    leaves the old file or the new one, never half of one. For key files and witnesses."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written key file


def load_keyring(*, create: bool = True) -> Keyring:
    if settings.KEK_ENV:
        key = base64.b64decode(settings.KEK_ENV)
        if len(key) != 32:
            raise ImproperlyConfigured("MODELCVD_KEK must be 32 bytes, base64-encoded")
        return Keyring(active=kek_id_of(key), keys={kek_id_of(key): key})
    path = Path(settings.KEY_FILE)
    if not path.exists():
        if not create:
            raise ImproperlyConfigured(f"key file {path} is missing")
        key = AESGCM.generate_key(bit_length=256)
        ring = Keyring(active=kek_id_of(key), keys={kek_id_of(key): key})
        _write_key_file(path, ring)
        return ring
    if path.stat().st_mode & 0o077:
        raise ImproperlyConfigured(
            f"key file {path} must not be readable by group or others (chmod 600)"
        )
    raw = json.loads(path.read_text("utf-8"))
    return Keyring(
        active=raw["active"], keys={k: base64.b64decode(v) for k, v in raw["keys"].items()}
    )


def keyring_add_active_key() -> Keyring:
    """Start a rotation: a new KEK becomes active; old ones stay to unwrap until retired."""
    if settings.KEK_ENV:
        raise ImproperlyConfigured(
            "the KEK comes from MODELCVD_KEK; rotate it in your secret store"
        )
    ring = load_keyring()
    key = AESGCM.generate_key(bit_length=256)
    new = Keyring(active=kek_id_of(key), keys={**ring.keys, kek_id_of(key): key})
    _write_key_file(Path(settings.KEY_FILE), new)
    return new


def keyring_retire(kek_id: str) -> Keyring:
    ring = load_keyring()
    if kek_id == ring.active:
        raise ImproperlyConfigured("the active key cannot be retired")
    if SealedBlob.objects.filter(kek_id=kek_id).exists():
        raise ImproperlyConfigured(
            f"{kek_id} still wraps data keys; finish `modelcvd keys rotate` first"
        )
    new = Keyring(active=ring.active, keys={k: v for k, v in ring.keys.items() if k != kek_id})
    _write_key_file(Path(settings.KEY_FILE), new)
    return new


def sealed_columns(model: type[models.Model]) -> list[models.ForeignKey[Any, Any]]:
    """The columns of `model` that hold a sealed blob (a ForeignKey or OneToOneField to it)."""
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and f.related_model is SealedBlob
    ]


def _owner_label(owner: models.Model) -> str:
    return (owner._meta.concrete_model or type(owner))._meta.label_lower


def associated_data(*, version: int, purpose: str, owner: models.Model, field: str) -> bytes:
    """What AES-GCM authenticates beside the ciphertext. The row-bound form names the owning
    row (model label, primary key) and its column, in a tagged JSON array: canonical, and no
    two owners encode alike. The purpose-only form is kept to re-seal old blobs."""
    if version == SealedBlob.Form.PURPOSE:
        return purpose.encode()
    if version != SealedBlob.Form.ROW:
        raise SealRefused(f"sealed value in an unknown form (version {version})")
    # The model that declares the column names the owner: the same for a proxy or a subclass.
    declared = type(owner)._meta.get_field(field).model._meta.label_lower
    identity = [AAD_TAG, version, purpose, declared, str(owner.pk), field]
    return json.dumps(identity, separators=(",", ":"), ensure_ascii=True).encode()


def _check_owner(owner: models.Model, field: str) -> None:
    if owner.pk is None:
        raise ValueError(
            f"{_owner_label(owner)} has no primary key yet: a sealed value is bound to its row "
            "(save the row first, or use create_sealed)"
        )
    if field not in {f.name for f in sealed_columns(type(owner))}:
        raise ValueError(f"{_owner_label(owner)}.{field} is not a column that holds a sealed blob")


def _seal_into(
    blob: SealedBlob, plaintext: bytes, *, owner: models.Model, field: str, ring: Keyring
) -> SealedBlob:
    _check_owner(owner, field)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(12)
    blob.version = SealedBlob.Form.ROW
    aad = associated_data(version=blob.version, purpose=blob.purpose, owner=owner, field=field)
    blob.kek_id = ring.active
    blob.wrapped_key = aes_key_wrap(ring.key(ring.active), data_key)
    blob.nonce = nonce
    blob.ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    return blob


def seal_unsaved(
    plaintext: bytes,
    *,
    purpose: str,
    owner: models.Model,
    field: str,
    ring: Keyring | None = None,
) -> SealedBlob:
    """Encrypt `plaintext` under a fresh data key, bound to column `field` of `owner` (whose
    primary key must be set); the caller saves (or bulk-creates) the blob and points the column
    at it."""
    blob = SealedBlob(purpose=purpose)
    return _seal_into(blob, plaintext, owner=owner, field=field, ring=ring or load_keyring())


def seal(plaintext: bytes, *, purpose: str, owner: models.Model, field: str) -> SealedBlob:
    """Encrypt `plaintext` for column `field` of the saved row `owner` and save the blob; the
    caller then sets `owner.<field>` to it and saves the owner."""
    blob = seal_unsaved(plaintext, purpose=purpose, owner=owner, field=field)
    blob.save(force_insert=True)
    return blob


def create_sealed(
    model: type[M], *, values: dict[str, Any], field: str, plaintext: bytes, purpose: str
) -> M:
    """Create a row of `model` from `values` whose column `field` holds `plaintext` sealed for
    that very row: for a column that cannot be empty, so the row cannot exist before its blob.
    As create_sealed_many, through the model's own save()."""
    with transaction.atomic():
        blob = _placeholder(purpose)
        blob.save(force_insert=True)
        owner = model._default_manager.create(**values, **{field: blob})
        _seal_into(blob, plaintext, owner=owner, field=field, ring=load_keyring())
        blob.save(update_fields=FILLED)
    return owner


def create_sealed_many(
    model: type[M],
    *,
    rows: Sequence[tuple[dict[str, Any], bytes]],
    field: str,
    purpose: str,
    ring: Keyring | None = None,
    batch_size: int | None = None,
) -> list[M]:
    """Bulk-create rows of `model`, each with its own value sealed for it in column `field`.

    The owner's primary key is part of the associated data, and the row needs its blob to be
    inserted: so, in one transaction, empty blobs are inserted, then the rows pointing at them,
    then the blobs are filled. A blob is never committed empty.
    """
    ring = ring or load_keyring()
    with transaction.atomic():
        blobs = SealedBlob.objects.bulk_create(
            [_placeholder(purpose) for _ in rows], batch_size=batch_size
        )
        owners = model._default_manager.bulk_create(
            [
                model(**values, **{field: blob})
                for (values, _), blob in zip(rows, blobs, strict=True)
            ],
            batch_size=batch_size,
        )
        for owner, blob, (_, plaintext) in zip(owners, blobs, rows, strict=True):
            _seal_into(blob, plaintext, owner=owner, field=field, ring=ring)
        SealedBlob.objects.bulk_update(blobs, FILLED, batch_size=batch_size)
    return owners


# What _seal_into writes (besides what the placeholder already holds).
FILLED = ["version", "kek_id", "wrapped_key", "nonce", "ciphertext"]


def _placeholder(purpose: str) -> SealedBlob:
    return SealedBlob(
        purpose=purpose,
        version=SealedBlob.Form.ROW,
        kek_id="",
        wrapped_key=b"",
        nonce=b"",
        ciphertext=b"",
    )


def reached_column(blob: SealedBlob, owner: models.Model) -> str:
    """The column of `owner` that holds `blob`: the row the reader reached the blob through.
    Refused when no column (the caller passed a row that does not hold it) or several do."""
    columns = [f.name for f in sealed_columns(type(owner)) if getattr(owner, f.attname) == blob.pk]
    if len(columns) != 1:
        raise SealRefused(
            f"sealed value #{blob.pk} is not held by exactly one column of "
            f"{_owner_label(owner)} #{owner.pk}"
        )
    return columns[0]


def open_blob(blob: SealedBlob, *, owner: models.Model) -> bytes:
    """Decrypt `blob`, reached through the row `owner`. Internal: call core.services.sealed_open
    (it audits the read) or sealed_read (it audits a refusal).

    The associated data is rebuilt from `owner`, never from anything stored with the blob, so a
    blob moved under another row, or its bytes copied into another row's blob, fails the GCM
    tag check: SealRefused, and no plaintext.
    """
    field = reached_column(blob, owner)
    if blob.version == SealedBlob.Form.PURPOSE:
        raise SealRefused(
            f"sealed value #{blob.pk} is in the old purpose-only form, which opens under any "
            "row; run `modelcvd keys reseal` to bind it to its row"
        )
    aad = associated_data(version=blob.version, purpose=blob.purpose, owner=owner, field=field)
    ring = load_keyring(create=False)
    try:
        data_key = aes_key_unwrap(ring.key(blob.kek_id), bytes(blob.wrapped_key))
        return AESGCM(data_key).decrypt(bytes(blob.nonce), bytes(blob.ciphertext), aad)
    except (InvalidTag, InvalidUnwrap):
        raise SealRefused(
            f"sealed value #{blob.pk} does not open for {_owner_label(owner)} #{owner.pk}.{field}: "
            "it was sealed for another row, or altered"
        ) from None


def reseal(blob: SealedBlob, *, owner: models.Model, field: str, ring: Keyring) -> bool:
    """Re-seal one old purpose-only blob for the row that holds it now, under a fresh data key
    and the active KEK. Conditional on the blob still being in the old form, so a rerun or a
    concurrent run does it once. The database is trusted as it stands at this moment: a blob
    moved before its re-seal is bound where it was found.

    SealRefused when it does not open in the old form (altered, or a row-bound blob whose
    version a database writer set back to 1): it is left as it is, and never opens."""
    if blob.version != SealedBlob.Form.PURPOSE:
        return False
    try:
        data_key = aes_key_unwrap(ring.key(blob.kek_id), bytes(blob.wrapped_key))
        plaintext = AESGCM(data_key).decrypt(
            bytes(blob.nonce), bytes(blob.ciphertext), blob.purpose.encode()
        )
    except (InvalidTag, InvalidUnwrap):
        raise SealRefused(f"sealed value #{blob.pk} does not open in the old form") from None
    fresh = _seal_into(
        SealedBlob(purpose=blob.purpose), plaintext, owner=owner, field=field, ring=ring
    )
    updated = SealedBlob.objects.filter(pk=blob.pk, version=SealedBlob.Form.PURPOSE).update(
        version=fresh.version,
        kek_id=fresh.kek_id,
        wrapped_key=fresh.wrapped_key,
        nonce=fresh.nonce,
        ciphertext=fresh.ciphertext,
    )
    return updated == 1


def rewrap(blob: SealedBlob, ring: Keyring) -> bool:
    """Re-wrap one blob's data key under the active KEK. The ciphertext, and so the associated
    data it was sealed with, is untouched."""
    if blob.kek_id == ring.active:
        return False
    data_key = aes_key_unwrap(ring.key(blob.kek_id), bytes(blob.wrapped_key))
    updated = SealedBlob.objects.filter(pk=blob.pk, kek_id=blob.kek_id).update(
        kek_id=ring.active, wrapped_key=aes_key_wrap(ring.key(ring.active), data_key)
    )
    return updated == 1
