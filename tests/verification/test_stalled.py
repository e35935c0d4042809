"""Celery beat's safety net: runs that stopped making progress are queued again."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from modelcvd.core.models import SealedBlob
from modelcvd.verification.models import VerificationRun, VerificationTrial
from modelcvd.verification.services import runs_stalled
from modelcvd.verification.tasks import resume_stalled_runs
from tests.factories import World


def test_only_runs_without_recent_progress_are_stalled(world: World, settings: object) -> None:
    from modelcvd.celery import app

    now = timezone.now()
    run = world.run
    assert run is not None
    VerificationRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(hours=1))
    assert runs_stalled(idle_seconds=900) == [run.pk]  # queued an hour ago, never started

    VerificationRun.objects.filter(pk=run.pk).update(
        state="running", started_at=now - timedelta(minutes=30)
    )
    trial = VerificationTrial.objects.create(
        run=run,
        index=0,
        seed=1,
        success=True,
        label="complied",
        target_name="chat-7b",
        sealed=SealedBlob.objects.create(
            purpose="t", version=2, kek_id="k", wrapped_key=b"", nonce=b"", ciphertext=b""
        ),
    )
    assert runs_stalled(idle_seconds=900) == []  # a trial just now: progressing
    VerificationTrial.objects.filter(pk=trial.pk).update(created_at=now - timedelta(minutes=20))
    assert runs_stalled(idle_seconds=900) == [run.pk]

    app.conf.task_always_eager = False  # queued on the broker, not run here
    assert resume_stalled_runs() == [run.pk]
    VerificationRun.objects.filter(pk=run.pk).update(state="finished")
    assert runs_stalled(idle_seconds=900) == []
    assert "verification-resume-stalled" in app.conf.beat_schedule
