"""The seams an advisory reads from the rest of the platform: which artifacts it names as
affected, which imported records stand behind it, and whom it credits. Everything that renders
an advisory goes through these."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from modelcvd.advisories.models import Advisory, ImportedRecord
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


def imported_records(case: Case, advisory: Advisory | None = None) -> list[ImportedRecord]:
    """The imported records behind an advisory about `case`: those whose report belongs to the
    case, and those drafted into the advisory, in import order."""
    where = Q(report__case=case)
    if advisory is not None and advisory.pk is not None:
        where |= Q(advisory=advisory)
    return list(ImportedRecord.objects.filter(where).distinct().order_by("imported_at", "id"))


def advisory_credits(
    case: Case, records: list[ImportedRecord] | None = None
) -> list[dict[str, str]]:
    """Who the advisory credits, by public name (a pseudonym when they chose one, never their
    identity): the accepted, listed credits of the case (credits/selectors.py), then each
    reporter who has no credit record on the case at all, as finder, then the people the
    imported records credit, with the source's own credit type. A reporter who declined,
    opted out of the listing or has not answered yet is therefore never named, and neither is
    the account that imported a record: it found nothing, the record's credits did."""
    records = imported_records(case) if records is None else records
    seen: dict[str, dict[str, str]] = {}
    for credit in credits_public(case=case):
        seen.setdefault(
            f"{credit.name}/{credit.credit_type}", {"name": credit.name, "role": credit.credit_type}
        )
    with_record = set(Credit.objects.filter(case=case).values_list("user_id", flat=True))
    imported = {record.report_id for record in records if record.report_id}
    for report in case.reports.select_related("reporter").order_by("created_at", "pk"):
        if report.reporter_id in with_record or report.pk in imported:
            continue
        name = report.reporter.public_name
        seen.setdefault(f"{name}/finder", {"name": name, "role": "finder"})
    for record in records:
        for credit in record.data.get("credits") or []:
            seen.setdefault(
                f"{credit['name']}/{credit['role']}",
                {
                    "name": credit["name"],
                    "role": credit["role"],
                    "source": record.source_id,
                    "source_type": credit.get("source_type", ""),
                },
            )
    return list(seen.values())
