"""Thin tasks: take ids, call the service. Acks late, so a killed worker's task is redelivered
and resumes from its stored trials. A run larger than VERIFICATION_CHUNK_TRIALS is split into
chunk tasks on the run's queue, so every worker on that queue takes part. A database that went
away (restarted, failed over) is waited for: the task retries with backoff instead of failing
the run."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services import watch
from modelcvd.verification.services.execution import (
    run_chunks,
    run_execute,
    run_execute_chunk,
    runs_stalled,
    verification_queue,
)

log = logging.getLogger(__name__)
DATABASE_GONE = (OperationalError, InterfaceError)
MAX_DATABASE_RETRIES = 150  # delays grow by 1 s to 30 s: about an hour without a database


def _retry_later(task: Any, exc: Exception) -> Any:
    log.warning("database unavailable, retrying", extra={"task": task.name, "error": str(exc)})
    for conn in connections.all():
        with contextlib.suppress(Exception):
            conn.close()
    delay = min(30, 1 + task.request.retries)  # 1, 2, 3 ... s: back soon after a restart
    return task.retry(exc=exc, countdown=delay, max_retries=MAX_DATABASE_RETRIES)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_verification(self: Any, run_id: int) -> str:
    log.info("verification run", extra={"run": run_id})
    try:
        run = VerificationRun.objects.get(pk=run_id)
        chunks = run_chunks(run)
        if not chunks:
            return str(run_execute(run_id=run_id).state)
        queue = verification_queue(run.target_uri)
        for start, stop in chunks:
            run_verification_chunk.apply_async((run_id, start, stop), queue=queue)
        return f"split into {len(chunks)} chunks"
    except DATABASE_GONE as exc:
        raise _retry_later(self, exc) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_verification_chunk(self: Any, run_id: int, start: int, stop: int) -> str:
    log.info("verification chunk", extra={"run": run_id, "start": start, "stop": stop})
    try:
        return str(run_execute_chunk(run_id=run_id, start=start, stop=stop).state)
    except DATABASE_GONE as exc:
        raise _retry_later(self, exc) from exc


@shared_task
def resume_stalled_runs() -> list[int]:
    """Celery beat, every minute: queue again the runs that stopped making progress."""
    stalled = runs_stalled(idle_seconds=settings.VERIFICATION_STALL_SECONDS)
    for run_id in stalled:
        run = VerificationRun.objects.get(pk=run_id)
        log.warning("verification run stalled, queued again", extra={"run": run_id})
        run_verification.apply_async((run_id,), queue=verification_queue(run.target_uri))
    return stalled


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def verify_on_intake(self: Any, report_id: int) -> int:
    """Reproduce before triage (services.watch.intake_verify): queue the report's runs."""
    try:
        return len(watch.intake_verify(report_id=report_id))
    except DATABASE_GONE as exc:
        raise _retry_later(self, exc) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def watch_new_version(self: Any, artifact_id: int) -> int:
    """Regression watch (services.watch.regression_watch): queue the re-runs on a version."""
    try:
        return len(watch.regression_watch(artifact_id=artifact_id))
    except DATABASE_GONE as exc:
        raise _retry_later(self, exc) from exc
