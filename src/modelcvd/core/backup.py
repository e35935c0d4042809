"""Backup and restore, the same on SQLite and PostgreSQL.

A backup is one tar archive (gzip-compressed when its name ends in .gz):

- `manifest.json`: format, time, modelcvd version, database engine, the applied migrations,
  row counts, the sha256 of every other member, and the FINGERPRINTS of the key-encryption
  keys that wrap the sealed data and of the audit keys that link the audit chain (never the
  keys: they stay in their own files or secret store, so whoever steals a backup holds only
  ciphertext, and cannot forge audit links);
- `db/<app>.<model>.jsonl`: every row of every table (many-to-many tables included), one JSON
  object a line in primary-key order, streamed. Sealed blobs (report payloads, attachments,
  identities, trial responses) are rows like the others: their ciphertext is base64.

Except the EPHEMERAL tables (listed below with the reason for each): state that only means
something to the running instance, above all the sessions, whose keys are bearer credentials.
They are never written to a backup, skipped if an older backup holds them, and emptied by a
restore, so every person signs in again on a restored instance.

The dump is canonical (sorted keys, full-precision times, rows ordered by key), so two backups
of the same content have members with the same sha256: a restore followed by a backup gives
back the same member hashes. Restore checks every member's hash and the key fingerprints
before it touches the database, refuses a target that holds data unless forced, and writes
everything in one transaction with the rows' own primary keys, so the audit chain verifies.
Sealed blobs of a backup made before row binding (issue 15) are re-sealed for the rows that
hold them in that same transaction (core.services.keys_reseal).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from modelcvd.core.audit import load_audit_keyring
from modelcvd.core.models import AuditEvent, SealedBlob
from modelcvd.core.sealing import load_keyring
from modelcvd.core.services import keys_reseal
from modelcvd.version import __version__

FORMAT = "modelcvd-backup/1"
MANIFEST = "manifest.json"
BATCH = 500
# Filled by `migrate` itself: a fresh instance has these rows and still counts as empty.
PREFILLED = {"contenttypes.contenttype", "auth.permission"}
# Never backed up, emptied on restore. The sessions and the sign-in failures are all the
# database holds of this kind: the cache is in process memory and the Celery broker (SQLite
# file or Redis) is not in the database.
EPHEMERAL = {
    "sessions.session": (
        "signed-in sessions: a session key is a bearer credential (second factor included), "
        "so whoever read a backup could sign in as anyone signed in when it was made"
    ),
    "accounts.signinfailure": (
        "failed sign-ins, kept only while they count towards a lockout window; they carry IP "
        "addresses, and an old lockout brought back by a restore would protect nothing"
    ),
}


class BackupError(Exception):
    """A backup or restore that must not go ahead; the message says why."""


@dataclass(frozen=True)
class RestoreResult:
    rows: int
    tables: int


def key_fingerprint(key: bytes) -> str:
    """A public fingerprint of a KEK: matches a key file to a backup without holding the key."""
    return hashlib.sha256(b"modelcvd-kek-fingerprint" + key).hexdigest()


def _models() -> list[type[models.Model]]:
    found = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]
    return sorted(found, key=lambda m: m._meta.label_lower)


def _backed_up() -> list[type[models.Model]]:
    return [m for m in _models() if m._meta.label_lower not in EPHEMERAL]


def _member(model: type[models.Model]) -> str:
    return f"db/{model._meta.label_lower}.jsonl"


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # full precision (DjangoJSONEncoder would cut microseconds)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _rows(model: type[models.Model]) -> Iterator[bytes]:
    fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
    queryset = model._base_manager.order_by("pk")
    batch: list[models.Model] = []

    def flush() -> Iterator[bytes]:
        for record in serializers.serialize("python", batch, fields=fields):
            line = {"pk": record["pk"], "fields": record["fields"]}
            yield json.dumps(line, default=_default, sort_keys=True, ensure_ascii=False).encode()
            yield b"\n"

    for obj in queryset.iterator(chunk_size=2000):
        batch.append(obj)
        if len(batch) >= BATCH:
            yield from flush()
            batch = []
    yield from flush()


def _applied_migrations() -> list[str]:
    recorder = MigrationRecorder(connection)
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def _key_fingerprints() -> dict[str, str]:
    used = set(SealedBlob.objects.values_list("kek_id", flat=True).distinct())
    ring = load_keyring(create=False) if used or _has_keys() else None
    fingerprints: dict[str, str] = {}
    if ring is not None:
        used.add(ring.active)
        for kek_id in sorted(used):
            if kek_id not in ring.keys:
                raise BackupError(f"sealed data uses key {kek_id}, which is not in the keyring")
            fingerprints[kek_id] = key_fingerprint(ring.keys[kek_id])
    return fingerprints


def _audit_key_fingerprints() -> dict[str, str]:
    """Fingerprints of the audit keys that linked the chain (never the keys: a restore needs
    the audit key file too, or the chain no longer verifies)."""
    used = set(AuditEvent.objects.values_list("key_id", flat=True).distinct()) - {""}
    if not used:
        return {}
    try:
        ring = load_audit_keyring(create=False)
    except ImproperlyConfigured as exc:
        raise BackupError(f"the audit chain is keyed but {exc}") from None
    missing = sorted(used - set(ring.keys))
    if missing:
        raise BackupError(f"audit events use key {missing[0]}, which is not in the audit keyring")
    return {key_id: audit_key_fingerprint(ring.keys[key_id]) for key_id in sorted(used)}


def audit_key_fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"modelcvd-audit-key-fingerprint" + key).hexdigest()


def _has_keys() -> bool:
    return bool(settings.KEK_ENV) or Path(settings.KEY_FILE).exists()


def backup_create(out: Path) -> dict[str, Any]:
    """Write a backup of the whole database to `out` (a new file); return its manifest."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} exists already; name a new file")
    members: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="modelcvd-backup-") as tmp:
        # One read transaction for every table, so the dump is one consistent state (SQLite
        # gives a transaction one snapshot; PostgreSQL needs REPEATABLE READ for it).
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            migrations = _applied_migrations()
            keys = _key_fingerprints()
            audit_keys = _audit_key_fingerprints()
            for model in _backed_up():
                name = _member(model)
                path = Path(tmp) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                digest, count, size = hashlib.sha256(), 0, 0
                with path.open("wb") as handle:
                    for chunk in _rows(model):
                        handle.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        count += chunk == b"\n"
                members[name] = {"sha256": digest.hexdigest(), "rows": count, "bytes": size}
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "modelcvd_version": __version__,
            "database_engine": connection.vendor,
            "migrations": migrations,
            "keys": keys,
            "audit_keys": audit_keys,
            "members": members,
            "excluded": EPHEMERAL,
        }
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        mode = "w:gz" if out.name.endswith(".gz") else "w"
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode=mode) as tar:  # type: ignore[call-overload]
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(timezone.now().timestamp())
                tar.addfile(info, io.BytesIO(body))
                for name in sorted(members):
                    tar.add(Path(tmp) / name, arcname=name, recursive=False)
                raw.flush()
                os.fsync(raw.fileno())
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return manifest


def _open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:*")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path} is not a readable backup archive: {exc}") from None


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        handle = tar.extractfile(MANIFEST)
    except KeyError:
        raise BackupError("the archive has no manifest.json") from None
    if handle is None:
        raise BackupError("manifest.json is not a file")
    manifest: dict[str, Any] = json.loads(handle.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (expected {FORMAT})")
    return manifest


def backup_verify(path: Path) -> dict[str, Any]:
    """Check every member against the manifest's sha256; return the manifest."""
    with _open_archive(Path(path)) as tar:
        manifest = _read_manifest(tar)
        expected = manifest["members"]
        seen: set[str] = set()
        for info in tar:
            if info.name == MANIFEST:
                continue
            if info.name not in expected or not info.isfile():
                raise BackupError(f"unexpected member {info.name!r} in the archive")
            handle = tar.extractfile(info)
            assert handle is not None
            digest = hashlib.sha256()
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
            if digest.hexdigest() != expected[info.name]["sha256"]:
                raise BackupError(f"{info.name} does not match its sha256 in the manifest")
            seen.add(info.name)
        missing = sorted(set(expected) - seen)
        if missing:
            raise BackupError(f"members missing from the archive: {', '.join(missing)}")
    return manifest


def _check_keys(manifest: dict[str, Any]) -> None:
    wanted: dict[str, str] = manifest["keys"]
    if not wanted:
        return
    try:
        ring = load_keyring(create=False)
    except ImproperlyConfigured as exc:
        raise BackupError(
            f"no key file in place ({exc}); put the backup's key file there first"
        ) from None
    wrong = sorted(
        kek_id
        for kek_id, fingerprint in wanted.items()
        if kek_id not in ring.keys or key_fingerprint(ring.keys[kek_id]) != fingerprint
    )
    if wrong:
        raise BackupError(
            "the key file in place does not hold the keys this backup was sealed with "
            f"(missing or different: {', '.join(wrong)}); restore the matching key file first"
        )


def _check_audit_keys(manifest: dict[str, Any]) -> None:
    wanted: dict[str, str] = manifest.get("audit_keys", {})  # none before issue 18
    if not wanted:
        return
    try:
        ring = load_audit_keyring(create=False)
    except ImproperlyConfigured as exc:
        raise BackupError(
            f"no audit key file in place ({exc}); put the backup's audit key file there first"
        ) from None
    wrong = sorted(
        key_id
        for key_id, fingerprint in wanted.items()
        if key_id not in ring.keys or audit_key_fingerprint(ring.keys[key_id]) != fingerprint
    )
    if wrong:
        raise BackupError(
            "the audit key file in place does not hold the keys this backup's audit chain is "
            f"linked with (missing or different: {', '.join(wrong)}); restore the matching "
            "audit key file first"
        )


def _non_empty_tables() -> list[str]:
    return [
        m._meta.label_lower
        for m in _backed_up()
        if m._meta.label_lower not in PREFILLED and m._base_manager.exists()
    ]


def _records(model: type[models.Model], handle: IO[bytes]) -> Iterator[dict[str, Any]]:
    label = model._meta.label_lower
    for line in handle:
        if line.strip():
            record = {"model": label, **json.loads(line)}
            if label == "core.sealedblob":
                # A backup made before row binding has no version: its blobs are purpose-only.
                record["fields"].setdefault("version", SealedBlob.Form.PURPOSE)
            yield record


def _insert(model: type[models.Model], handle: IO[bytes]) -> int:
    fields = model._meta.local_concrete_fields
    batch: list[models.Model] = []
    count = 0
    for deserialized in serializers.deserialize("python", _records(model, handle)):
        batch.append(deserialized.object)
        if len(batch) >= BATCH:
            # raw=True, as loaddata: auto_now fields keep the backed-up times.
            model._base_manager._insert(batch, fields=fields, raw=True)  # type: ignore[attr-defined]
            count += len(batch)
            batch = []
    if batch:
        model._base_manager._insert(batch, fields=fields, raw=True)  # type: ignore[attr-defined]
        count += len(batch)
    return count


def backup_restore(path: Path, *, force: bool = False) -> RestoreResult:
    """Replace the database's content with the backup's, all or nothing."""
    path = Path(path)
    manifest = backup_verify(path)
    _check_keys(manifest)
    _check_audit_keys(manifest)
    here = _applied_migrations()
    if here != manifest["migrations"]:
        missing = sorted(set(manifest["migrations"]) - set(here))
        extra = sorted(set(here) - set(manifest["migrations"]))
        raise BackupError(
            "the database schema differs from the backup's"
            + (
                f"; not applied here: {', '.join(missing[:5])} (run `modelcvd migrate`)"
                if missing
                else ""
            )
            + (f"; applied here only: {', '.join(extra[:5])}" if extra else "")
        )
    by_member = {_member(m): m for m in _models()}
    unknown = sorted(set(manifest["members"]) - set(by_member))
    if unknown:
        raise BackupError(f"the backup has tables this instance lacks: {', '.join(unknown)}")
    occupied = _non_empty_tables()
    if occupied and not force:
        raise BackupError(
            f"the target database holds data ({', '.join(occupied[:5])}"
            f"{', ...' if len(occupied) > 5 else ''}); restore into a fresh instance or pass --force"
        )
    # An older backup may hold sessions: they are verified with the rest, never loaded.
    restored = [
        by_member[name]
        for name in sorted(manifest["members"])
        if by_member[name]._meta.label_lower not in EPHEMERAL
    ]
    rows = 0
    with _open_archive(path) as tar, transaction.atomic():
        # Every table, the ephemeral ones included: no session of the target survives.
        tables = [m._meta.db_table for m in _models()]
        with connection.cursor() as cursor:
            for statement in connection.ops.sql_flush(
                no_style(), tables, reset_sequences=False, allow_cascade=True
            ):
                cursor.execute(statement)
            # Foreign keys are checked at commit (deferred on both backends), so tables load
            # in any order; a dangling reference still fails the whole restore.
            for model in restored:
                handle = tar.extractfile(_member(model))
                assert handle is not None
                rows += _insert(model, handle)
            for statement in connection.ops.sequence_reset_sql(no_style(), restored):
                cursor.execute(statement)
        if connection.vendor == "sqlite":
            connection.check_constraints()
        keys_reseal()
    ContentType.objects.clear_cache()
    return RestoreResult(rows=rows, tables=len(restored))
