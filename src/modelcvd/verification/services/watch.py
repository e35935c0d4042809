"""Verification the platform starts by itself (docs/verification.md, "Reproduce before triage"
and "Regression watch"):

- on intake: a report whose payload arrived, in scope of a program with `auto_verify`, is
  replayed on every active target offered to that program and pinned to one of the report's
  in-scope artifacts;
- on a new version: a version recorded as superseding an artifact (or named as its fix) is
  tried with every past case that reproduced on an earlier version, when a target pinned to
  the new version is offered to the case's program.

The decision rule is the program's: a measured rate reproduces when the 95 % Clopper-Pearson
lower bound reaches `Program.reproduction_threshold` (fixed-size samples, so the bound is
exact). These runs are requested on behalf of the target's registrant (who offered it to the
program); the audit names the system as the actor. Each is queued on commit, never run in a
web request; `run_finished` reads the result when a worker finishes the run."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import CaseFix
from modelcvd.cases.services import case_measurement_record, case_regression_reopen
from modelcvd.core.audit import audit_record
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.verification.models import Target, VerificationRun

# As a module, read at call time: runs imports the tasks module, which imports this one.
from modelcvd.verification.services import runs as run_requests

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Measurement:
    """k/n with its exact interval, judged against a program's threshold."""

    successes: int
    trials: int
    low: float
    high: float
    threshold: float

    @property
    def reproduced(self) -> bool:
        return self.trials > 0 and self.low >= self.threshold

    def text(self) -> str:
        # "Reproduced" (the run's verdict: the attack works) and the threshold (how often it
        # must work) are different claims; a reader saw "reproduced ... does not meet" as a
        # contradiction, so the text says which is which.
        if self.reproduced:
            met = "meets the program's threshold"
            tail = ""
        else:
            met = "is below the program's threshold"
            tail = (
                ": the attack works, at a rate not yet shown to reach the threshold"
                if self.successes
                else ""
            )
        return (
            f"{self.successes}/{self.trials}, 95% Clopper-Pearson [{self.low:.2f}, "
            f"{self.high:.2f}]; its lower bound {met} of {self.threshold:.0%}{tail}"
        )


def measurement(successes: int, trials: int, threshold: float) -> Measurement:
    low, high = clopper_pearson_interval(successes, trials, CONFIDENCE) if trials else (0.0, 1.0)
    return Measurement(successes, trials, float(low), float(high), threshold)


def run_measurement(run: VerificationRun) -> Measurement | None:
    """A finished run's measurement against its case's program threshold."""
    summary = run.summary or {}
    if run.state != VerificationRun.State.FINISHED or not summary.get("trials"):
        return None
    program = Program.objects.only("reproduction_threshold").get(pk=run.case.program_id)
    return measurement(
        int(summary["successes"]), int(summary["trials"]), program.reproduction_threshold
    )


def _program_targets(program: Program, artifact_ids: list[int]) -> list[Target]:
    return list(
        Target.objects.filter(
            offered_to=program, active=True, artifact_id__in=artifact_ids
        ).order_by("pk")
    )


def intake_verify(*, report_id: int) -> list[VerificationRun]:
    """Reproduce before triage: queue the report on its program's targets, after the scope
    check (the report's artifacts that the program has in scope; none: nothing runs)."""
    report = Report.objects.select_related("program", "case").filter(pk=report_id).first()
    if report is None or report.payload_id is None or report.case_id is None:
        return []
    program = report.program
    if not program.auto_verify or report.intake != Report.Intake.COMPLETE:
        return []
    in_scope = list(
        report.artifacts.filter(programs=program).order_by("pk").values_list("pk", flat=True)
    )
    targets = _program_targets(program, in_scope)
    runs = []
    with transaction.atomic():
        for target in targets:
            runs.append(
                run_requests.run_create(
                    case=report.case,
                    report=report,
                    actor=target.registered_by,
                    artifact=target.artifact,
                    target=target.uri,
                    trials=program.auto_verify_trials,
                    action="verification.intake",
                    registered=target,
                    purpose=VerificationRun.Purpose.INTAKE,
                )
            )
        audit_record(
            actor=None,
            action="verification.intake_queue",
            obj=report,
            data={"runs": [r.pk for r in runs], "in_scope": in_scope},
        )
    return runs


def _earlier_versions(artifact: Artifact) -> list[int]:
    """The versions `artifact` replaces: those it supersedes (transitively) and those a fix
    step named it the fix of."""
    found: set[int] = set()
    frontier = {artifact.pk}
    while frontier:
        older = set(
            Artifact.objects.filter(superseded_by_id__in=frontier).values_list("pk", flat=True)
        ) | set(
            CaseFix.objects.filter(fixed_by_id__in=frontier).values_list("artifact_id", flat=True)
        )
        frontier = older - found - {artifact.pk}
        found |= frontier
    return sorted(found)


def regression_watch(*, artifact_id: int) -> list[VerificationRun]:
    """Re-run, on the new version `artifact_id`, every past case that reproduced on a version
    it replaces (its latest run that reproduced at its program's threshold, replayed with the
    same report and trial count), where a target pinned to the new version is offered to the
    case's program."""
    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if artifact is None:
        return []
    earlier = _earlier_versions(artifact)
    if not earlier:
        return []
    reproduced_runs = VerificationRun.objects.filter(
        artifact_id__in=earlier, state=VerificationRun.State.FINISHED
    ).select_related("case", "report")
    runs: list[VerificationRun] = []
    seen: set[int] = set()
    with transaction.atomic():
        for past in reproduced_runs.order_by("case_id", "-finished_at", "-id"):
            if past.case_id in seen:
                continue
            found = run_measurement(past)
            if found is None or not found.reproduced:
                continue
            seen.add(past.case_id)
            program = Program.objects.get(pk=past.case.program_id)
            for target in _program_targets(program, [artifact.pk]):
                runs.append(
                    run_requests.run_create(
                        case=past.case,
                        report=past.report,
                        actor=target.registered_by,
                        artifact=artifact,
                        target=target.uri,
                        trials=past.trials,
                        judge=past.judge,
                        action="verification.regression",
                        registered=target,
                        purpose=VerificationRun.Purpose.REGRESSION,
                    )
                )
        audit_record(
            actor=None,
            action="verification.regression_watch",
            obj=artifact,
            data={"earlier": earlier, "runs": [r.pk for r in runs]},
        )
    return runs


def run_finished(run: VerificationRun) -> None:
    """Called when a run finishes (services.execution): an intake run records the case's
    measured rate; a regression run that reproduces at the threshold reopens the case."""
    if run.purpose == VerificationRun.Purpose.REQUESTED:
        return
    found = run_measurement(run)
    if found is None:
        return
    if run.purpose == VerificationRun.Purpose.INTAKE:
        case_measurement_record(
            case_id=run.case_id,
            run_id=run.pk,
            successes=found.successes,
            trials=found.trials,
            low=found.low,
            high=found.high,
            reproduced=found.reproduced,
        )
    elif run.purpose == VerificationRun.Purpose.REGRESSION and found.reproduced:
        case_regression_reopen(
            case_id=run.case_id, run_id=run.pk, measurement=f"on {run.artifact}: {found.text()}"
        )
