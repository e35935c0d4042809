"""Benchmark integrity: payloads marked as held-out benchmark items never reach a vendor.

A program with `benchmark_holdout` marks each report's payload as a held-out item (e.g. a
jailbreak that is also a test item of a public benchmark). The reporter and the coordinators
see everything; the vendor gets per-harm-category aggregates only (success rate per category,
verification/holdout.py) and never an item: not the payload, not the attachments, not the
behaviour texts that quote it, not the per-run verification results on it. Every route consults
`report_withheld` or `withheld_report_ids` before serving a report's content.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from modelcvd.cases.models import Case
from modelcvd.reports.models import Report

WITHHELD = "[withheld: held-out benchmark item]"

Actor = AbstractBaseUser | AnonymousUser


def report_withheld(*, actor: Actor, report: Report) -> bool:
    """True when `actor` may see the report exists but not its held-out content."""
    if not report.held_out:
        return False
    return not Report.objects.allows(actor, report, "held_out")


def withheld_report_ids(*, actor: Actor, case: Case) -> set[int]:
    """Reports of the case whose held-out content `actor` may not see."""
    return set(
        Report.objects.filter(case=case, held_out=True)
        .exclude(pk__in=Report.objects.allowed(actor, "held_out"))
        .values_list("pk", flat=True)
    )
