"""Verification runs in a worker: execute (whole or in chunks), resume, finish. The engine
does the replay; this layer pins the run to its case and artifact, stores each trial as it
finishes, resumes from the stored trials, and on finishing writes the case's timeline and
refreshes its metrics facts. Called by verification.tasks; never queues a task itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from modelcvd.cases.models import TimelineEvent
from modelcvd.core import egress
from modelcvd.core.audit import audit_record
from modelcvd.core.observability import TRIALS
from modelcvd.core.projections import case_projections_refresh
from modelcvd.core.sealing import create_sealed
from modelcvd.core.services import sealed_open, sealed_read
from modelcvd.verification.engine.identity import ModelIdentity
from modelcvd.verification.engine.judges import RefusalJudge
from modelcvd.verification.engine.runner import Trial, run_trials, summarise
from modelcvd.verification.engine.spec import (
    Message,
    ReplaySpec,
    SamplingSpec,
    SpecError,
    replay_turns,
)
from modelcvd.verification.engine.stats import SequentialTest
from modelcvd.verification.engine.targets import TargetError, target_from_uri
from modelcvd.verification.models import VerificationRun, VerificationTrial
from modelcvd.verification.services.attestation import attestation_on_finish
from modelcvd.verification.services.targets import target_credential_open

TRIAL_PURPOSE = "verification.trial"


def verification_queue(target_uri: str) -> str:
    """Local model directories need the machine's accelerator: with VERIFICATION_GPU_QUEUE on,
    their runs go to the queue only GPU workers consume. Endpoint runs are HTTP clients."""
    if settings.VERIFICATION_GPU_QUEUE and target_uri.startswith("hf:"):
        return "verification-gpu"
    return "verification"


def run_chunks(run: VerificationRun) -> list[tuple[int, int]]:
    """The [start, stop) index ranges a run is split into, one task each; [] runs it whole
    (sequential runs decide trial by trial in order, so they are never split)."""
    size = settings.VERIFICATION_CHUNK_TRIALS
    if run.sequential or size <= 0 or run.trials <= size:
        return []
    return [(start, min(start + size, run.trials)) for start in range(0, run.trials, size)]


def runs_stalled(*, idle_seconds: int) -> list[int]:
    """Runs queued or running that stored no trial for `idle_seconds`: their task was lost
    (a broker failure between delivery and acknowledgement) or is stuck. Re-queuing one is
    safe: chunks skip stored trials, and a trial index is stored once."""

    cutoff = timezone.now() - timedelta(seconds=idle_seconds)
    return list(
        VerificationRun.objects.filter(
            state__in=[VerificationRun.State.QUEUED, VerificationRun.State.RUNNING]
        )
        .annotate(
            last=Greatest(
                Coalesce(Max("trial_rows__created_at"), "created_at"),
                Coalesce("started_at", "created_at"),
            )
        )
        .filter(last__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_target(run: VerificationRun) -> Any:
    """The run's target. Endpoints are called through the egress policy (core.egress): checked
    and pinned addresses, no redirects, capped time and size. A registered target's credential
    (sealed for that target, opened here, audited) goes only to the URL registered with it; a
    target URI named directly carries no credential: the platform holds no key of its own."""
    transport = egress.EgressTransport()
    target = run.target
    if target is None:
        return target_from_uri(run.target_uri, transport=transport)
    return target_from_uri(
        target.uri,
        transport=transport,
        concurrency=target.max_concurrency,
        api_key=target_credential_open(target=target, run_id=run.pk),
        requests_per_minute=target.requests_per_minute,
    )


def run_error(exc: Exception) -> tuple[str, str]:
    """(what the run shows to everyone who may see it, what only the audit chain keeps).

    Reporters and vendors read `run.error`: it holds an error class and an HTTP status, never
    text from the endpoint (an error body may echo the conversation or say anything its
    operator wants shown) nor the worker's paths. The detail names the exception for staff; the
    engine keeps remote text out of it too."""
    detail = f"{type(exc).__name__}: {exc}"[:2000]
    if isinstance(exc, TargetError):
        return exc.public, detail
    if isinstance(exc, SpecError):
        # The engine's own words about the report (e.g. a conversation that ends on the
        # model's turn), no remote text: what the reporter and the coordinators must fix.
        return f"the report cannot be replayed: {exc}", detail
    return f"internal error ({type(exc).__name__})", detail


class RunCancelled(Exception):
    """Raised from the trial callback to stop a run whose cancellation was requested."""


def _spec(run: VerificationRun) -> Any:

    assert run.report.payload is not None  # run_request only picks reports with a payload
    payload = json.loads(
        sealed_open(
            blob=run.report.payload,
            actor=None,
            reason=f"verification run #{run.pk}",
            subject=run.report,
        )
    )
    sampling = run.report.sampling
    artifact = run.artifact
    return ReplaySpec(
        turns=replay_turns([Message(t["role"], t["content"]) for t in payload["turns"]]),
        system_prompt=payload["system_prompt"],
        sampling=SamplingSpec(
            temperature=sampling.get("temperature", 1.0),
            top_p=sampling.get("top_p", 1.0),
            max_tokens=sampling.get("max_tokens", 256),
        ),
        trials=run.trials,
        base_seed=run.base_seed,
        pinned=ModelIdentity(
            name=artifact.name, revision=artifact.revision, weights_digest=artifact.weights_digest
        ),
        digest_key=prompt_digest_key(),
    )


def prompt_digest_key() -> bytes:
    """The instance's key for prompt digests, derived from SECRET_KEY: runs on one instance
    stay comparable, and a summary read elsewhere confirms no guessed conversation."""
    return salted_hmac("modelcvd.verification.prompt-digest", "v1", algorithm="sha256").digest()


def _stored_trials(run: VerificationRun) -> list[Any]:

    rows = list(run.trial_rows.select_related("sealed"))
    if rows:
        audit_record(actor=None, action="verification.resume", obj=run, data={"trials": len(rows)})
    return [_trial_of(row) for row in rows]


def _store_trial(run_id: int, trial: Any) -> None:
    if VerificationRun.objects.filter(pk=run_id, cancel_requested=True).exists():
        raise RunCancelled()
    try:
        with transaction.atomic():
            create_sealed(
                VerificationTrial,
                values={
                    "run_id": run_id,
                    "index": trial.index,
                    "seed": trial.seed,
                    "success": trial.success,
                    "label": trial.verdict,
                    "target_name": trial.target.name[:300],
                    "target_revision": trial.target.revision[:200],
                },
                field="sealed",
                plaintext=json.dumps(trial.to_dict(), ensure_ascii=False).encode(),
                purpose=TRIAL_PURPOSE,
            )
    except IntegrityError:
        # Another worker stored this index first (a redelivered task): it counts once.
        return

    TRIALS.inc()


def _run_end(
    run_id: int, state: str, action: str, error: str = "", detail: str = ""
) -> VerificationRun:
    with transaction.atomic():
        # Only a run still in progress ends here: with chunks on several workers, the first
        # chunk to fail or see the cancellation ends it, and the others find it ended.
        ended = (
            VerificationRun.objects.filter(
                pk=run_id, state__in=[VerificationRun.State.QUEUED, VerificationRun.State.RUNNING]
            ).update(state=state, error=error, finished_at=timezone.now())
            == 1
        )
        run = VerificationRun.objects.get(pk=run_id)
        if ended:
            data = {"error": error, "detail": detail} if error else {}
            audit_record(actor=None, action=action, obj=run, data=data)
    return run


def _run_start(run_id: int) -> VerificationRun | None:
    """The run, marked running; None when it has ended already (nothing left to do)."""
    run = VerificationRun.objects.select_related("report", "artifact", "case", "target").get(
        pk=run_id
    )
    if run.state not in (VerificationRun.State.QUEUED, VerificationRun.State.RUNNING):
        return None
    VerificationRun.objects.filter(pk=run.pk).update(
        state=VerificationRun.State.RUNNING, started_at=run.started_at or timezone.now()
    )
    return run


def run_execute_chunk(*, run_id: int, start: int, stop: int) -> VerificationRun:
    """Run (or resume) trials start..stop-1 of a run; the chunk that stores the run's last trial
    finishes the run. Called by workers, several at once for one run; safe to call again."""

    run = _run_start(run_id)
    if run is None:
        return VerificationRun.objects.get(pk=run_id)
    run.refresh_from_db(fields=["state", "started_at"])
    try:
        spec = _spec(run)
        rows = run.trial_rows.filter(index__gte=start, index__lt=stop).select_related("sealed")
        completed = [_trial_of(row) for row in rows]
        target = run_target(run)
        judge = RefusalJudge()
        run_trials(
            spec,
            target,
            judge,
            completed=completed,
            indices=range(start, stop),
            on_trial=lambda trial: _store_trial(run_id, trial),
        )
        if run.trial_rows.count() < run.trials:
            return run
        trials = [_trial_of(row) for row in run.trial_rows.select_related("sealed")]
        started = run.started_at or timezone.now()
        summary = summarise(
            spec,
            trials,
            target=target,
            judge=judge,
            elapsed_s=(timezone.now() - started).total_seconds(),
        ).to_dict()
    except RunCancelled:
        return _run_end(run_id, VerificationRun.State.CANCELLED, "verification.cancelled")
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries, and the chunk resumes
    except Exception as exc:  # a failed run is recorded, not lost: the worker must go on
        error, detail = run_error(exc)
        return _run_end(run_id, VerificationRun.State.FAILED, "verification.failed", error, detail)
    return _run_finish(run, summary)


def _trial_of(row: VerificationTrial) -> Any:

    return Trial.from_dict(json.loads(sealed_read(blob=row.sealed, owner=row)))


def run_execute(*, run_id: int) -> VerificationRun:
    """Run (or resume) the trials of a run. Called by the worker; safe to call again."""

    run = VerificationRun.objects.select_related("report", "artifact", "case", "target").get(
        pk=run_id
    )
    if run.state in (VerificationRun.State.FINISHED, VerificationRun.State.CANCELLED):
        return run
    VerificationRun.objects.filter(pk=run.pk).update(
        state=VerificationRun.State.RUNNING, started_at=run.started_at or timezone.now()
    )
    try:
        spec = _spec(run)
        completed = _stored_trials(run)
        target = run_target(run)
        sequential = (
            SequentialTest(p0=0.05, p1=0.3, alpha=0.05, beta=0.1, max_trials=run.trials)
            if run.sequential
            else None
        )
        result = run_trials(
            spec,
            target,
            RefusalJudge(),
            completed=completed,
            sequential=sequential,
            on_trial=lambda trial: _store_trial(run.pk, trial),
        )
    except RunCancelled:
        return _run_end(run.pk, VerificationRun.State.CANCELLED, "verification.cancelled")
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries, and the run resumes
    except Exception as exc:  # a failed run is recorded, not lost: the worker must go on
        error, detail = run_error(exc)
        return _run_end(run.pk, VerificationRun.State.FAILED, "verification.failed", error, detail)
    return _run_finish(run, result.summary.to_dict())


# Read each run this worker finished (services.watch registers its reader from the app's
# ready(): it imports services.runs, which imports this module through the tasks).
_finished_listeners: dict[str, Callable[[VerificationRun], None]] = {}


def run_finished_listen(name: str, listener: Callable[[VerificationRun], None]) -> None:
    _finished_listeners[name] = listener


def _run_finish(run: VerificationRun, summary: dict[str, Any]) -> VerificationRun:
    with transaction.atomic():
        finished = VerificationRun.objects.filter(
            pk=run.pk, state=VerificationRun.State.RUNNING
        ).update(summary=summary, state=VerificationRun.State.FINISHED, finished_at=timezone.now())
        run.refresh_from_db()
        if not finished:  # another chunk finished it first, or it was cancelled meanwhile
            return run
        low, high = summary["clopper_pearson"]
        TimelineEvent.objects.create(
            case=run.case,
            at=timezone.now(),
            actor=None,
            kind=TimelineEvent.Kind.VERIFICATION,
            reason=(
                f"verification run #{run.pk} on {run.artifact}: {summary['successes']}/{summary['trials']} "
                f"successes, 95% CI [{low:.2f}, {high:.2f}] (exact), verdict {summary['verdict']}"
            ),
        )
        case_projections_refresh(case_ids=[run.case_id])
        # Signed and appended to the transparency log as it finishes (services.attestation).
        attestation_on_finish(run=run)
        audit_record(
            actor=None,
            action="verification.finish",
            obj=run,
            data={
                "successes": summary["successes"],
                "trials": summary["trials"],
                "verdict": summary["verdict"],
            },
        )
    for listener in list(_finished_listeners.values()):
        listener(run)
    return run
