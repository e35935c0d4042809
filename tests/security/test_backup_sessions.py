"""A backup gives no live session, and a restore signs everyone out (issue 15, defect 1, the
backup part).

The attack: read a backup (or the database file it came from), take a session id out of it and
replay it as a cookie. Before the fix `modelcvd backup` dumped `django_session`, and a replayed
admin session was already past its second factor. Now the sessions and the other ephemeral
tables (core.backup.EPHEMERAL) never reach an archive in any encoding, a restore loads none
even from an older archive that has them, and it empties the target's: a session id taken from
the database before the restore authenticates nowhere after it, neither on a page nor on the
API. Runs on the test database's backend (SQLite, and PostgreSQL on the PG leg).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from modelcvd.accounts.models import SignInFailure
from modelcvd.core.backup import EPHEMERAL, backup_create, backup_restore
from tests.factories import World, build_world, sign_in

IP = "203.0.113.77"


def _signed_in(world: World) -> dict[str, Client]:
    clients = {
        role: sign_in(Client(enforce_csrf_checks=True), world.users[role])
        for role in ("admin", "triager", "vendor_a")
    }
    SignInFailure.objects.create(username_key="f" * 64, ip=IP, at=timezone.now())
    return clients


def _authenticated(client: Client, username: str) -> bool:
    api = client.get("/api/v1/me")
    page = client.get("/reports/")
    if api.status_code == 200:
        assert api.json()["username"] == username
        assert page.status_code == 200
        return True
    assert api.status_code == 401, api.content
    assert page.status_code == 302 and "signin" in page["Location"]
    return False


def _archive_bytes(path: Path) -> bytes:
    """Everything a reader of the archive gets: the file, its decompressed stream, each member."""
    raw = path.read_bytes()
    with tarfile.open(path) as tar:
        members = b"".join(
            tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
        )
    return raw + gzip.decompress(raw) + members


def _encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        raw.upper(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        raw.hex().encode(),
        json.dumps(secret).encode(),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_backup_holds_no_session_and_a_restore_signs_everyone_out(tmp_path: Path) -> None:
    world = build_world()
    clients = _signed_in(world)
    # The session ids as someone holding the database file reads them.
    stolen = {s.session_key: s.session_data for s in Session.objects.all()}
    cookie = clients["admin"].cookies[settings.SESSION_COOKIE_NAME].value
    assert cookie in stolen and len(stolen) == 3
    for role, client in clients.items():
        assert _authenticated(client, world.users[role].username), role

    archive = tmp_path / "site.tar.gz"
    manifest = backup_create(archive)
    assert (
        set(manifest["excluded"])
        == set(EPHEMERAL)
        >= {
            "sessions.session",
            "accounts.signinfailure",
        }
    )
    for label in EPHEMERAL:
        assert f"db/{label}.jsonl" not in manifest["members"]
    assert manifest["members"]["db/core.user.jsonl"]["rows"] > 0  # control: users are there
    data = _archive_bytes(archive)
    assert world.users["admin"].username.encode() in data  # control: the search finds text
    for key, session_data in stolen.items():
        for needle in _encodings(key) + _encodings(session_data):
            assert needle not in data, needle
    assert IP.encode() not in data

    # Restored over the live instance: every session is gone, the stolen ids included.
    backup_restore(archive, force=True)
    assert not Session.objects.exists()
    assert not SignInFailure.objects.exists()
    for role, client in clients.items():
        assert not _authenticated(client, world.users[role].username), role
    for key in stolen:
        replay = Client(enforce_csrf_checks=True)
        replay.cookies[settings.SESSION_COOKIE_NAME] = key
        assert not _authenticated(replay, "admin")
    # Signing in again works as ever.
    again = sign_in(Client(enforce_csrf_checks=True), world.users["admin"])
    assert _authenticated(again, "admin")


@pytest.mark.django_db(transaction=True)
def test_an_older_backup_with_sessions_restores_none(tmp_path: Path) -> None:
    """An archive written before the fix holds `db/sessions.session.jsonl`: it is checked
    against the manifest like every member, and never loaded."""
    world = build_world()
    clients = _signed_in(world)
    archive = tmp_path / "new.tar"
    backup_create(archive)
    rows = b"".join(
        json.dumps(
            {
                "pk": s.session_key,
                "fields": {
                    "session_data": s.session_data,
                    "expire_date": (timezone.now() + timedelta(days=1)).isoformat(),
                },
            },
            sort_keys=True,
        ).encode()
        + b"\n"
        for s in Session.objects.all()
    )
    old = tmp_path / "old.tar"
    with tarfile.open(archive) as src, tarfile.open(old, "w") as dst:
        members = {m.name: src.extractfile(m).read() for m in src.getmembers()}  # type: ignore[union-attr]
        manifest = json.loads(members.pop("manifest.json"))
        del manifest["excluded"]
        members["db/sessions.session.jsonl"] = rows
        manifest["members"]["db/sessions.session.jsonl"] = {
            "sha256": hashlib.sha256(rows).hexdigest(),
            "rows": rows.count(b"\n"),
            "bytes": len(rows),
        }
        members["manifest.json"] = json.dumps(manifest).encode()
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    backup_restore(old, force=True)
    assert not Session.objects.exists()
    for role, client in clients.items():
        assert not _authenticated(client, world.users[role].username), role
