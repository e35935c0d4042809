"""Held-out benchmark items as verification shows them: per harm category aggregates for
everyone who sees the case, and a timeline without the per-run results on items the actor may
not see (reports/holdout.py says who may see an item)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import timeline_for
from modelcvd.reports.holdout import Actor, withheld_report_ids
from modelcvd.verification.models import VerificationRun


def benchmark_aggregate(*, case: Case) -> list[dict[str, Any]]:
    """Per harm category over the case's held-out items: how many items, the reported
    successes/trials and rate, and the measured ones from finished verification runs."""
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "items": 0,
            "reported_successes": 0,
            "reported_trials": 0,
            "measured_successes": 0,
            "measured_trials": 0,
        }
    )
    held = list(case.reports.filter(held_out=True))
    for report in held:
        row = rows[report.harm_category]
        row["items"] += 1
        row["reported_successes"] += report.successes
        row["reported_trials"] += report.trials
    runs = VerificationRun.objects.filter(
        report__in=held, state=VerificationRun.State.FINISHED
    ).select_related("report")
    for run in runs:
        summary = run.summary or {}
        row = rows[run.report.harm_category]
        row["measured_successes"] += int(summary.get("successes", 0))
        row["measured_trials"] += int(summary.get("trials", 0))
    out = []
    for category, row in sorted(rows.items()):
        reported = row["reported_trials"]
        measured = row["measured_trials"]
        out.append(
            {
                "harm_category": category,
                **row,
                "reported_rate": round(row["reported_successes"] / reported, 4)
                if reported
                else None,
                "measured_rate": round(row["measured_successes"] / measured, 4)
                if measured
                else None,
            }
        )
    return out


def timeline_visible(*, actor: Actor, case: Case) -> QuerySet[TimelineEvent]:
    """The case's timeline without the per-run verification results on held-out items that
    `actor` may not see, nor on registered targets they may not see (those entries name their
    run: "verification run #N ...")."""
    events = timeline_for(case=case)
    hidden = withheld_report_ids(actor=actor, case=case)
    # Runs on registered targets the actor may not see (another vendor's model) too.
    on_hidden_targets = (
        VerificationRun.objects.filter(case=case, target__isnull=False)
        .exclude(pk__in=VerificationRun.objects.allowed(actor, "view"))
        .values_list("pk", flat=True)
    )
    run_ids = [
        *VerificationRun.objects.filter(case=case, report_id__in=hidden).values_list(
            "pk", flat=True
        ),
        *on_hidden_targets,
    ]
    if not run_ids:
        return events
    for run_id in run_ids:
        events = events.exclude(
            kind=TimelineEvent.Kind.VERIFICATION, reason__startswith=f"verification run #{run_id} "
        )
    return events
