"""The two seams an advisory reads from the rest of the platform: which artifacts it names as
affected, and whom it credits. Everything that renders an advisory goes through these."""

from __future__ import annotations

from django.db.models import QuerySet

from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case
from modelcvd.credits.models import Credit
from modelcvd.credits.selectors import credits_public
from modelcvd.verification.selectors import derivative_statuses


def affected_artifacts(case: Case) -> QuerySet[Artifact]:
    """The artifacts an advisory about `case` lists as affected: the case's own artifacts and
    every derivative that lineage says inherits the flaw (fine-tunes, quantizations, abliterated
    copies...), unless a verification run on it, or on the fixed version it derives from, showed
    otherwise (verification/selectors.py::derivative_statuses)."""
    own = list(Artifact.objects.filter(cases=case).values_list("pk", flat=True))
    inherited = [
        d.artifact_id
        for d in derivative_statuses(affected=own, case_id=case.pk)
        if d.status == "affected"
    ]
    return (
        Artifact.objects.filter(pk__in=own + inherited)
        .select_related("vendor")
        .order_by("provider", "name", "revision", "pk")
    )


def advisory_credits(case: Case) -> list[dict[str, str]]:
    """Who the advisory credits, by public name (a pseudonym when they chose one, never their
    identity): the accepted, listed credits of the case (credits/selectors.py), then each
    reporter who has no credit record on the case at all, as finder. A reporter who declined,
    opted out of the listing or has not answered yet is therefore never named."""
    seen: dict[str, dict[str, str]] = {}
    for credit in credits_public(case=case):
        seen.setdefault(
            f"{credit.name}/{credit.credit_type}", {"name": credit.name, "role": credit.credit_type}
        )
    with_record = set(Credit.objects.filter(case=case).values_list("user_id", flat=True))
    for report in case.reports.select_related("reporter").order_by("created_at", "pk"):
        if report.reporter_id in with_record:
            continue
        name = report.reporter.public_name
        seen.setdefault(f"{name}/finder", {"name": name, "role": "finder"})
    return list(seen.values())
