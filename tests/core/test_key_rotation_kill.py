"""Key rotation killed with SIGKILL in the middle: rerunning finishes it and every payload still
opens. The rotation runs as a real `modelcvd keys rotate` process against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from modelcvd.core.models import SealedBlob
from modelcvd.core.sealing import load_keyring, open_blob, seal_unsaved
from modelcvd.reports.models import Report

BLOBS = 1500


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_rotation_killed_midway_resumes(settings: Any, tmp_path: Path) -> None:
    settings.KEY_FILE = tmp_path / "kek.json"
    first = load_keyring().active
    ring = load_keyring()
    # Owners by key only (unsaved reports): rotation never reads the owner, opening does.
    blobs = [
        seal_unsaved(
            f"payload {i}".encode(), purpose="t", owner=Report(pk=i), field="payload", ring=ring
        )
        for i in range(BLOBS)
    ]
    SealedBlob.objects.bulk_create(blobs, batch_size=500)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MODELCVD_KEY_FILE": str(settings.KEY_FILE),
        "MODELCVD_AUDIT_KEY_FILE": str(settings.AUDIT_KEY_FILE),
    }
    rotate = [sys.executable, "-m", "modelcvd.cli", "keys", "rotate", "--batch-size", "20"]
    proc = subprocess.Popen(rotate, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while SealedBlob.objects.exclude(kek_id=first).count() == 0:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    moved = SealedBlob.objects.exclude(kek_id=first).count()
    assert 0 < moved < BLOBS, "the rotation was not caught midway"
    resumed = subprocess.run(rotate, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    ring = load_keyring()
    assert (
        f"active key {ring.active}: {BLOBS - moved} data keys re-wrapped, 0 left" in resumed.stdout
    )
    assert not SealedBlob.objects.exclude(kek_id=ring.active).exists()
    for i, blob in enumerate(SealedBlob.objects.order_by("pk")):
        if i % (BLOBS // 50) == 0:
            owner = Report(pk=i, payload_id=blob.pk)
            assert open_blob(blob, owner=owner) == f"payload {i}".encode()
