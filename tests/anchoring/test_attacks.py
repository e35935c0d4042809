"""The four attacks on the audit chain (issue 18), each detected by `modelcvd audit verify`, on
SQLite and on PostgreSQL (the suite's PostgreSQL leg runs this file with DATABASE_URL set).

The attacker holds the database (its credentials, even DDL), never the audit key file nor the
witness file: they edit rows, recompute links with the only hash they can (plain SHA-256, or a
key of their own), drop the append-only triggers to delete the tail, or put an older database
back.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from modelcvd.anchoring.services import audit_checkpoint
from modelcvd.anchoring.witness import AnchorDiverged, audit_anchor_verify
from modelcvd.cli import main
from modelcvd.core import appendonly
from modelcvd.core.audit import audit_link_of, audit_record, audit_verify
from modelcvd.core.backup import backup_create, backup_restore
from modelcvd.core.models import AuditEvent
from modelcvd.transparency.models import LogEntry
from modelcvd.vocabulary import LogEntryKind

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    return [
        audit_record(actor=None, action="test.event", object_type="t", object_id=str(i))
        for i in range(n)
    ]


def _as_attacker(*statements: tuple[str, list[Any]]) -> None:
    """Raw SQL with the append-only triggers out of the way, as someone holding the database
    would do it (dropped on SQLite; replica mode, a superuser's right, on PostgreSQL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for drop in appendonly.SQLITE_DROP:
                cursor.execute(drop)
        for sql, params in statements:
            cursor.execute(sql, params)


def _restore(archive: Path) -> None:
    """backup_restore, inside this test's transaction. In production a restore is a transaction
    of its own; here, on PostgreSQL, the test's own inserts leave foreign-key checks pending,
    which TRUNCATE refuses: run them now, then defer again as a fresh transaction would."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    backup_restore(archive, force=True)


def _verify_fails(capsys: pytest.CaptureFixture[str], *expected: str) -> str:
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    return err


def test_intact_chain_and_checkpoint_verify(capsys: pytest.CaptureFixture[str]) -> None:
    _events(3)
    done = audit_checkpoint()
    assert (done.events, done.last_seq) == (3, 3)
    entry = LogEntry.objects.get(index=done.log_index)
    assert entry.kind == LogEntryKind.AUDIT_CHECKPOINT
    assert json.loads(entry.body)["head"] == AuditEvent.objects.get(seq=3).hash
    from django.conf import settings

    witness = Path(settings.AUDIT_WITNESS_FILE)
    assert witness.stat().st_mode & 0o777 == 0o600
    assert json.loads(witness.read_text())["tree_head"]["size"] == done.tree_size
    # Unchanged chain: the next checkpoint is the same log entry.
    assert audit_checkpoint().log_index == done.log_index
    _events(1)
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact: 4 events; matches log checkpoint" in capsys.readouterr().out


def test_a_edited_event(capsys: pytest.CaptureFixture[str]) -> None:
    events = _events(5)
    audit_checkpoint()
    _as_attacker(("UPDATE core_auditevent SET reason = %s WHERE id = %s", ["x", events[2].pk]))
    _verify_fails(capsys, "broken at event #3: contents do not match the event's keyed link")


@pytest.mark.parametrize("attacker_hash", ["sha256", "own-key"])
def test_b_edited_and_every_later_link_recomputed(
    capsys: pytest.CaptureFixture[str], attacker_hash: str
) -> None:
    events = _events(5)
    audit_checkpoint()
    own_key = secrets.token_bytes(32)
    prev = events[1].hash
    statements = []
    for event in AuditEvent.objects.filter(seq__gte=3).order_by("seq"):
        if event.seq == 3:
            event.reason = "rewritten"
        event.prev_hash = prev
        if attacker_hash == "sha256":
            # The old unkeyed link: SHA-256 over the same canonical fields.
            body = json.dumps(
                [
                    event.seq,
                    event.at.isoformat(),
                    event.actor_id,
                    event.actor_label,
                    event.action,
                    event.object_type,
                    event.object_id,
                    event.reason,
                    event.data,
                    event.prev_hash,
                    event.key_id,
                ],
                sort_keys=True,
                separators=(",", ":"),
            )
            link = hashlib.sha256(body.encode()).hexdigest()
        else:
            link = audit_link_of(event, own_key)
        statements.append(
            (
                "UPDATE core_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [event.reason, prev, link, event.pk],
            )
        )
        prev = link
    _as_attacker(*statements)
    assert audit_verify().broken_seq == 3
    _verify_fails(capsys, "broken at event #3: contents do not match the event's keyed link")


def test_c_tail_deleted(capsys: pytest.CaptureFixture[str]) -> None:
    _events(5)
    audit_checkpoint()
    _as_attacker(("DELETE FROM core_auditevent WHERE seq > %s", [3]))
    assert audit_verify().ok  # what is left is a genuine chain: only a checkpoint shows the loss
    _verify_fails(
        capsys,
        "the chain ends at event #3, but the log's latest checkpoint",
        "covers 5 events: its tail was deleted",
        "the witness file",
    )
    with pytest.raises(AnchorDiverged):
        audit_checkpoint()  # and a beat checkpoint refuses to bless it


def test_c_tail_and_its_log_checkpoint_deleted(capsys: pytest.CaptureFixture[str]) -> None:
    _events(3)
    audit_checkpoint()
    _events(2)
    done = audit_checkpoint()
    # The attacker deletes the tail and the newer checkpoint (and its nodes) as well: the log in
    # the database now agrees with the chain, the witness outside it does not.
    _as_attacker(
        ("DELETE FROM core_auditevent WHERE seq > %s", [3]),
        ('DELETE FROM transparency_logentry WHERE "index" >= %s', [done.log_index]),
    )
    verdict = audit_anchor_verify()
    assert not verdict.ok
    assert all("witness file" in p for p in verdict.problems), verdict.problems
    _verify_fails(capsys, "covers 5 events", "the transparency log holds")


def test_d_older_database_restored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _events(3)
    audit_checkpoint()
    old = tmp_path / "old.tar"
    backup_create(old)
    _events(4)
    audit_checkpoint()  # the witness now covers 7 events
    _restore(old)
    assert AuditEvent.objects.count() == 3
    # The restored database is consistent with itself, its own log included...
    verdict = audit_anchor_verify()
    assert verdict.log_last_seq == 3
    # ...but not with the witness outside it.
    _verify_fails(
        capsys,
        "the chain ends at event #3, but the witness file",
        "covers 7 events: its tail was deleted, or an older database was restored",
    )
    with pytest.raises(AnchorDiverged):
        audit_checkpoint()
    # An operator who restored it on purpose resets the witness, with a reason on the record.
    assert main(["audit", "checkpoint", "--reset-witness", "--reason", "DR drill #12"]) == 0
    assert AuditEvent.objects.get(action="audit.witness.reset").reason == "DR drill #12"
    assert main(["audit", "verify"]) == 0


def test_restore_into_an_empty_database_keeps_the_triggers(tmp_path: Path) -> None:
    _events(2)
    archive = tmp_path / "b.tar"
    backup_create(archive)
    _restore(archive)
    assert audit_verify().ok and audit_verify().checked == 2
    from django.db.utils import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).delete()


def test_beat_schedules_the_checkpoint(settings: Any) -> None:
    from modelcvd.anchoring.tasks import audit_checkpoint_task

    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == audit_checkpoint_task.name
    _events(2)
    index = audit_checkpoint_task.delay().get()
    assert json.loads(LogEntry.objects.get(index=index).body)["last_seq"] == 2


def test_restore_needs_the_audit_key_file(tmp_path: Path, settings: Any) -> None:
    from modelcvd.core.backup import BackupError

    _events(2)
    archive = tmp_path / "b.tar"
    manifest = backup_create(archive)
    assert set(manifest["audit_keys"]) == {AuditEvent.objects.get(seq=1).key_id}
    settings.AUDIT_KEY_FILE = tmp_path / "other-audit-keys.json"
    with pytest.raises(BackupError, match="no audit key file in place"):
        backup_restore(archive, force=True)
    _events(1)  # creates the other key file
    with pytest.raises(BackupError, match="does not hold the keys this backup's audit chain"):
        backup_restore(archive, force=True)


def test_backup_checkpoints_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _events(2)
    assert main(["backup", str(tmp_path / "b.tar"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    index = out["audit_checkpoint"]["log_index"]
    assert out["audit_checkpoint"]["last_seq"] == 2
    assert LogEntry.objects.get(index=index).kind == LogEntryKind.AUDIT_CHECKPOINT
    # A chain that diverges is still backed up, with the refusal said.
    _as_attacker(("DELETE FROM core_auditevent WHERE seq = %s", [2]))
    assert main(["backup", str(tmp_path / "c.tar"), "--json"]) == 0
    captured = capsys.readouterr()
    assert "covers 2 events" in json.loads(captured.out)["audit_checkpoint"]["refused"][0]
    assert "audit checkpoint refused" in captured.err
