"""The seams an advisory reads from the rest of the platform: which artifact versions it lists
and with which status, which imported records stand behind it, and whom it credits. Everything
that renders an advisory goes through these."""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet

from modelcvd.advisories.models import Advisory, ImportedRecord
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, CaseFix
from modelcvd.credits.models import Credit
from modelcvd.credits.selectors import credits_public
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import case_run_verdicts, derivative_statuses
from modelcvd.verification.services.watch import run_measurement
from modelcvd.vocabulary import RunVerdict, VersionStatus, VexJustification


@dataclass(frozen=True)
class ListedVersion:
    """One artifact version an advisory lists, with its status and where the status comes
    from: `fixed_by` is the version that fixes an affected one, `run_id` the verification run
    that decided it, `justification` the VEX justification of a version not affected."""

    artifact: Artifact
    status: VersionStatus
    reason: str
    fixed_by: Artifact | None = None
    run_id: int | None = None
    justification: VexJustification | None = None


LINEAGE_STATUS: dict[str, VersionStatus] = {
    "affected": VersionStatus.AFFECTED,
    "fixed": VersionStatus.FIXED,
    "not_affected": VersionStatus.NOT_AFFECTED,
    "under_investigation": VersionStatus.UNDER_INVESTIGATION,
}


def _measured(run_id: int | None) -> str:
    """The run's measurement against its program's threshold (k/n, exact interval, whether
    the lower bound meets the threshold), for the advisory's per-version reason."""
    if run_id is None:
        return ""
    run = VerificationRun.objects.select_related("case", "report").filter(pk=run_id).first()
    if run is None or run.report.held_out:
        return ""  # a held-out item's result is given as aggregates only (verification.holdout)
    found = run_measurement(run)
    return f" ({found.text()})" if found is not None else ""


def listed_versions(case: Case) -> list[ListedVersion]:
    """Every artifact version an advisory about `case` lists, each with its status, from three
    sources, the first that speaks deciding:

    1. the case's own artifacts (what was reported): affected; but when the case's latest
       decided verification run on one did not reproduce the attack, under investigation
       (the report and the replay disagree, and neither is dropped);
    2. the vendor's fix step (cases.models.CaseFix): the version it names is fixed, and the
       version it fixes records it (`fixed_by`); unless a run on the fix reproduced the
       attack, which makes it affected (the fix failed);
    3. lineage (verification/selectors.py::derivative_statuses, which states its rules):
       derivatives inherit the flaw until a run shows otherwise; a superseding version not
       yet verified is under investigation, never affected.
    Ordered by provider, name and revision."""
    own = list(Artifact.objects.filter(cases=case).select_related("vendor").order_by("pk"))
    fixes = {
        fix.artifact_id: fix.fixed_by
        for fix in CaseFix.objects.filter(case=case).select_related("fixed_by__vendor")
    }
    listed: dict[int, ListedVersion] = {}
    ids = [a.pk for a in own] + [a.pk for a in fixes.values()]
    verdicts = case_run_verdicts(case.pk, ids)
    for artifact in own:
        verdict, run_id = verdicts.get(artifact.pk, ("", None))
        if verdict == RunVerdict.NOT_REPRODUCED:
            status = VersionStatus.UNDER_INVESTIGATION
            reason = f"reported; verification run #{run_id} did not reproduce the attack"
        elif verdict == RunVerdict.REPRODUCED:
            status = VersionStatus.AFFECTED
            reason = f"verification run #{run_id} reproduced the attack" + _measured(run_id)
        else:
            status, reason = VersionStatus.AFFECTED, "reported"
        listed[artifact.pk] = ListedVersion(
            artifact, status, reason, fixed_by=fixes.get(artifact.pk), run_id=run_id
        )
    for fixed in fixes.values():
        if fixed.pk in listed:
            continue  # named as the fix of one artifact, reported against another
        verdict, run_id = verdicts.get(fixed.pk, ("", None))
        if verdict == RunVerdict.REPRODUCED:
            listed[fixed.pk] = ListedVersion(
                fixed,
                VersionStatus.AFFECTED,
                f"named as the fix; verification run #{run_id} reproduced the attack on it"
                + _measured(run_id),
                run_id=run_id,
            )
        else:
            checked = f"; verification run #{run_id} did not reproduce" if run_id else ""
            listed[fixed.pk] = ListedVersion(
                fixed, VersionStatus.FIXED, f"the fixing version{checked}", run_id=run_id
            )
    derived = derivative_statuses(affected=[a.pk for a in own], case_id=case.pk)
    rows = Artifact.objects.select_related("vendor").in_bulk([d.artifact_id for d in derived])
    for d in derived:
        if d.artifact_id in listed:
            continue
        status = LINEAGE_STATUS[d.status]
        listed[d.artifact_id] = ListedVersion(
            rows[d.artifact_id],
            status,
            f"lineage: {d.reason}",
            run_id=d.run_id,
            justification=VexJustification.VULNERABLE_CODE_NOT_PRESENT
            if status == VersionStatus.NOT_AFFECTED
            else None,
        )
    # A fix only counts as the fix while it stays fixed (a failed fix is affected itself).
    for pk, entry in listed.items():
        fix = entry.fixed_by
        if fix is not None and listed[fix.pk].status != VersionStatus.FIXED:
            listed[pk] = replace(entry, fixed_by=None)
    return sorted(
        listed.values(),
        key=lambda v: (v.artifact.provider, v.artifact.name, v.artifact.revision, v.artifact.pk),
    )


def affected_artifacts(case: Case) -> QuerySet[Artifact]:
    """Every artifact an advisory about `case` lists (whatever its status; see
    `listed_versions`), for the advisory's artifact index."""
    return (
        Artifact.objects.filter(pk__in=[v.artifact.pk for v in listed_versions(case)])
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
