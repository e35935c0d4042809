"""Verification runs: request, queue, cancel. The worker's side is services.execution.

The tasks module imports services.execution (what a task runs); this module queues tasks, so it
imports the tasks module. Imported as a module and read at call time, so either side may be
imported first: the import graph has no cycle (runs -> tasks -> execution)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.cases.selectors import case_get_for
from modelcvd.core import egress
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput
from modelcvd.reports.models import Report
from modelcvd.verification import tasks
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.services.execution import verification_queue

JUDGES = ("refusal",)
MAX_TRIALS = 10_000


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
        # Said now, to the coordinator; the worker checks again at every request (a name may
        # resolve elsewhere by then).
        if (problem := egress.url_problem(rest.partition("#")[0])) is not None:
            raise InvalidInput(
                [
                    FieldError(
                        "target",
                        f"the endpoint is refused: {problem} (internal endpoints must be listed "
                        "in MODELCVD_EGRESS_ALLOW)",
                    )
                ]
            )
        return uri
    raise InvalidInput([FieldError("target", "use hf:DIR or openai:URL#MODEL")])


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
        queue = verification_queue(run.target_uri)
        transaction.on_commit(lambda: tasks.run_verification.apply_async((run.pk,), queue=queue))
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
