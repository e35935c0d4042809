"""The audit chain: every kind of tampering is named by `modelcvd audit verify`."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from modelcvd.cli import main
from modelcvd.core import appendonly
from modelcvd.core.audit import (
    GENESIS,
    audit_link_of,
    audit_record,
    audit_verify,
    load_audit_keyring,
)
from modelcvd.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _chain(n: int = 5) -> list[AuditEvent]:
    return [
        audit_record(
            actor=None, action="test.event", object_type="t", object_id=str(i), data={"i": i}
        )
        for i in range(n)
    ]


def _tamper(sql: str, params: list[object]) -> None:
    # Direct SQL, as an insider with database access would, who first gets past the append-only
    # triggers: on PostgreSQL replica mode skips them (superuser rights); on SQLite they are
    # dropped, and put back after (inside the test's transaction, which rolls it all back).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for statement in appendonly.SQLITE_DROP:
                cursor.execute(statement)
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            for statement in appendonly.SQLITE_CREATE:
                cursor.execute(statement)


def test_intact_chain_verifies(capsys: pytest.CaptureFixture[str]) -> None:
    _chain()
    assert audit_verify().ok
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact" in capsys.readouterr().out


def test_edit_is_detected_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    events = _chain()
    _tamper("UPDATE core_auditevent SET reason = %s WHERE id = %s", ["edited", events[2].pk])
    verdict = audit_verify()
    assert (verdict.ok, verdict.broken_seq) == (False, events[2].seq)
    assert main(["audit", "verify"]) == 1
    assert f"broken at event #{events[2].seq}: contents do not match" in capsys.readouterr().err


def test_delete_is_detected() -> None:
    events = _chain()
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    verdict = audit_verify()
    assert (verdict.ok, verdict.broken_seq) == (False, events[2].seq)
    assert "expected event" in verdict.problem


def test_recomputing_one_link_still_breaks_the_next() -> None:
    events = _chain()
    # An insider who edits an event and recomputes its link (with the key, even) still breaks
    # the next link.
    victim = AuditEvent.objects.get(pk=events[1].pk)
    victim.reason = "rewritten"
    new_hash = audit_link_of(victim, load_audit_keyring().keys[victim.key_id])
    _tamper(
        "UPDATE core_auditevent SET reason = %s, hash = %s WHERE id = %s",
        ["rewritten", new_hash, victim.pk],
    )
    verdict = audit_verify()
    assert (verdict.ok, verdict.broken_seq) == (False, events[2].seq)
    assert verdict.problem == "prev_hash does not match the previous event"


def test_reorder_is_detected() -> None:
    events = _chain()
    a, b = events[1], events[2]
    _tamper("UPDATE core_auditevent SET seq = %s WHERE id = %s", [-1, a.pk])
    _tamper("UPDATE core_auditevent SET seq = %s WHERE id = %s", [a.seq, b.pk])
    _tamper("UPDATE core_auditevent SET seq = %s WHERE id = %s", [b.seq, a.pk])
    verdict = audit_verify()
    assert (verdict.ok, verdict.broken_seq) == (False, a.seq)


def test_trigger_refuses_update_and_delete() -> None:
    """On both backends: a process with the application's credentials can only append."""
    event = _chain(1)[0]
    for sql in (
        "UPDATE core_auditevent SET reason = 'x' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
        "DELETE FROM core_auditevent",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk] if "%s" in sql else None)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="x")
    assert AuditEvent.objects.count() == 1
    assert audit_verify().ok


def test_links_are_keyed_and_named() -> None:
    events = _chain(2)
    ring = load_audit_keyring()
    assert {e.key_id for e in events} == {ring.active}
    assert events[0].prev_hash == GENESIS
    # The link is not a plain SHA-256 of the fields: it needs the key.
    assert audit_link_of(events[0], b"\0" * 32) != events[0].hash


def test_rotation_keeps_old_links_verifiable(capsys: pytest.CaptureFixture[str]) -> None:
    before = _chain(2)
    assert main(["audit", "rotate-key"]) == 0
    after = _chain(2)
    assert before[0].key_id != after[0].key_id
    rotate = AuditEvent.objects.get(action="audit.key.rotate")
    assert rotate.key_id == after[0].key_id
    assert audit_verify().ok
    assert audit_verify().checked == 5


def test_an_unknown_key_is_named(settings: Any) -> None:
    _chain(2)
    settings.AUDIT_KEY_ENV = "A" * 43 + "="  # another key: the events' key is not in this ring
    verdict = audit_verify()
    assert (verdict.ok, verdict.broken_seq) == (False, 1)
    assert "not in the audit keyring" in verdict.problem


def test_first_key_is_made_once_under_a_race(settings: Any, tmp_path: Any) -> None:
    """Server and worker starting together must not each make a first key."""
    from concurrent.futures import ThreadPoolExecutor

    settings.AUDIT_KEY_FILE = tmp_path / "keys" / "audit-keys.json"
    barrier = threading.Barrier(8)

    def first() -> str:
        barrier.wait()
        return load_audit_keyring().active

    with ThreadPoolExecutor(8) as pool:
        actives = set(pool.map(lambda _: first(), range(8)))
    assert actives == {load_audit_keyring().active}
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["audit-keys.json"]
    assert (tmp_path / "keys" / "audit-keys.json").stat().st_mode & 0o777 == 0o600
