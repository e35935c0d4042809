"""Verification runs through Django: requested on a case, executed by the (eager) Celery task on
a real tiny model, each trial stored sealed, resumed after a SIGKILL without double counting,
cancelled, blocked on an identity mismatch, and shown on the case."""

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

from modelcvd.cases.models import TimelineEvent
from modelcvd.core.errors import Forbidden, InvalidInput, NotFound
from modelcvd.reports.services import report_submit
from modelcvd.verification.engine.identity import weights_digest
from modelcvd.verification.models import VerificationRun, VerificationTrial
from modelcvd.verification.services import run_cancel, run_execute, run_request
from tests.factories import World, build_world, document

from .conftest import report_document


def _report_case(world: World, refuser_dir: Path, *, digest: str | None = None) -> tuple[int, int]:
    data = report_document(digest=weights_digest(refuser_dir) if digest is None else digest)
    data["program"] = "open-models"
    report = report_submit(actor=world.users["researcher_a"], document=document(**data))
    return report.case_id, report.artifacts.get().pk


@pytest.fixture
def models_root(settings: Any, refuser_dir: Path) -> Path:
    settings.MODEL_DIRS = [str(refuser_dir.parent)]
    return refuser_dir


def test_run_on_a_real_model_stores_each_trial_sealed(
    world: World, models_root: Path, api_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case_id, artifact_id = _report_case(world, models_root)
    client = api_as("triager")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/cases/{case_id}/verifications",
            {"artifact_id": artifact_id, "target": f"hf:{models_root}", "trials": 24},
        )
    assert response.status_code == 201, response.content
    run = VerificationRun.objects.get(pk=response.json()["id"])
    assert run.state == "finished", run.error
    rows = list(run.trial_rows.order_by("index"))
    assert [r.index for r in rows] == list(range(24))
    assert run.summary is not None and run.summary["trials"] == 24
    assert run.summary["successes"] == sum(r.success for r in rows)
    assert 0 < run.summary["successes"] < 24  # the tiny refuser gives in part of the time
    assert run.summary["identity_mismatches"] == []
    assert all(b"DAN" not in bytes(r.sealed.ciphertext) for r in rows)
    body = client.get(f"/api/v1/verifications/{run.pk}").json()
    assert (body["done"], body["state"]) == (24, "finished")
    low, high = body["interval"]
    assert low <= body["successes"] / 24 <= high
    versions = client.get(f"/api/v1/cases/{case_id}/versions").json()
    assert [(v["artifact_id"], v["trials"]) for v in versions] == [(artifact_id, 24)]
    event = TimelineEvent.objects.filter(case_id=case_id, kind="verification").get()
    assert f"verification run #{run.pk}" in event.reason and "95% CI" in event.reason
    page = client.client.get(f"/cases/{case_id}/")  # anonymous client: redirected, nothing shown
    assert page.status_code == 302


def test_a_digest_mismatch_blocks_the_verdict(
    world: World, models_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    case_id, artifact_id = _report_case(world, models_root, digest="0" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_request(
            case_id=case_id,
            actor=world.users["triager"],
            artifact_id=artifact_id,
            target=f"hf:{models_root}",
            trials=4,
        )
    run.refresh_from_db()
    assert run.summary is not None
    assert run.summary["verdict"] == "blocked"
    assert run.summary["identity_mismatches"][0].startswith("weights_digest: pinned 0000")


def test_request_rules(world: World, models_root: Path) -> None:
    case_id, artifact_id = _report_case(world, models_root)
    with pytest.raises(Forbidden):
        run_request(
            case_id=case_id,
            actor=world.users["researcher_a"],
            artifact_id=artifact_id,
            target=f"hf:{models_root}",
            trials=4,
        )
    with pytest.raises(NotFound):
        run_request(
            case_id=case_id,
            actor=world.users["vendor_b"],
            artifact_id=artifact_id,
            target=f"hf:{models_root}",
            trials=4,
        )
    with pytest.raises(InvalidInput) as info:
        run_request(
            case_id=case_id,
            actor=world.users["triager"],
            artifact_id=artifact_id,
            target="hf:/etc",
            trials=4,
        )
    assert info.value.errors[0].field == "target"
    with pytest.raises(InvalidInput):
        run_request(
            case_id=case_id,
            actor=world.users["triager"],
            artifact_id=artifact_id,
            target=f"hf:{models_root}",
            trials=0,
        )


def test_cancel_before_and_during(world: World, models_root: Path) -> None:
    case_id, artifact_id = _report_case(world, models_root)
    queued = run_request(
        case_id=case_id,
        actor=world.users["triager"],
        artifact_id=artifact_id,
        target=f"hf:{models_root}",
        trials=8,
    )
    assert run_cancel(run_id=queued.pk, actor=world.users["triager"]).state == "cancelled"
    assert run_execute(run_id=queued.pk).state == "cancelled"
    running = run_request(
        case_id=case_id,
        actor=world.users["triager"],
        artifact_id=artifact_id,
        target=f"hf:{models_root}",
        trials=8,
    )
    VerificationRun.objects.filter(pk=running.pk).update(state="running")
    run_cancel(run_id=running.pk, actor=world.users["triager"])
    assert run_execute(run_id=running.pk).state == "cancelled"
    assert not VerificationTrial.objects.filter(run=running).exists()


KILL_TRIALS = 320  # enough batches that a kill after the first stored trial lands midway


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_resumes_without_redoing_or_double_counting(
    settings: Any, refuser_dir: Path, tmp_path: Path
) -> None:
    settings.MODEL_DIRS = [str(refuser_dir.parent)]
    world = build_world()
    case_id, artifact_id = _report_case(world, refuser_dir)
    from modelcvd.celery import app

    # Queue the task on the (SQLite) broker without running it here: the process below is the
    # worker that takes it, and gets killed.
    app.conf.task_always_eager = False
    run = run_request(
        case_id=case_id,
        actor=world.users["triager"],
        artifact_id=artifact_id,
        target=f"hf:{refuser_dir}",
        trials=KILL_TRIALS,
    )
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "MODELCVD_KEY_FILE": str(settings.KEY_FILE),
        "MODELCVD_AUDIT_KEY_FILE": str(settings.AUDIT_KEY_FILE),
        "MODELCVD_MODEL_DIRS": str(refuser_dir.parent),
        "HF_HUB_OFFLINE": "1",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from modelcvd.verification.services import "
            f"run_execute; run_execute(run_id={run.pk})",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not VerificationTrial.objects.filter(run=run).exists():
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    stored_before = set(VerificationTrial.objects.filter(run=run).values_list("index", "seed"))
    assert 0 < len(stored_before) < KILL_TRIALS, "the worker was not caught midway"
    finished = run_execute(run_id=run.pk)  # the redelivered task
    assert finished.state == "finished", finished.error
    rows = list(VerificationTrial.objects.filter(run=run).values_list("index", "seed"))
    assert sorted(i for i, _ in rows) == list(range(KILL_TRIALS))  # every trial once
    assert stored_before <= set(rows)  # trials from before the kill were kept, not redone
    assert finished.summary is not None and finished.summary["trials"] == KILL_TRIALS


@pytest.mark.django_db(transaction=True)
def test_cli_queues_a_run_on_a_server(
    settings: Any, refuser_dir: Path, live_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelcvd.celery import app
    from modelcvd.cli import main
    from tests.factories import token_for

    app.conf.task_always_eager = False  # queued for a worker; this test checks the request only
    settings.MODEL_DIRS = [str(refuser_dir.parent)]
    world = build_world()
    case_id, artifact_id = _report_case(world, refuser_dir)
    token = token_for(world.users["triager"], ["triage", "read"])
    argv = [
        "verify",
        "--case",
        str(case_id),
        "--artifact",
        str(artifact_id),
        "--target",
        f"hf:{refuser_dir}",
        "--trials",
        "30",
        "--server",
        live_server.url,
        "--token",
        token,
    ]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("verification run #")
    run = VerificationRun.objects.get(case_id=case_id)
    assert (run.trials, run.state, run.artifact_id) == (30, "queued", artifact_id)
    reporter = token_for(world.users["researcher_a"], ["triage"])
    assert main([*argv[:-2], "--token", reporter]) == 3  # the server's 403 (was 1)
    assert "server answered 403" in capsys.readouterr().err.splitlines()[-1]


def test_a_failing_target_fails_the_run_on_record(
    world: World,
    models_root: Path,
    tmp_path: Path,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from modelcvd.core.models import AuditEvent

    empty = tmp_path / "not-a-model"
    empty.mkdir()
    settings.MODEL_DIRS = [str(models_root.parent), str(tmp_path)]
    case_id, artifact_id = _report_case(world, models_root)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_request(
            case_id=case_id,
            actor=world.users["triager"],
            artifact_id=artifact_id,
            target=f"hf:{empty}",
            trials=4,
        )
    run.refresh_from_db()
    assert run.state == "failed" and run.error
    assert AuditEvent.objects.filter(action="verification.failed", object_id=str(run.pk)).exists()
