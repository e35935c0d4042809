"""Sealed values are bound to their owning row (issue 15, defect 13).

The attacker can write the database but holds no key: they move a held-out benchmark item's
sealed payload under a report that a vendor (and its reporter) may read, either by pointing the
report's payload column at the item's blob or by copying the item's ciphertext, wrapped key and
nonce into the report's own blob. Before row binding the report's readers then unsealed the
held-out item. Now every read path refuses: no plaintext, a clear 409, and a `seal.refused`
event on the audit chain. Also: a value sealed in the old purpose-only form does not open until
`modelcvd keys reseal` binds it to its row; a rotation and a restore of an old backup re-seal.
Runs on the test database's backend (SQLite, and PostgreSQL on the PG leg).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
import tarfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client

from modelcvd.cli import main
from modelcvd.core.audit import audit_verify
from modelcvd.core.backup import backup_create, backup_restore
from modelcvd.core.models import AuditEvent, SealedBlob
from modelcvd.core.sealing import load_keyring, open_blob, sealed_columns
from modelcvd.core.services import keys_reseal, keys_rotate
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_payload_open, report_submit
from modelcvd.reports.services.attachments import attachment_add
from tests.factories import World, build_world, document, sign_in

MARKER = "HELDOUT-SEALED-9c41"


def _leaks(body: bytes) -> list[bytes]:
    raw = MARKER.encode()
    needles = [raw, raw.lower(), raw.hex().encode(), base64.b64encode(raw)]
    return [n for n in needles if n in body]


def _held_out_item(world: World) -> Report:
    """A held-out benchmark item by another researcher: readers of report a never see it."""
    assert world.program is not None
    world.program.benchmark_holdout = True
    world.program.save(update_fields=["benchmark_holdout"])
    item = report_submit(
        actor=world.users["researcher_b"],
        document=document(
            title="Benchmark item",
            reproduction={
                "system_prompt": f"system {MARKER}",
                "turns": [{"role": "user", "content": f"held-out prompt {MARKER}"}],
                "successes": 3,
                "trials": 5,
            },
        ),
    )
    assert item.held_out and item.payload_id is not None
    attachment_add(
        report=item,
        actor=world.users["researcher_b"],
        filename="item.txt",
        content=f"transcript {MARKER}\n".encode(),
    )
    return item


def _unseal(api_as: Any, role: str, report_id: int) -> Any:
    return api_as(role, ("read",)).post(
        f"/api/v1/reports/{report_id}/unseal", {"reason": "reproduce the finding"}
    )


def _refusals(report: Report) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="seal.refused", object_type="reports.report", object_id=str(report.pk)
        )
    )


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _move_payload(target: Report, item: Report) -> None:
    """The attack as a database writer does it: the item's blob under the target report."""
    assert item.payload_id is not None
    _sql("UPDATE reports_report SET payload_id = NULL WHERE id = %s", [item.pk])
    _sql("UPDATE reports_report SET payload_id = %s WHERE id = %s", [item.payload_id, target.pk])


def _copy_blob_bytes(source_id: int, target_id: int) -> None:
    """The other way: the item's ciphertext, wrapped key and nonce into the target's blob row."""
    source = SealedBlob.objects.get(pk=source_id)
    SealedBlob.objects.filter(pk=target_id).update(
        purpose=source.purpose,
        version=source.version,
        kek_id=source.kek_id,
        wrapped_key=bytes(source.wrapped_key),
        nonce=bytes(source.nonce),
        ciphertext=bytes(source.ciphertext),
    )


def _assert_refused_everywhere(api_as: Any, world: World, report: Report) -> None:
    before = len(_refusals(report))
    for role in ("vendor_a", "researcher_a"):
        answer = _unseal(api_as, role, report.pk)
        assert answer.status_code == 409, (role, answer.content)
        assert "sealed for another row" in answer.json()["detail"]
        assert _leaks(answer.content) == [], role
    # The web page: the vendor signed in, posting the unseal form with its CSRF token.
    client = sign_in(Client(enforce_csrf_checks=True), world.users["vendor_a"])
    page = client.get(f"/reports/{report.pk}/")
    assert page.status_code == 200
    posted = client.post(
        f"/reports/{report.pk}/",
        {"reason": "reproduce", "csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )
    assert posted.status_code == 409
    assert b"sealed for another row" in posted.content
    assert _leaks(posted.content) == []
    events = _refusals(report)
    assert len(events) == before + 3
    assert {e.actor_id for e in events[before:]} == {
        world.users["vendor_a"].pk,
        world.users["researcher_a"].pk,
    }
    assert all(e.data["purpose"] == "report.payload" for e in events[before:])
    assert audit_verify().ok


def test_a_moved_held_out_payload_does_not_open_under_a_readable_report(
    world: World, api_as: Any
) -> None:
    report = world.reports["a"]
    item = _held_out_item(world)
    # Controls: the vendor reads report a; a coordinator reads the item (the marker is there).
    assert _unseal(api_as, "vendor_a", report.pk).status_code == 200
    control = report_payload_open(report=item, actor=world.users["triager"], reason="control")
    assert MARKER in control["system_prompt"]
    assert _unseal(api_as, "vendor_a", item.pk).status_code == 404

    _move_payload(report, item)
    assert Report.objects.get(pk=report.pk).payload_id == item.payload_id
    _assert_refused_everywhere(api_as, world, Report.objects.get(pk=report.pk))


def test_copied_ciphertext_does_not_open_under_a_readable_report(world: World, api_as: Any) -> None:
    report = world.reports["a"]
    item = _held_out_item(world)
    assert report.payload_id is not None and item.payload_id is not None
    _copy_blob_bytes(item.payload_id, report.payload_id)
    _assert_refused_everywhere(api_as, world, report)


def test_a_moved_attachment_does_not_open(world: World, api_as: Any) -> None:
    item = _held_out_item(world)
    assert world.attachment is not None
    held = item.attachments.get()
    # The held-out file's blob under report a's attachment (the column is unique and not
    # null: the item's attachment is pointed at a spare blob first).
    spare = SealedBlob.objects.create(
        purpose="t", version=2, kek_id="k", wrapped_key=b"", nonce=b"", ciphertext=b""
    )
    _sql("UPDATE reports_attachment SET sealed_id = %s WHERE id = %s", [spare.pk, held.pk])
    _sql(
        "UPDATE reports_attachment SET sealed_id = %s WHERE id = %s",
        [held.sealed_id, world.attachment.pk],
    )
    answer = api_as("vendor_a", ("read",)).client.post(
        f"/api/v1/reports/{world.reports['a'].pk}/attachments/{world.attachment.pk}/download",
        data=json.dumps({"reason": "look"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_as('vendor_a', ('read',)).token}",
    )
    assert answer.status_code == 409
    assert _leaks(answer.content) == []
    assert AuditEvent.objects.filter(
        action="seal.refused",
        object_type="reports.attachment",
        object_id=str(world.attachment.pk),
        actor=world.users["vendor_a"],
    ).exists()


# --- the old purpose-only form -----------------------------------------------------------------


def _to_old_form(blob_id: int, plaintext: bytes) -> None:
    """Rewrite a blob as it was sealed before row binding: associated data = purpose only."""
    blob = SealedBlob.objects.get(pk=blob_id)
    ring = load_keyring()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(12)
    SealedBlob.objects.filter(pk=blob_id).update(
        version=SealedBlob.Form.PURPOSE,
        kek_id=ring.active,
        wrapped_key=aes_key_wrap(ring.key(ring.active), data_key),
        nonce=nonce,
        ciphertext=AESGCM(data_key).encrypt(nonce, plaintext, blob.purpose.encode()),
    )


def _payload_bytes(world: World, report: Report) -> bytes:
    payload = report_payload_open(report=report, actor=world.users["triager"], reason="t")
    return json.dumps(payload).encode()


def test_an_old_form_blob_opens_only_once_resealed_and_then_only_under_its_row(
    world: World, api_as: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    report = world.reports["a"]
    assert report.payload_id is not None
    plaintext = _payload_bytes(world, report)
    _to_old_form(report.payload_id, plaintext)
    refused = _unseal(api_as, "vendor_a", report.pk)
    assert refused.status_code == 409
    assert "keys reseal" in refused.json()["detail"]
    # An old-form blob that no row holds cannot be bound: it is reported and left alone.
    orphan = SealedBlob.objects.create(
        purpose="t", version=1, kek_id="k", wrapped_key=b"", nonce=b"", ciphertext=b""
    )
    capsys.readouterr()
    assert main(["keys", "reseal", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"resealed": 1, "left": 1}
    assert SealedBlob.objects.get(pk=report.payload_id).version == SealedBlob.Form.ROW
    assert SealedBlob.objects.get(pk=orphan.pk).version == SealedBlob.Form.PURPOSE
    opened = _unseal(api_as, "vendor_a", report.pk)
    assert opened.status_code == 200
    assert json.dumps(opened.json()).encode() == plaintext
    # Bound now: the same blob under another readable report is refused.
    other = world.reports["b"]
    _sql("UPDATE reports_report SET payload_id = NULL WHERE id = %s", [report.pk])
    _sql("UPDATE reports_report SET payload_id = %s WHERE id = %s", [report.payload_id, other.pk])
    assert _unseal(api_as, "researcher_b", other.pk).status_code == 409
    assert AuditEvent.objects.filter(action="keys.reseal").count() == 1


@pytest.fixture
def own_key_file(settings: Any, tmp_path: Path) -> None:
    """A key file of this test's own: a rotation adds a key, which other tests must not see.
    Requested before `world`, so the world is sealed under it."""
    settings.KEY_FILE = tmp_path / "keys" / "kek.json"


def test_a_rotation_reseals_old_form_blobs(own_key_file: None, world: World, api_as: Any) -> None:
    report = world.reports["a"]
    assert report.payload_id is not None
    plaintext = _payload_bytes(world, report)
    _to_old_form(report.payload_id, plaintext)
    result = keys_rotate()
    assert result.resealed == 1 and result.remaining == 0
    blob = SealedBlob.objects.get(pk=report.payload_id)
    assert (blob.version, blob.kek_id) == (SealedBlob.Form.ROW, result.active)
    assert _unseal(api_as, "vendor_a", report.pk).status_code == 200
    assert keys_reseal().resealed == 0  # nothing left to do


def _strip_versions(source: Path, out: Path) -> None:
    """The archive as a backup made before row binding had it: sealed blobs without `version`."""
    with tarfile.open(source) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    name = "db/core.sealedblob.jsonl"
    lines = []
    for line in members[name].splitlines(keepends=True):
        record = json.loads(line)
        del record["fields"]["version"]
        lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
    members[name] = b"".join(lines)
    manifest = json.loads(members["manifest.json"])
    manifest["members"][name]["sha256"] = hashlib.sha256(members[name]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w:gz") as tar:
        for member, body in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def _every_blob_to_old_form() -> dict[int, bytes]:
    """The whole database as it was before row binding; returns each blob's plaintext."""
    plaintexts: dict[int, bytes] = {}
    for model in apps.get_models():
        for column in sealed_columns(model):
            for owner in model._base_manager.exclude(**{column.attname: None}):
                blob = SealedBlob.objects.get(pk=getattr(owner, column.attname))
                plaintexts[blob.pk] = open_blob(blob, owner=owner)
    for pk, plaintext in plaintexts.items():
        _to_old_form(pk, plaintext)
    return plaintexts


@pytest.mark.django_db(transaction=True)
def test_restoring_an_old_backup_reseals_its_blobs(tmp_path: Path) -> None:
    world = build_world()
    plaintexts = _every_blob_to_old_form()
    assert len(plaintexts) == SealedBlob.objects.count() >= 3
    backup_create(tmp_path / "new.tar.gz")
    _strip_versions(tmp_path / "new.tar.gz", tmp_path / "old.tar.gz")
    call_command("flush", "--noinput", verbosity=0)
    backup_restore(tmp_path / "old.tar.gz")
    # Every blob re-sealed for the row that holds it, in the restore's transaction.
    assert not SealedBlob.objects.filter(version=SealedBlob.Form.PURPOSE).exists()
    for model in apps.get_models():
        for column in sealed_columns(model):
            for owner in model._base_manager.exclude(**{column.attname: None}):
                blob = SealedBlob.objects.get(pk=getattr(owner, column.attname))
                assert open_blob(blob, owner=owner) == plaintexts[blob.pk]
    event = AuditEvent.objects.get(action="keys.reseal")
    assert event.data == {"resealed": len(plaintexts), "left": 0}
    assert audit_verify().ok
    report = Report.objects.get(pk=world.reports["a"].pk)
    assert report_payload_open(report=report, actor=world.users["vendor_a"], reason="t")
