"""Backup and restore: a round trip gives back the same content (every table's canonical dump
has the same sha256), sealed data still opens, the audit chain verifies, and restore refuses
a tampered archive, a key file that does not match and a target that holds data. Runs on the
test database's backend (SQLite, and PostgreSQL on the PG leg), in-process and as real
`modelcvd backup` / `modelcvd restore` processes into a fresh instance."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from modelcvd.cli import main
from modelcvd.core.audit import audit_verify
from modelcvd.core.backup import BackupError, backup_create, backup_restore, backup_verify
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_payload_open
from tests.factories import build_world


def _members(manifest: dict[str, Any]) -> dict[str, str]:
    return {name: m["sha256"] for name, m in manifest["members"].items()}


def _url(name: str) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.mark.django_db(transaction=True)
def test_round_trip_is_identical_and_verifies(tmp_path: Path) -> None:
    world = build_world()
    first = backup_create(tmp_path / "a.tar.gz")
    assert first["members"]["db/core.auditevent.jsonl"]["rows"] > 0
    assert first["members"]["db/core.sealedblob.jsonl"]["rows"] > 0
    assert first["members"]["db/reports.attachment.jsonl"]["rows"] == 1
    # Fingerprints, never keys: no member holds the key file's bytes.
    key_text = json.loads(Path(_key_file()).read_text())
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        blob = b"".join(
            tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
        )
    for key in key_text["keys"].values():
        assert key.encode() not in blob
    assert set(first["keys"]) == set(key_text["keys"])

    with pytest.raises(BackupError, match="holds data"):
        backup_restore(tmp_path / "a.tar.gz")
    call_command("flush", "--noinput", verbosity=0)  # a fresh instance: migrated, no data
    result = backup_restore(tmp_path / "a.tar.gz")
    assert result.rows == sum(m["rows"] for m in first["members"].values())
    second = backup_create(tmp_path / "b.tar")
    assert _members(second) == _members(first)
    assert audit_verify().ok
    assert main(["audit", "verify"]) == 0
    report = Report.objects.get(pk=world.reports["a"].pk)
    opened = report_payload_open(report=report, actor=world.users["researcher_a"], reason="t")
    assert opened["turns"]
    # Restoring over data needs --force, and gives the same content again.
    backup_restore(tmp_path / "a.tar.gz", force=True)
    assert _members(backup_create(tmp_path / "c.tar")) == _members(first)


def _key_file() -> str:
    from django.conf import settings

    return str(settings.KEY_FILE)


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_tampered_archive_and_the_wrong_key_file(
    tmp_path: Path, settings: Any
) -> None:
    build_world()
    archive = tmp_path / "a.tar"
    backup_create(archive)
    with pytest.raises(BackupError, match="exists already"):
        backup_create(archive)
    # Tampered: one member rewritten, the manifest left as it was.
    tampered = tmp_path / "t.tar"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "db/reports.report.jsonl":
                data = data.replace(b"Role-play", b"Role-pl4y")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(BackupError, match="does not match its sha256"):
        backup_verify(tampered)
    call_command("flush", "--noinput", verbosity=0)
    with pytest.raises(BackupError, match="does not match its sha256"):
        backup_restore(tampered)
    # Another key file in place: refused before anything is written.
    settings.KEY_FILE = tmp_path / "other-kek.json"
    from modelcvd.core.sealing import load_keyring

    load_keyring()
    with pytest.raises(BackupError, match="does not hold the keys"):
        backup_restore(archive)
    settings.KEY_FILE = tmp_path / "missing-kek.json"
    with pytest.raises(BackupError, match="no key file in place"):
        backup_restore(archive)
    assert not Report.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_cli_restores_into_a_fresh_instance(tmp_path: Path, settings: Any) -> None:
    build_world()
    archive = tmp_path / "site.tar.gz"
    env = {
        **os.environ,
        "DATABASE_URL": _url(connection.settings_dict["NAME"]),
        "MODELCVD_KEY_FILE": str(settings.KEY_FILE),
        # The audit chain's links verify only with the audit key, which a backup never holds.
        "MODELCVD_AUDIT_KEY_FILE": str(settings.AUDIT_KEY_FILE),
        "MODELCVD_DATA_DIR": str(tmp_path / "data"),
    }
    cli = [sys.executable, "-m", "modelcvd.cli"]
    done = subprocess.run([*cli, "backup", str(archive)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "key fingerprint" in done.stdout
    source = backup_verify(archive)

    fresh_name = f"{connection.settings_dict['NAME']}_fresh"
    if connection.vendor == "sqlite":
        fresh_name = str(tmp_path / "fresh.sqlite3")
    else:
        _recreate_pg_database(fresh_name)
    fresh = {**env, "DATABASE_URL": _url(fresh_name)}
    try:
        for argv in (
            ["migrate", "--quiet"],
            ["restore", str(archive)],
            ["audit", "verify"],
            ["backup", str(tmp_path / "again.tar")],
        ):
            done = subprocess.run([*cli, *argv], env=fresh, capture_output=True, text=True)
            assert done.returncode == 0, (argv, done.stderr)
        again = backup_verify(tmp_path / "again.tar")
        assert _members(again) == _members(source)
        # A second restore into the now populated instance is refused without --force.
        done = subprocess.run(
            [*cli, "restore", str(archive)], env=fresh, capture_output=True, text=True
        )
        assert done.returncode == 1 and "--force" in done.stderr
    finally:
        if connection.vendor == "postgresql":
            _drop_pg_database(fresh_name)


def _admin_connection() -> Any:
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _recreate_pg_database(name: str) -> None:
    _drop_pg_database(name)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_pg_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
