"""Reads on verification runs: whoever sees the case sees its runs' numbers, never the trials'
responses. Progress is computed from the stored trials."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from modelcvd.accounts.models import Organisation
from modelcvd.artifacts import lineage
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, CaseFix
from modelcvd.cases.selectors import case_get_for
from modelcvd.reports.holdout import withheld_report_ids
from modelcvd.verification.access import target_organisations
from modelcvd.verification.engine.runner import RunSummary
from modelcvd.verification.engine.stats import clopper_pearson_interval
from modelcvd.verification.engine.verdict import ComparisonRefused, FixVerdict, fix_verdict
from modelcvd.verification.holdout import benchmark_aggregate
from modelcvd.verification.models import Target, VerificationRun
from modelcvd.vocabulary import DECIDED_VERDICTS

Actor = AbstractBaseUser | AnonymousUser


def runs_for_case(*, case: Case) -> QuerySet[VerificationRun]:
    return (
        case.verification_runs.select_related("artifact")
        .annotate(
            done=Count("trial_rows"),
            successes=Count("trial_rows", filter=Q(trial_rows__success=True)),
        )
        .order_by("-created_at", "-id")
    )


def run_get_for(
    *, actor: Actor, run_id: int, action: str = "view", forbidden: str = ""
) -> VerificationRun:
    """The run if `actor` may do `action` to it; NotFound when missing or not allowed (or,
    with `forbidden`, Forbidden for an actor who may see it but not do `action`)."""
    return (
        VerificationRun.objects.select_related("artifact", "case")
        .annotate(
            done=Count("trial_rows"),
            successes=Count("trial_rows", filter=Q(trial_rows__success=True)),
        )
        .get_for(actor=actor, action=action, forbidden=forbidden, pk=run_id)
    )


def run_get_visible(*, actor: Actor, run_id: int) -> VerificationRun:
    return run_get_for(actor=actor, run_id=run_id)


def runs_visible_for_case(*, actor: Actor, case_id: int) -> QuerySet[VerificationRun]:
    case = case_get_for(actor=actor, case_id=case_id)
    return runs_for_case(case=case).filter(pk__in=VerificationRun.objects.allowed(actor, "view"))


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    successes: int
    interval: tuple[float, float] | None
    # Seconds left, estimated from the trials measured so far (None before the first one).
    seconds_left: float | None = None

    @property
    def time_left(self) -> str:
        """The estimate in words, rounded as people read it."""
        if self.seconds_left is None:
            return ""
        left = self.seconds_left
        if left < 90:
            return f"about {max(1, round(left))} s left"
        if left < 90 * 60:
            return f"about {round(left / 60)} min left"
        return f"about {left / 3600:.1f} h left"

    @property
    def reload_seconds(self) -> int:
        """How soon the run page reloads while the run is live: at the time left, between 3
        and 10 s; 3 s before the first trial has given a pace (a small run is often over
        within seconds of being queued, and waiting 10 s to see that read as a hang)."""
        if self.seconds_left is None:
            return 3
        return int(min(10.0, max(3.0, math.ceil(self.seconds_left))))


def run_progress(run: VerificationRun, *, now: datetime | None = None) -> Progress:
    done, successes = int(getattr(run, "done", 0)), int(getattr(run, "successes", 0))
    # Exact (Clopper-Pearson) like every interval shown: Wilson undercovers at small n.
    interval = tuple(float(x) for x in clopper_pearson_interval(successes, done)) if done else None
    seconds_left = None
    if run.state == VerificationRun.State.RUNNING and run.started_at is not None and done:
        # Measured pace so far (the model load included, so the estimate errs long at first).
        elapsed = ((now or timezone.now()) - run.started_at).total_seconds()
        seconds_left = max(0.0, elapsed / done * (run.trials - done))
    return Progress(
        done=done,
        total=run.trials,
        successes=successes,
        interval=interval,  # type: ignore[arg-type]
        seconds_left=seconds_left,
    )


@dataclass(frozen=True)
class VersionRow:
    """The latest finished run per artifact version: the case's version matrix."""

    artifact: str
    artifact_id: int
    run_id: int
    successes: int
    trials: int
    rate: float
    interval: tuple[float, float]  # exact (Clopper-Pearson) 95%, from the counts
    verdict: str


def version_matrix(
    *, case: Case, actor: AbstractBaseUser | AnonymousUser | None = None
) -> list[VersionRow]:
    rows: dict[int, VersionRow] = {}
    # Per-run results on a held-out benchmark item would tell a vendor how each item fares:
    # vendors get the per-category aggregates (verification/holdout.py) instead.
    hidden = withheld_report_ids(actor=actor, case=case) if actor is not None else set()
    runs = case.verification_runs.all()
    if actor is not None:  # runs on targets the actor may not see stay out (access.py)
        runs = runs.filter(pk__in=VerificationRun.objects.allowed(actor, "view"))
    for run in (
        runs.select_related("artifact")
        .exclude(report_id__in=hidden)
        .filter(state=VerificationRun.State.FINISHED)
        .order_by("created_at", "id")
    ):
        summary = run.summary or {}
        successes, trials = int(summary.get("successes", 0)), int(summary.get("trials", 0))
        rows[run.artifact_id] = VersionRow(
            artifact=str(run.artifact),
            artifact_id=run.artifact_id,
            run_id=run.pk,
            successes=successes,
            trials=trials,
            rate=summary.get("rate", 0.0),
            interval=_exact(successes, trials),
            verdict=summary.get("verdict", ""),
        )
    return sorted(rows.values(), key=lambda r: r.artifact)


@dataclass(frozen=True)
class FixRow:
    """The fix verdict of one CaseFix (the affected version against the version named as its
    fix), from the latest finished run on each, with the program's thresholds."""

    artifact: str
    fixed_by: str
    before_run_id: int
    after_run_id: int
    verdict: str
    line: str
    acceptable_rate: float
    min_trials: int
    data: dict[str, object]


def fix_verdicts(*, case: Case, actor: Actor | None = None) -> list[FixRow]:
    """A fix verdict per fix step of the case that has a finished run on both versions
    (engine/verdict.py: fixed needs a significant drop, the after-rate's exact upper bound below
    the program's `fix_acceptable_rate` and at least `fix_min_trials` after-trials). A pair the
    engine refuses (a sequentially stopped run) is shown as inconclusive with the reason."""
    hidden = withheld_report_ids(actor=actor, case=case) if actor is not None else set()
    latest: dict[int, VerificationRun] = {}
    for run in (
        case.verification_runs.exclude(report_id__in=hidden)
        .filter(state=VerificationRun.State.FINISHED)
        .exclude(summary=None)
        .order_by("created_at", "id")
    ):
        latest[run.artifact_id] = run
    program = case.program
    rows: list[FixRow] = []
    for fix in CaseFix.objects.filter(case=case).select_related("artifact", "fixed_by"):
        before, after = latest.get(fix.artifact_id), latest.get(fix.fixed_by_id)
        if before is None or after is None or not before.summary or not after.summary:
            continue
        data: dict[str, object] = {}
        try:
            verdict: FixVerdict | None = fix_verdict(
                RunSummary.from_dict(before.summary),
                RunSummary.from_dict(after.summary),
                acceptable_rate=program.fix_acceptable_rate,
                min_trials=program.fix_min_trials,
            )
        except ComparisonRefused as refused:
            verdict, label, line = None, "inconclusive", str(refused)
        except (KeyError, TypeError, ValueError) as exc:  # a summary from an older engine
            verdict, label, line = None, "inconclusive", f"runs not comparable: {exc}"
        if verdict is not None:
            label, line, data = verdict.verdict.value, verdict.line(), verdict.to_dict()
        rows.append(
            FixRow(
                artifact=str(fix.artifact),
                fixed_by=str(fix.fixed_by),
                before_run_id=before.pk,
                after_run_id=after.pk,
                verdict=label,
                line=line,
                acceptable_rate=program.fix_acceptable_rate,
                min_trials=program.fix_min_trials,
                data=data,
            )
        )
    return rows


def measured_reproducibility(*, case_id: int) -> tuple[float, str] | None:
    """(lower bound, source) from the latest finished verification run of the case, if any: the
    reproducibility that scoring takes over the coordinator's (cases.services.case_score).

    When that run is on a held-out benchmark item, the bound is computed from what the case's
    vendors are shown instead, the held-out items' measured successes/trials pooled over the
    per-category aggregates (verification/holdout.py): the severity explanation is read by the
    vendor, and one run's bound would give that item's result back."""
    run = (
        VerificationRun.objects.filter(case_id=case_id, state=VerificationRun.State.FINISHED)
        .exclude(summary=None)
        .select_related("report", "case")
        .order_by("-finished_at", "-id")
        .first()
    )
    if run is None or not run.summary or not run.summary.get("trials"):
        return None
    if run.report.held_out:
        rows = benchmark_aggregate(case=run.case)
        successes = sum(r["measured_successes"] for r in rows)
        trials = sum(r["measured_trials"] for r in rows)
        if not trials:
            return None
        low = _exact(successes, trials)[0]
        categories = len([r for r in rows if r["measured_trials"]])
        return low, (
            f"held-out benchmark items, {successes}/{trials} successes pooled over "
            f"{categories} harm categor{'y' if categories == 1 else 'ies'} (exact lower bound)"
        )
    successes, trials = int(run.summary["successes"]), int(run.summary["trials"])
    return _exact(successes, trials)[0], (
        f"verification run #{run.pk}, {successes}/{trials} successes (exact lower bound)"
    )


def _exact(successes: int, trials: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval every page shows; (0, 0) without trials."""
    if trials < 1:
        return (0.0, 0.0)
    low, high = clopper_pearson_interval(successes, trials)
    return float(low), float(high)


def case_run_verdicts(case_id: int, artifact_ids: list[int]) -> dict[int, tuple[str, int]]:
    """The latest finished, decided run of the case on each artifact: (verdict, run id)."""
    runs = (
        VerificationRun.objects.filter(
            case_id=case_id,
            artifact_id__in=artifact_ids,
            state=VerificationRun.State.FINISHED,
        )
        .order_by("artifact_id", "-finished_at", "-id")
        .values_list("artifact_id", "id", "summary")
    )
    verdicts: dict[int, tuple[str, int]] = {}
    for artifact_id, run_id, summary in runs:
        verdict = (summary or {}).get("verdict")
        if artifact_id not in verdicts and verdict in DECIDED_VERDICTS:
            verdicts[artifact_id] = (verdict, run_id)
    return verdicts


def derivative_statuses(
    *, affected: Sequence[Artifact | int], case_id: int | None = None
) -> list[lineage.DerivativeStatus]:
    """Every descendant of the `affected` artifacts with its status for case `case_id`: the
    lineage walk (artifacts/lineage.py::derivative_statuses, which states the rules) decided
    by the case's finished runs; with no case, by inheritance alone."""
    if case_id is None:
        return lineage.derivative_statuses(affected=affected)
    return lineage.derivative_statuses(
        affected=affected, verdicts=partial(case_run_verdicts, case_id)
    )


def targets_visible(*, actor: Actor) -> QuerySet[Target]:
    """The targets `actor` may see: their organisation's, and those offered to programs their
    organisation runs (verification/access.py)."""
    return (
        Target.objects.restrict(actor, "view")
        .select_related("organisation", "artifact")
        .prefetch_related("offered_to")
    )


def target_get_for(
    *, actor: Actor, target_id: int, action: str = "view", forbidden: str = ""
) -> Target:
    """The target if `actor` may do `action` to it; NotFound when missing or not allowed."""
    return Target.objects.select_related("organisation", "artifact").get_for(
        actor=actor, action=action, forbidden=forbidden, pk=target_id
    )


def targets_for_case(*, actor: Actor, case: Case) -> QuerySet[Target]:
    """The active targets a coordinator may run `case` on: those they may use that belong to
    the organisation running the case's program or were offered to that program."""
    return (
        Target.objects.restrict(actor, "use")
        .filter(active=True)
        .filter(
            pk__in=Target.objects.filter(
                Q(organisation_id=case.program.organisation_id) | Q(offered_to=case.program_id)
            ).values("pk")
        )
        .select_related("organisation", "artifact")
    )


def target_registration_organisations(*, actor: Actor) -> QuerySet[Organisation]:
    """The organisations `actor` may register targets for (the register form's choices)."""
    return Organisation.objects.filter(target_organisations(actor)).order_by("name")


def target_ids_managed(*, actor: Actor) -> set[int]:
    """The targets `actor` may offer, withdraw and retire."""
    return set(Target.objects.restrict(actor, "manage").values_list("pk", flat=True))
