"""Benchmark integrity: payloads marked as held-out benchmark items never reach a vendor.

A program with `benchmark_holdout` marks each report's payload as a held-out item (e.g. a
jailbreak that is also a test item of a public benchmark). The reporter and the coordinators
see everything; the vendor gets per-harm-category aggregates only (success rate per category)
and never an item: not the payload, not the attachments, not the behaviour texts that quote
it, not the per-run verification results on it. Every route consults `report_withheld` or
`withheld_report_ids` before serving a report's content.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from modelcvd.cases.models import Case
from modelcvd.reports.models import Report

WITHHELD = "[withheld: held-out benchmark item]"

Actor = AbstractBaseUser | AnonymousUser


def report_withheld(*, actor: Actor, report: Any) -> bool:
    """True when `actor` may see the report exists but not its held-out content."""
    if not report.held_out:
        return False
    return not Report.objects.allows(actor, report, "held_out")


def withheld_report_ids(*, actor: Actor, case: Case) -> set[int]:
    """Reports of the case whose held-out content `actor` may not see."""
    return set(
        case.reports.filter(held_out=True)
        .exclude(pk__in=Report.objects.allowed(actor, "held_out"))
        .values_list("pk", flat=True)
    )


def benchmark_aggregate(*, case: Case) -> list[dict[str, Any]]:
    """Per harm category over the case's held-out items: how many items, the reported
    successes/trials and rate, and the measured ones from finished verification runs."""
    from modelcvd.verification.models import VerificationRun

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


def timeline_visible(*, actor: Actor, case: Case) -> Any:
    """The case's timeline without the per-run verification results on held-out items that
    `actor` may not see (those entries name their run: "verification run #N ...")."""
    from modelcvd.cases.models import TimelineEvent
    from modelcvd.cases.selectors import timeline_for
    from modelcvd.verification.models import VerificationRun

    events = timeline_for(case=case)
    hidden = withheld_report_ids(actor=actor, case=case)
    if not hidden:
        return events
    run_ids = VerificationRun.objects.filter(case=case, report_id__in=hidden).values_list(
        "pk", flat=True
    )
    for run_id in run_ids:
        events = events.exclude(
            kind=TimelineEvent.Kind.VERIFICATION, reason__startswith=f"verification run #{run_id} "
        )
    return events
