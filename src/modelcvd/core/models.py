"""The kernel's rows: users, sealed blobs (envelope-encrypted payloads) and the hash-chained
audit log.

The user model lives here, not in accounts, because every layer names a user (the audit chain
records its actor) while accounts (roles, organisations, tokens, the sealed researcher
identity) builds on core: with the user in accounts, core and accounts would depend on each
other and no migration history could start with one initial migration per app.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person. `pseudonym` is the only name vendors and the public ever see of a researcher."""

    pseudonym = models.CharField(max_length=100, blank=True)

    @property
    def public_name(self) -> str:
        return self.pseudonym or self.username


class SealedBlob(models.Model):
    """Ciphertext of a sensitive value. The data key is AES-256-GCM, wrapped by a KEK.

    Nothing in this row reveals the plaintext; `kek_id` names the key-encryption key that wraps
    `wrapped_key`, so rotation can find what still needs re-wrapping. `version` names the
    associated data the ciphertext was sealed with (core.sealing): since issue 15 the row that
    owns the blob (model, primary key, column) is part of it, so a blob moved under another
    row, or its bytes copied into another row's blob, no longer opens. The owner is not stored
    here: it is whatever row the reader reached the blob through.
    """

    class Form(models.IntegerChoices):
        # Sealed before issue 15: the associated data was the purpose alone, so the blob opened
        # under any row. Never opened any more; `modelcvd keys reseal` binds it to its owner.
        PURPOSE = 1, "purpose only"
        ROW = 2, "purpose and owning row"

    purpose = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(choices=Form.choices)
    kek_id = models.CharField(max_length=64, db_index=True)
    wrapped_key = models.BinaryField()
    nonce = models.BinaryField()
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"sealed {self.purpose} #{self.pk}"


class AuditEvent(models.Model):
    """One append-only entry in the audit chain. `hash` is the link: HMAC-SHA256, under the
    audit key named by `key_id` (kept outside the database), of every field and `prev_hash`."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"
