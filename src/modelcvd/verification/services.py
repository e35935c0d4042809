"""Verification runs: request, execute (in a worker), cancel. The engine does the replay; this
layer pins the run to a case and an artifact, stores each trial as it finishes, and resumes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import case_get_for
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.core.sealing import open_blob, seal
from modelcvd.core.services import sealed_open
from modelcvd.reports.models import Report
from modelcvd.verification.models import VerificationRun, VerificationTrial

TRIAL_PURPOSE = "verification.trial"
JUDGES = ("refusal",)
MAX_TRIALS = 10_000


class RunCancelled(Exception):
    """Raised from the trial callback to stop a run whose cancellation was requested."""


def check_target(uri: str) -> str:
    scheme, _, rest = uri.partition(":")
    if scheme == "hf":
        # Local model directories only from the configured roots: a path in a request must not
        # reach arbitrary files on the worker.
        path = Path(rest).resolve()
        roots = [Path(root).resolve() for root in settings.MODEL_DIRS]
        if not any(path == root or root in path.parents for root in roots):
            raise InvalidInput(
                [FieldError("target", "hf: directories must lie under MODELCVD_MODEL_DIRS")]
            )
        return f"hf:{path}"
    if scheme == "openai" and rest.startswith(("http://", "https://")) and "#" in rest:
        return uri
    raise InvalidInput([FieldError("target", "use hf:DIR or openai:URL#MODEL")])


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
    from django.db.models import Max
    from django.db.models.functions import Coalesce, Greatest

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


def run_request(
    *,
    case_id: int,
    actor: User,
    artifact_id: int,
    target: str,
    trials: int,
    judge: str = "refusal",
    sequential: bool = False,
    base_seed: int | None = None,
) -> VerificationRun:
    """Queue a run of the case's first report on `artifact`. Coordinators only."""
    case = case_get_for(
        actor=actor,
        case_id=case_id,
        action="coordinate",
        forbidden="only the case's coordinators start verification runs",
    )
    if not 1 <= trials <= MAX_TRIALS:
        raise InvalidInput([FieldError("trials", f"between 1 and {MAX_TRIALS}")])
    if judge not in JUDGES:
        raise InvalidInput([FieldError("judge", f"one of {list(JUDGES)}")])
    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if artifact is None:
        raise InvalidInput([FieldError("artifact_id", "no artifact with this id")])
    report = case.reports.exclude(payload=None).order_by("created_at", "id").first()
    if report is None:
        raise InvalidInput(
            [FieldError("case_id", "the case has no report with a payload to replay")]
        )
    return run_create(
        case=case,
        report=report,
        actor=actor,
        artifact=artifact,
        target=check_target(target),
        trials=trials,
        judge=judge,
        sequential=sequential,
        base_seed=base_seed,
    )


def run_create(
    *,
    case: Case,
    report: Report,
    actor: User,
    artifact: Artifact,
    target: str,
    trials: int,
    judge: str = "refusal",
    sequential: bool = False,
    base_seed: int | None = None,
    action: str = "verification.request",
) -> VerificationRun:
    """Store and queue a run whose inputs the caller has checked (who may, which target)."""
    seed = base_seed if base_seed is not None else (report.sampling.get("seed") or 0)
    with transaction.atomic():
        run = VerificationRun.objects.create(
            case=case,
            report=report,
            artifact=artifact,
            requested_by=actor,
            target_uri=target,
            judge=judge,
            trials=trials,
            base_seed=seed,
            sequential=sequential,
        )
        audit_record(
            actor=actor,
            action=action,
            obj=run,
            data={"case": case.pk, "artifact": artifact.pk, "trials": trials},
        )
        from modelcvd.verification.tasks import run_verification

        queue = verification_queue(run.target_uri)
        transaction.on_commit(lambda: run_verification.apply_async((run.pk,), queue=queue))
    return run


def run_cancel(*, run_id: int, actor: User) -> VerificationRun:
    run = VerificationRun.objects.select_related("case").get_for(
        actor=actor,
        action="coordinate",
        forbidden="only the case's coordinators cancel runs",
        pk=run_id,
    )
    with transaction.atomic():
        if run.state == VerificationRun.State.QUEUED:
            run.state = VerificationRun.State.CANCELLED
            run.finished_at = timezone.now()
        run.cancel_requested = True
        run.save(update_fields=["state", "finished_at", "cancel_requested"])
        audit_record(actor=actor, action="verification.cancel", obj=run)
    return run


def _spec(run: VerificationRun) -> Any:
    from modelcvd.verification.engine.identity import ModelIdentity
    from modelcvd.verification.engine.spec import Message, ReplaySpec, SamplingSpec

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
        turns=tuple(Message(t["role"], t["content"]) for t in payload["turns"]),
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
    )


def _stored_trials(run: VerificationRun) -> list[Any]:
    from modelcvd.verification.engine.runner import Trial

    rows = list(run.trial_rows.select_related("sealed"))
    if rows:
        audit_record(actor=None, action="verification.resume", obj=run, data={"trials": len(rows)})
    return [Trial.from_dict(json.loads(open_blob(row.sealed))) for row in rows]


def _store_trial(run_id: int, trial: Any) -> None:
    if VerificationRun.objects.filter(pk=run_id, cancel_requested=True).exists():
        raise RunCancelled()
    try:
        with transaction.atomic():
            VerificationTrial.objects.create(
                run_id=run_id,
                index=trial.index,
                seed=trial.seed,
                success=trial.success,
                label=trial.verdict,
                target_name=trial.target.name[:300],
                target_revision=trial.target.revision[:200],
                sealed=seal(
                    json.dumps(trial.to_dict(), ensure_ascii=False).encode(), purpose=TRIAL_PURPOSE
                ),
            )
    except IntegrityError:
        # Another worker stored this index first (a redelivered task): it counts once.
        return
    from modelcvd.core.observability import TRIALS

    TRIALS.inc()


def _run_end(run_id: int, state: str, action: str, error: str = "") -> VerificationRun:
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
            audit_record(actor=None, action=action, obj=run, data={"error": error} if error else {})
    return run


def _run_start(run_id: int) -> VerificationRun | None:
    """The run, marked running; None when it has ended already (nothing left to do)."""
    run = VerificationRun.objects.select_related("report", "artifact", "case").get(pk=run_id)
    if run.state not in (VerificationRun.State.QUEUED, VerificationRun.State.RUNNING):
        return None
    VerificationRun.objects.filter(pk=run.pk).update(
        state=VerificationRun.State.RUNNING, started_at=run.started_at or timezone.now()
    )
    return run


def run_execute_chunk(*, run_id: int, start: int, stop: int) -> VerificationRun:
    """Run (or resume) trials start..stop-1 of a run; the chunk that stores the run's last trial
    finishes the run. Called by workers, several at once for one run; safe to call again."""
    from modelcvd.verification.engine.judges import RefusalJudge
    from modelcvd.verification.engine.runner import run_trials
    from modelcvd.verification.engine.targets import target_from_uri

    run = _run_start(run_id)
    if run is None:
        return VerificationRun.objects.get(pk=run_id)
    run.refresh_from_db(fields=["state", "started_at"])
    try:
        spec = _spec(run)
        rows = run.trial_rows.filter(index__gte=start, index__lt=stop).select_related("sealed")
        completed = [_trial_of(row) for row in rows]
        target = target_from_uri(run.target_uri)
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
        from modelcvd.verification.engine.runner import summarise

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
        return _run_end(
            run_id,
            VerificationRun.State.FAILED,
            "verification.failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    return _run_finish(run, summary)


def _trial_of(row: VerificationTrial) -> Any:
    from modelcvd.verification.engine.runner import Trial

    return Trial.from_dict(json.loads(open_blob(row.sealed)))


def run_execute(*, run_id: int) -> VerificationRun:
    """Run (or resume) the trials of a run. Called by the worker; safe to call again."""
    from modelcvd.verification.engine.judges import RefusalJudge
    from modelcvd.verification.engine.runner import run_trials
    from modelcvd.verification.engine.stats import SequentialTest
    from modelcvd.verification.engine.targets import target_from_uri

    run = VerificationRun.objects.select_related("report", "artifact", "case").get(pk=run_id)
    if run.state in (VerificationRun.State.FINISHED, VerificationRun.State.CANCELLED):
        return run
    VerificationRun.objects.filter(pk=run.pk).update(
        state=VerificationRun.State.RUNNING, started_at=run.started_at or timezone.now()
    )
    try:
        spec = _spec(run)
        completed = _stored_trials(run)
        target = target_from_uri(run.target_uri)
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
        return _run_end(
            run.pk,
            VerificationRun.State.FAILED,
            "verification.failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
    return _run_finish(run, result.summary.to_dict())


def _run_finish(run: VerificationRun, summary: dict[str, Any]) -> VerificationRun:
    with transaction.atomic():
        finished = VerificationRun.objects.filter(
            pk=run.pk, state=VerificationRun.State.RUNNING
        ).update(summary=summary, state=VerificationRun.State.FINISHED, finished_at=timezone.now())
        run.refresh_from_db()
        if not finished:  # another chunk finished it first, or it was cancelled meanwhile
            return run
        low, high = summary["wilson"]
        TimelineEvent.objects.create(
            case=run.case,
            at=timezone.now(),
            actor=None,
            kind=TimelineEvent.Kind.VERIFICATION,
            reason=(
                f"verification run #{run.pk} on {run.artifact}: {summary['successes']}/{summary['trials']} "
                f"successes, 95% CI [{low:.2f}, {high:.2f}], verdict {summary['verdict']}"
            ),
        )
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
    return run
