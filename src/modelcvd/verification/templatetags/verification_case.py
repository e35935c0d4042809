"""The verification parts of the case page, rendered by the app that owns runs, so the case page
needs no import of this app (verification builds on cases and reports, not the other way): the
runs with their progress, the version matrix, transfer matrices and re-verification, the held-out aggregates, and
the timeline without the per-run results on held-out items the viewer may not see."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import QuerySet

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.selectors import CaseAccess
from modelcvd.reports.holdout import withheld_report_ids
from modelcvd.verification.forms import MatrixForm
from modelcvd.verification.holdout import benchmark_aggregate, timeline_visible
from modelcvd.verification.matrix import matrices_for_case
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import (
    fix_verdicts,
    run_progress,
    runs_for_case,
    targets_for_case,
    version_matrix,
)
from modelcvd.verification.views import reverify_context
from modelcvd.vocabulary import RunVerdict
from modelcvd.web.helpers import request_user

register = template.Library()


@register.inclusion_tag("verification/_case_section.html", takes_context=True)
def case_verification_section(
    context: template.Context, case: Case, access: CaseAccess
) -> dict[str, Any]:
    user = request_user(context["request"])
    withheld = withheld_report_ids(actor=user, case=case)
    shown = runs_for_case(case=case).exclude(report_id__in=withheld)
    runs = [
        (run, run_progress(run))
        for run in shown.filter(pk__in=VerificationRun.objects.allowed(user, "view"))
    ]
    return {
        "case": case,
        "access": access,
        "runs": runs,
        # Runs on targets the reader may not see (verification.access): counted, so an empty
        # table does not read as "never verified" (the walk's vendor saw "no runs yet").
        "runs_elsewhere": shown.count() - len(runs),
        "versions": version_matrix(case=case, actor=user),
        "fixes": fix_verdicts(case=case, actor=user),
        "fix_thresholds": case.program,
        "reverify": reverify_context(case=case, access=access),
        "matrices": matrices_for_case(actor=user, case=case)
        if (access.staff or access.vendor)
        else [],
        "matrix_form": MatrixForm(
            targets=[
                (t.pk, f"{t.name} ({t.organisation.name}) on {t.artifact}")
                for t in targets_for_case(actor=user, case=case)
            ]
        )
        if access.staff
        else None,
    }


@register.simple_tag(takes_context=True)
def case_timeline_visible(context: template.Context, case: Case) -> QuerySet[TimelineEvent]:
    return timeline_visible(actor=request_user(context["request"]), case=case)


@register.simple_tag
def case_benchmark(case: Case) -> list[dict[str, Any]]:
    return benchmark_aggregate(case=case)


@register.filter
def run_verdict(value: str) -> str:
    """A run verdict in words ("blocked" is "identity mismatch - not counted")."""
    return str(RunVerdict(value).label) if value in RunVerdict.values else value
