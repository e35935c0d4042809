"""Envelope encryption: round trip, key file hygiene, marker absent from the database file,
and rotation that survives being killed midway."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from modelcvd.core.models import SealedBlob
from modelcvd.core.sealing import keyring_retire, load_keyring, open_blob, seal
from modelcvd.core.services import keys_rotate
from tests.factories import document

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.KEY_FILE = tmp_path / "keys" / "kek.json"
    return settings.KEY_FILE


def test_round_trip_and_purpose_binding(key_file: Path) -> None:
    blob = seal(b"secret payload", purpose="report.payload")
    assert open_blob(blob) == b"secret payload"
    blob.purpose = "something.else"
    with pytest.raises(InvalidTag):
        open_blob(blob)


def test_key_file_is_created_0600_and_group_readable_is_refused(key_file: Path) -> None:
    seal(b"x", purpose="t")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    os.chmod(key_file, 0o640)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        load_keyring()


def test_kek_from_environment(settings: Any, key_file: Path) -> None:
    settings.KEK_ENV = base64.b64encode(b"k" * 32).decode()
    blob = seal(b"x", purpose="t")
    assert open_blob(blob) == b"x"
    assert not key_file.exists()
    settings.KEK_ENV = base64.b64encode(b"short").decode()
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        load_keyring()


def test_missing_key_file_is_an_error_when_opening(key_file: Path) -> None:
    blob = seal(b"x", purpose="t")
    key_file.unlink()
    with pytest.raises(ImproperlyConfigured, match="missing"):
        open_blob(blob)


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
    blobs = [seal(f"payload {i}".encode(), purpose="t") for i in range(10)]
    first = load_keyring().active
    keys_rotate(batch_size=3, stop_after=4)  # a rotation that stopped after 4 blobs
    ring = load_keyring()
    assert ring.active != first
    assert SealedBlob.objects.filter(kek_id=first).count() == 6
    # New seals made while the rotation is unfinished use the new key.
    late = seal(b"late", purpose="t")
    assert late.kek_id == ring.active
    result = keys_rotate(batch_size=3)  # rerun: resumes, does not start another rotation
    assert (result.active, result.rewrapped, result.remaining) == (ring.active, 6, 0)
    assert [open_blob(SealedBlob.objects.get(pk=b.pk)) for b in blobs] == [
        f"payload {i}".encode() for i in range(10)
    ]
    keyring_retire(first)
    assert first not in json.loads(key_file.read_text())["keys"]
    assert open_blob(SealedBlob.objects.get(pk=blobs[0].pk)) == b"payload 0"


def test_retiring_a_key_still_in_use_is_refused(key_file: Path) -> None:
    seal(b"x", purpose="t")
    first = load_keyring().active
    keys_rotate(batch_size=1, stop_after=0)
    with pytest.raises(ImproperlyConfigured, match="still wraps"):
        keyring_retire(first)


def test_cli_rotate(key_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from modelcvd.cli import main

    seal(b"x", purpose="t")
    assert main(["keys", "rotate"]) == 0
    assert "1 data keys re-wrapped, 0 left" in capsys.readouterr().out
