"""Envelope encryption: round trip, binding to the owning row, key file hygiene, marker absent
from the database file, and rotation that survives being killed midway.

The primitives are tested with unsaved Report instances as owners: a blob is bound to a model,
a primary key and a column, and opening only reads those from the instance it is given."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from modelcvd.core.errors import SealRefused
from modelcvd.core.models import SealedBlob
from modelcvd.core.sealing import keyring_retire, load_keyring, open_blob, seal
from modelcvd.core.services import keys_rotate
from modelcvd.reports.models import Attachment, Report
from tests.factories import document

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.KEY_FILE = tmp_path / "keys" / "kek.json"
    return settings.KEY_FILE


def _seal(plaintext: bytes, pk: int = 1, purpose: str = "t") -> SealedBlob:
    return seal(plaintext, purpose=purpose, owner=Report(pk=pk), field="payload")


def _open(blob: SealedBlob, pk: int = 1) -> bytes:
    return open_blob(blob, owner=Report(pk=pk, payload_id=blob.pk))


def test_round_trip_and_binding_to_purpose_and_row(key_file: Path) -> None:
    blob = _seal(b"secret payload", pk=7, purpose="report.payload")
    assert blob.version == SealedBlob.Form.ROW
    assert _open(blob, pk=7) == b"secret payload"
    with pytest.raises(SealRefused, match="sealed for another row"):
        _open(blob, pk=8)  # the same column of another report
    with pytest.raises(SealRefused, match="sealed for another row"):
        open_blob(blob, owner=Attachment(pk=7, sealed_id=blob.pk))  # another model, same key
    with pytest.raises(SealRefused, match="not held by exactly one column"):
        open_blob(blob, owner=Report(pk=7))  # a row that does not hold it
    blob.purpose = "something.else"
    with pytest.raises(SealRefused, match="sealed for another row, or altered"):
        _open(blob, pk=7)


def test_an_owner_needs_its_key_and_a_sealed_column(key_file: Path) -> None:
    with pytest.raises(ValueError, match="no primary key yet"):
        seal(b"x", purpose="t", owner=Report(), field="payload")
    with pytest.raises(ValueError, match="not a column that holds a sealed blob"):
        seal(b"x", purpose="t", owner=Report(pk=1), field="title")


def test_key_file_is_created_0600_and_group_readable_is_refused(key_file: Path) -> None:
    _seal(b"x")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    os.chmod(key_file, 0o640)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        load_keyring()


def test_kek_from_environment(settings: Any, key_file: Path) -> None:
    settings.KEK_ENV = base64.b64encode(b"k" * 32).decode()
    blob = _seal(b"x")
    assert _open(blob) == b"x"
    assert not key_file.exists()
    settings.KEK_ENV = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        load_keyring()


def test_missing_key_file_is_an_error_when_opening(key_file: Path) -> None:
    blob = _seal(b"x")
    key_file.unlink()
    with pytest.raises(ImproperlyConfigured, match="missing"):
        _open(blob)


MARKER = "MARKER-7f3a9c-unique-payload-string"


def _encodings(marker: str) -> list[bytes]:
    raw = marker.encode()
    return [
        raw,
        base64.b64encode(raw),
        raw.hex().encode(),
        raw.hex().upper().encode(),
        marker.encode("utf-16-le"),
        marker.encode("utf-16-be"),
    ]


@pytest.mark.django_db(transaction=True)  # committed, so another process (pg_dump) sees it
def test_marker_never_reaches_the_database(key_file: Path) -> None:
    from modelcvd.reports.services import report_submit
    from tests.factories import build_world

    world = build_world()
    doc = document()
    doc.reproduction.system_prompt = MARKER
    doc.reproduction.turns[0].content = f"{MARKER} in a turn"
    report_submit(actor=world.users["researcher_a"], document=doc)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        connection.close()
        name = Path(db["NAME"])
        files = [p for p in (name, Path(f"{name}-wal"), Path(f"{name}-shm")) if p.exists()]
        assert name in files
        data = b"".join(p.read_bytes() for p in files)
    else:
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                db["HOST"] or "127.0.0.1",
                "-p",
                str(db["PORT"] or 5432),
                "-U",
                db["USER"] or "postgres",
                "--no-owner",
                db["NAME"],
            ],
            capture_output=True,
            check=True,
        )
        data = dump.stdout
        assert b"COPY public.reports_report" in data
    assert b"Role-play jailbreak" in data  # control: plain fields are found by this search
    for needle in _encodings(MARKER):
        assert needle not in data, needle


def test_rotation_stopped_midway_resumes_and_every_blob_still_opens(key_file: Path) -> None:
    blobs = [_seal(f"payload {i}".encode(), pk=i) for i in range(1, 11)]
    first = load_keyring().active
    keys_rotate(batch_size=3, stop_after=4)  # a rotation that stopped after 4 blobs
    ring = load_keyring()
    assert ring.active != first
    assert SealedBlob.objects.filter(kek_id=first).count() == 6
    # New seals made while the rotation is unfinished use the new key.
    late = _seal(b"late")
    assert late.kek_id == ring.active
    result = keys_rotate(batch_size=3)  # rerun: resumes, does not start another rotation
    assert (result.active, result.rewrapped, result.remaining) == (ring.active, 6, 0)
    assert [_open(SealedBlob.objects.get(pk=b.pk), pk=i) for i, b in enumerate(blobs, 1)] == [
        f"payload {i}".encode() for i in range(1, 11)
    ]
    keyring_retire(first)
    assert first not in json.loads(key_file.read_text())["keys"]
    assert _open(SealedBlob.objects.get(pk=blobs[0].pk)) == b"payload 1"


def test_retiring_a_key_still_in_use_is_refused(key_file: Path) -> None:
    _seal(b"x")
    first = load_keyring().active
    keys_rotate(batch_size=1, stop_after=0)
    with pytest.raises(ImproperlyConfigured, match="still wraps"):
        keyring_retire(first)


def test_cli_rotate(key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from modelcvd.cli import main

    _seal(b"x")
    assert main(["keys", "rotate"]) == 0
    assert "1 data keys re-wrapped, 0 left" in capsys.readouterr().out
