"""Writes of the core app: opening sealed values, always with an audit event (a read, or a
refusal when the value was not sealed for the row it was reached through); re-sealing values
sealed in the old purpose-only form; rotating the key-encryption key and the audit key.

Key rotation re-wraps every data key under a new key-encryption key. Resumable by construction:
the new KEK is made active (atomically, in the key file) before any blob is touched, each blob
is re-wrapped in a conditional UPDATE, and "still to do" is simply "wrapped by a key that is not
the active one"; each batch commits on its own. A rotation killed midway is finished by running
it again. The running server keeps sealing and opening throughout, because every blob names the
KEK that wraps it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction

from modelcvd.core.audit import audit_keyring_add_active_key, audit_record
from modelcvd.core.errors import FieldError, InvalidInput, SealRefused
from modelcvd.core.models import SealedBlob
from modelcvd.core.sealing import (
    Keyring,
    keyring_add_active_key,
    load_keyring,
    open_blob,
    reseal,
    rewrap,
    sealed_columns,
)

logger = logging.getLogger("modelcvd.security")


def sealed_open(
    *,
    blob: SealedBlob,
    actor: AbstractBaseUser | None,
    reason: str,
    subject: models.Model,
    owner: models.Model | None = None,
) -> bytes:
    """Decrypt a sealed value for `actor` (None: the platform itself, e.g. a verification worker).
    The caller has checked that the actor may; this records who read what, and why, before
    returning the plaintext.

    `owner` is the row the caller reached the blob through (by default `subject`, the row the
    audit event names): the blob opens only if it was sealed for that row. When it was not (a
    database writer moved it, or copied another row's ciphertext into it), SealRefused is raised
    and the refusal is audited and logged; no plaintext is returned.
    """
    if not reason.strip():
        raise InvalidInput([FieldError("reason", "a reason is required to unseal")])
    holder = subject if owner is None else owner
    try:
        plaintext = open_blob(blob, owner=holder)
    except SealRefused as exc:
        _refusal_record(actor=actor, blob=blob, owner=holder, reason=reason, error=exc)
        raise
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="seal.open",
            obj=subject,
            reason=reason,
            data={"purpose": blob.purpose},
        )
    return plaintext


def sealed_read(*, blob: SealedBlob, owner: models.Model) -> bytes:
    """Decrypt a sealed value the platform uses itself, many times over (stored trials on a
    resume, a webhook endpoint's signing secret): not audited one by one, as the operation that
    reads it is. A refusal is audited like sealed_open's."""
    try:
        return open_blob(blob, owner=owner)
    except SealRefused as exc:
        _refusal_record(actor=None, blob=blob, owner=owner, reason="", error=exc)
        raise


def _refusal_record(
    *,
    actor: AbstractBaseUser | None,
    blob: SealedBlob,
    owner: models.Model,
    reason: str,
    error: SealRefused,
) -> None:
    # Logged as well as audited: a caller whose whole transaction rolls back on the error (an
    # advisory being published) takes the audit event with it, never the log line.
    logger.warning(
        "seal.refused: blob #%s reached through %s #%s: %s",
        blob.pk,
        owner._meta.label_lower,
        owner.pk,
        error.message,
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="seal.refused",
            obj=owner,
            reason=reason,
            data={"purpose": blob.purpose, "blob": blob.pk, "error": error.message},
        )


@dataclass(frozen=True)
class ResealResult:
    resealed: int
    # Old-form blobs left as they are (they never open): held by no row or by several, or not
    # opening in the old form (altered, or a row-bound blob marked old by a database writer).
    left: int


def _holders(blob_ids: list[int]) -> dict[int, list[tuple[models.Model, str]]]:
    """Which rows hold each of these blobs, in which column, across every installed model
    (core names no domain app: the app registry lists the columns)."""
    found: dict[int, list[tuple[models.Model, str]]] = {pk: [] for pk in blob_ids}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        local = {f.name for f in model._meta.local_concrete_fields}
        for column in sealed_columns(model):
            if column.name not in local:
                continue  # inherited: listed once, under the model that declares it
            rows = model._base_manager.filter(**{f"{column.attname}__in": blob_ids}).only(
                "pk", column.attname
            )
            for row in rows:
                found[getattr(row, column.attname)].append((row, column.name))
    return found


def keys_reseal(*, batch_size: int = 500, ring: Keyring | None = None) -> ResealResult:
    """Re-seal every blob still in the old purpose-only form for the row that holds it, so it
    opens there and nowhere else. Resumable like a rotation: "still to do" is "still in the old
    form", and each batch commits on its own. Called by `modelcvd keys reseal`, by a restore
    (old backups) and by a rotation."""
    old = SealedBlob.objects.filter(version=SealedBlob.Form.PURPOSE)
    if not old.exists():
        return ResealResult(resealed=0, left=0)
    ring = ring or load_keyring(create=False)
    resealed = left = 0
    last = 0
    while batch := list(old.filter(pk__gt=last).order_by("pk")[:batch_size]):
        last = batch[-1].pk
        holders = _holders([blob.pk for blob in batch])
        with transaction.atomic():
            for blob in batch:
                if len(holders[blob.pk]) != 1:
                    left += 1
                    continue
                owner, field = holders[blob.pk][0]
                try:
                    resealed += int(reseal(blob, owner=owner, field=field, ring=ring))
                except SealRefused as exc:
                    logger.warning("keys.reseal: %s", exc.message)
                    left += 1
    if resealed or left:
        with transaction.atomic():
            audit_record(
                actor=None,
                action="keys.reseal",
                data={"resealed": resealed, "left": left},
            )
    return ResealResult(resealed=resealed, left=left)


@dataclass(frozen=True)
class RotationResult:
    active: str
    rewrapped: int
    remaining: int
    # Old purpose-only blobs re-sealed to the row-bound form on the way (keys_reseal).
    resealed: int = 0


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
    # Old-form blobs get a fresh data key under the new KEK here, so they need no re-wrap.
    resealed = keys_reseal(batch_size=batch_size, ring=ring).resealed
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
    return RotationResult(
        active=ring.active, rewrapped=done, remaining=remaining, resealed=resealed
    )


def audit_key_rotate() -> str:
    """Make a new audit key active: every later event is linked with it. Nothing is rewritten:
    each event names its key, and the old keys stay in the audit key file to verify old links.
    The rotation itself is the first event linked with the new key."""
    ring = audit_keyring_add_active_key()
    with transaction.atomic():
        audit_record(
            actor=None,
            action="audit.key.rotate",
            data={"active": ring.active, "keys": len(ring.keys)},
        )
    return ring.active
