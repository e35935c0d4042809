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
from modelcvd.cases.models import Case, CaseVendor
from modelcvd.cases.selectors import case_get_for
from modelcvd.cases.services import case_vendor_notify
from modelcvd.core import egress
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import FieldError, InvalidInput, NotFound
from modelcvd.reports.models import Report
from modelcvd.verification import tasks
from modelcvd.verification.matrix import matrix_get_for
from modelcvd.verification.models import RunGroup, Target, VerificationRun
from modelcvd.verification.selectors import targets_for_case
from modelcvd.verification.services.execution import verification_queue

JUDGES = ("refusal",)
MAX_TRIALS = 10_000
MAX_MATRIX_TARGETS = 20


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
    target: str = "",
    trials: int,
    judge: str = "refusal",
    sequential: bool = False,
    base_seed: int | None = None,
    target_id: int | None = None,
) -> VerificationRun:
    """Queue a run of the case's first report on `artifact`, on a registered target
    (`target_id`, which must be pinned to that artifact) or a target URI. Coordinators only."""
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
    registered: Target | None = None
    if target_id is not None:
        registered = targets_for_case(actor=actor, case=case).filter(pk=target_id).first()
        if registered is None:
            raise InvalidInput([FieldError("target_id", "no target you may use for this case")])
        if registered.artifact_id != artifact.pk:
            raise InvalidInput(
                [FieldError("target_id", "the target is pinned to another artifact")]
            )
    elif not target:
        raise InvalidInput([FieldError("target", "name a target URI or a registered target_id")])
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
        target=registered.uri if registered else check_target(target),
        trials=trials,
        judge=judge,
        sequential=sequential,
        base_seed=base_seed,
        registered=registered,
    )


def matrix_request(
    *,
    case_id: int,
    actor: User,
    target_ids: list[int],
    trials: int,
    sequential: bool = False,
    base_seed: int | None = None,
) -> RunGroup:
    """Run every report of the case that carries a payload on each of the registered targets
    (each pinned to its own artifact): one run per (target, report), grouped as one transfer
    matrix. Coordinators only; the targets must be ones they may use for this case."""
    case = case_get_for(
        actor=actor,
        case_id=case_id,
        action="coordinate",
        forbidden="only the case's coordinators start verification runs",
    )
    if not 1 <= trials <= MAX_TRIALS:
        raise InvalidInput([FieldError("trials", f"between 1 and {MAX_TRIALS}")])
    wanted = sorted(set(target_ids))
    if not 1 <= len(wanted) <= MAX_MATRIX_TARGETS:
        raise InvalidInput(
            [FieldError("target_ids", f"between 1 and {MAX_MATRIX_TARGETS} targets")]
        )
    targets = list(targets_for_case(actor=actor, case=case).filter(pk__in=wanted).order_by("pk"))
    if len(targets) != len(wanted):
        raise InvalidInput([FieldError("target_ids", "a target you may not use for this case")])
    reports = list(case.reports.exclude(payload=None).order_by("created_at", "id"))
    if not reports:
        raise InvalidInput(
            [FieldError("case_id", "the case has no report with a payload to replay")]
        )
    with transaction.atomic():
        group = RunGroup.objects.create(
            case=case, requested_by=actor, trials=trials, sequential=sequential
        )
        audit_record(
            actor=actor,
            action="verification.matrix_request",
            obj=group,
            data={
                "case": case.pk,
                "targets": [t.pk for t in targets],
                "reports": [r.pk for r in reports],
                "trials": trials,
            },
        )
        for target in targets:
            for report in reports:
                run_create(
                    case=case,
                    report=report,
                    actor=actor,
                    artifact=target.artifact,
                    target=target.uri,
                    trials=trials,
                    sequential=sequential,
                    base_seed=base_seed,
                    registered=target,
                    group=group,
                )
    return group


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
    registered: Target | None = None,
    group: RunGroup | None = None,
    purpose: str = VerificationRun.Purpose.REQUESTED,
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
            target=registered,
            group=group,
            judge=judge,
            trials=trials,
            base_seed=seed,
            sequential=sequential,
            purpose=purpose,
        )
        audit_record(
            actor=None if purpose != VerificationRun.Purpose.REQUESTED else actor,
            action=action,
            obj=run,
            data={
                "case": case.pk,
                "artifact": artifact.pk,
                "trials": trials,
                "target": registered.pk if registered else None,
            },
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


def matrix_vendor_bring_in(
    *, actor: User, group_id: int, organisation: str, reason: str
) -> CaseVendor:
    """Bring into the case a vendor whose model a reproduced cell of the matrix shows
    affected (one of the matrix's proposals): the cases app's notify, with that model added
    to the case's artifacts, audited and on the timeline. Never automatic: a coordinator asks."""
    group = RunGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound()
    case_get_for(
        actor=actor,
        case_id=group.case_id,
        action="coordinate",
        forbidden="only the case's coordinators bring vendors in",
    )
    matrix = matrix_get_for(actor=actor, group_id=group_id)
    proposal = next((p for p in matrix.proposals if p.organisation == organisation), None)
    if proposal is None:
        raise InvalidInput(
            [FieldError("organisation", "no reproduced cell shows this vendor's model affected")]
        )
    return case_vendor_notify(
        case_id=group.case_id,
        organisation=organisation,
        actor=actor,
        reason=f"{reason.strip()} (transfer matrix #{group.pk}, target #{proposal.target_id})",
        artifact_id=proposal.artifact_id,
    )
