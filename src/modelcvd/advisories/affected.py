"""The two seams an advisory reads from the rest of the platform: which artifacts it names as
affected, and whom it credits. Everything that renders an advisory goes through these."""

from __future__ import annotations

from django.db.models import QuerySet

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case


def affected_artifacts(case: Case) -> QuerySet[Artifact]:
    """The artifacts an advisory about `case` lists as affected: the case's own artifacts.
    (Derivatives found through lineage belong here too: this is the one place to add them.)"""
    return (
        Artifact.objects.filter(cases=case)
        .select_related("vendor")
        .order_by("provider", "name", "revision", "pk")
    )


def advisory_credits(case: Case) -> list[dict[str, str]]:
    """Who the advisory credits: each reporter of the case by their public name (a pseudonym
    when they chose one, never their identity), as finder, in order of first report."""
    seen: dict[str, dict[str, str]] = {}
    for report in case.reports.select_related("reporter").order_by("created_at", "pk"):
        name = report.reporter.public_name
        seen.setdefault(name, {"name": name, "role": "finder"})
    return list(seen.values())
