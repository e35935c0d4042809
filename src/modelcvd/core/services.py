"""Writes of the core app: opening sealed values, always with an audit event; rotating the
key-encryption key.

Key rotation re-wraps every data key under a new key-encryption key. Resumable by construction:
the new KEK is made active (atomically, in the key file) before any blob is touched, each blob
is re-wrapped in a conditional UPDATE, and "still to do" is simply "wrapped by a key that is not
the active one"; each batch commits on its own. A rotation killed midway is finished by running
it again. The running server keeps sealing and opening throughout, because every blob names the
KEK that wraps it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.core.models import SealedBlob
from modelcvd.core.sealing import keyring_add_active_key, load_keyring, open_blob, rewrap


def sealed_open(
    *, blob: SealedBlob, actor: AbstractBaseUser | None, reason: str, subject: models.Model
) -> bytes:
    """Decrypt a sealed value for `actor` (None: the platform itself, e.g. a verification worker).
    The caller has checked that the actor may; this records who read what, and why, before
    returning the plaintext."""
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a reason is required to unseal")])
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="seal.open",
            obj=subject,
            reason=reason,
            data={"purpose": blob.purpose},
        )
    return open_blob(blob)


@dataclass(frozen=True)
class RotationResult:
    active: str
    rewrapped: int
    remaining: int


def keys_rotate(
    *, batch_size: int = 500, resume: bool = True, stop_after: int | None = None
) -> RotationResult:
    """Rotate, or finish an unfinished rotation. `stop_after` (tests) stops after that many blobs."""
    ring = load_keyring()
    unfinished = SealedBlob.objects.exclude(kek_id=ring.active).exists()
    if not (resume and unfinished):
        ring = keyring_add_active_key()
        with transaction.atomic():
            audit_record(actor=None, action="keys.rotate.start", data={"active": ring.active})
    done = 0
    while stop_after is None or done < stop_after:
        batch = list(SealedBlob.objects.exclude(kek_id=ring.active).order_by("pk")[:batch_size])
        if not batch:
            break
        # One commit per batch: a kill loses at most the batch in flight, which the rerun redoes.
        with transaction.atomic():
            for blob in batch:
                if stop_after is not None and done >= stop_after:
                    break
                done += int(rewrap(blob, ring))
    remaining = SealedBlob.objects.exclude(kek_id=ring.active).count()
    if remaining == 0:
        with transaction.atomic():
            audit_record(
                actor=None,
                action="keys.rotate.done",
                data={"active": ring.active, "rewrapped": done},
            )
    return RotationResult(active=ring.active, rewrapped=done, remaining=remaining)
