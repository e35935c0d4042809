"""The public metrics dashboard: aggregates only (see docs/metrics.md), charts drawn as SVG."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from modelcvd.metrics.charts import bar_chart
from modelcvd.metrics.selectors import (
    DEADLINES,
    TIERS,
    Metrics,
    ProgramMetrics,
    metrics_compute,
)
from modelcvd.policy.selectors import program_list
from modelcvd.web.errors import domain_errors_as_pages


def _charts(m: Metrics, pm: ProgramMetrics) -> dict[str, str]:
    days = {t.metric: t for t in pm.times}
    rates = {(r.tier, r.deadline): r.rate for r in pm.compliance}
    tiers = [t for t in TIERS if any((t, d) in rates for d in DEADLINES)]
    exploit_rows = [p for p in (*m.programs, m.overall) if p.exploit.cases]
    charts = {
        "monthly": bar_chart(
            title="Reports received per month",
            labels=[month[2:] for month, _ in pm.monthly],
            series=[("reports", [float(c) for _, c in pm.monthly])],
            unit="reports",
        ),
        "times": bar_chart(
            title="Time from receipt (days): median and 90th percentile",
            labels=list(days),
            series=[
                (
                    "median",
                    [
                        t.median_hours / 24 if t.median_hours is not None else None
                        for t in days.values()
                    ],
                ),
                (
                    "90th percentile",
                    [t.p90_hours / 24 if t.p90_hours is not None else None for t in days.values()],
                ),
            ],
            unit="days",
        ),
        "compliance": bar_chart(
            title="Deadlines met, per severity tier (%)",
            labels=tiers,
            series=[
                (
                    deadline,
                    [
                        (rates[(t, deadline)] or 0.0) * 100
                        if rates.get((t, deadline)) is not None
                        else None
                        for t in tiers
                    ],
                )
                for deadline in DEADLINES
            ],
            unit="% met",
            max_value=100.0,
        ),
        "ages": bar_chart(
            title="Open cases by age",
            labels=list(pm.open_by_age),
            series=[("open cases", [float(v) for v in pm.open_by_age.values()])],
            unit="cases",
        ),
        "exploit": bar_chart(
            title="Attack success rate before and after fixes (%)",
            labels=[p.name for p in exploit_rows],
            series=[
                ("before fix", [(p.exploit.before_rate or 0.0) * 100 for p in exploit_rows]),
                ("after fix", [(p.exploit.after_rate or 0.0) * 100 for p in exploit_rows]),
            ],
            unit="% success",
            max_value=100.0,
        ),
    }
    # Built from numbers and escaped text only (metrics.charts): safe to insert as markup.
    return {k: mark_safe(v) for k, v in charts.items()}  # noqa: S308


@domain_errors_as_pages
def dashboard(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("program") or None
    m = metrics_compute(program_slug=slug)
    pm = m.overall
    context: dict[str, Any] = {
        "m": m,
        "pm": pm,
        "slug": slug,
        "programs": program_list(),
        "charts": _charts(m, pm),
        "tiers": TIERS,
        "deadlines": DEADLINES,
    }
    return render(request, "metrics/dashboard.html", context)
