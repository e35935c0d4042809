"""Imports into the platform. Each record a pure importer reads (garak, JailbreakBench, AVID,
CVE) becomes a draft report (payload sealed by intake, a case opened), its faithful copy is
kept (`ImportedRecord`, keyed by source and source id), and, when the importing account
coordinates the program, a draft advisory whose aliases, references, summary and CVSS 4.0
vector come from the record (credits, dates, vectors of every version, products and versions
reach the advisory through the kept copy: see services._sources and affected.advisory_credits).

Idempotent: importing a record again refreshes its copy and, where the source changed, updates
the advisory it created (a field the source did not change keeps the coordinators' edits); it
never files a second report or opens a second case. A CVE imported without a program is kept
for aliasing only, and its references are added to the advisories that already alias it.

Lenient by design: every record is either imported or skipped with a reason, and one bad
record never stops the others. Reasons never quote the input (it holds jailbreak prompts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from modelcvd.accounts.models import User
from modelcvd.advisories.models import Advisory, ImportedRecord
from modelcvd.advisories.schemas import alias_kind
from modelcvd.advisories.services import (
    advisory_create,
    advisory_update,
    content_from_case,
    imported_record_attach,
    imported_record_store,
)
from modelcvd.cases.models import Case
from modelcvd.core.errors import DomainError, InvalidInput
from modelcvd.interop.advisory import Reference
from modelcvd.interop.avid_import import import_avid_file
from modelcvd.interop.cve_import import CveImportResult, CveReference, import_cve_file
from modelcvd.interop.garak import import_garak_file
from modelcvd.interop.jailbreakbench import import_jailbreakbench_file
from modelcvd.interop.results import ImportResult, require_program
from modelcvd.interop.source import SourceRecord
from modelcvd.policy.models import Program
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_submit
from modelcvd.scoring.cvss4 import InvalidVector, cvss4_score

IMPORTERS: dict[str, Callable[[Path, str], ImportResult]] = {
    "garak": lambda path, program: import_garak_file(path, program=program),
    "jailbreakbench": lambda path, program: import_jailbreakbench_file(path, program=program),
    "avid": lambda path, program: import_avid_file(path, program=program),
    "cve": lambda path, program: import_cve_file(path, program=program),
}
SOURCES = tuple(IMPORTERS)
REPORT_IMPORTERS = {name: IMPORTERS[name] for name in ("garak", "jailbreakbench", "avid")}

# A reference's kind from the CVE record's tags (first match) or AVID's reference type.
KIND_BY_TAG = {
    "patch": "fix",
    "vendor-advisory": "advisory",
    "third-party-advisory": "advisory",
    "government-resource": "advisory",
    "exploit": "evidence",
    "technical-description": "article",
    "issue-tracking": "report",
    "model": "model",
}
# Fields an advisory takes from its record; on a re-import only those the source changed are
# replaced (lists merged), so the coordinators' edits to the rest stand.
IMPORTED_FIELDS = ("summary", "aliases", "references", "cvss_vector")


@dataclass
class ImportOutcome:
    """What one import did: (where, what) for each record imported, (where, why) skipped."""

    imported: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    advisory_ids: list[str] = field(default_factory=list)


def _error_text(error: DomainError) -> str:
    if isinstance(error, InvalidInput):
        return "; ".join(f"{e.field}: {e.reason}" for e in error.errors) or error.message
    return error.message


def _is_alias(value: str) -> bool:
    try:
        alias_kind(value)
    except ValueError:
        return False
    return True


def _is_reference(url: str) -> bool:
    try:
        Reference(url=url)
    except ValidationError:
        return False
    return len(url) <= 2_000


def _cvss4(record: SourceRecord) -> str | None:
    for cvss in record.cvss:
        if cvss.version != "4.0":
            continue
        try:
            return cvss4_score(cvss.vector).vector
        except InvalidVector:
            continue
    return None


def imported_content(record: SourceRecord) -> dict[str, Any]:
    """What an advisory takes from an imported record: its description as the summary (when it
    has one), its ids as aliases, its web references, and its CVSS 4.0 vector (the advisory's
    own score is v4; vectors of other versions stay in the record, as given)."""
    references: list[dict[str, str]] = []
    for ref in record.references:
        if not _is_reference(ref.url) or any(r["url"] == ref.url for r in references):
            continue
        kinds = [KIND_BY_TAG[t] for t in (*ref.tags, ref.type) if t in KIND_BY_TAG]
        references.append(
            {"url": ref.url, "kind": kinds[0] if kinds else "web", "label": ref.label[:500]}
        )
    return {
        "summary": record.description[:5_000] or None,
        "aliases": [alias for alias in record.aliases if _is_alias(alias)][:20],
        "references": references[:50],
        "cvss_vector": _cvss4(record),
    }


def _merged(current: list[Any], before: list[Any], after: list[Any]) -> list[Any]:
    """The current list with what the source dropped taken out and what it added put in."""
    kept = [item for item in current if item in after or item not in before]
    return kept + [item for item in after if item not in kept]


def _changes(
    current: dict[str, Any], previous: SourceRecord, record: SourceRecord
) -> dict[str, Any]:
    before, after = imported_content(previous), imported_content(record)
    changes: dict[str, Any] = {}
    for key in IMPORTED_FIELDS:
        if before[key] == after[key]:
            continue
        if isinstance(after[key], list):
            changes[key] = _merged(current.get(key) or [], before[key], after[key])
        elif after[key] is not None:
            changes[key] = after[key]
    if "references" in changes:
        changes["references"] = changes["references"][:50]
    if "aliases" in changes:
        changes["aliases"] = changes["aliases"][:20]
    return changes


def records_import(
    *, source: str, paths: Iterable[Path], actor: User, program: str = ""
) -> ImportOutcome:
    """Import the records in `paths`, filed by `actor` under `program` (optional for CVE
    records only: without one they are kept for aliasing)."""
    if source not in IMPORTERS:
        raise InvalidInput([], message=f"unknown source {source!r}; one of {list(SOURCES)}")
    if program or source != "cve":
        try:
            require_program(program)
        except ValueError as error:
            raise InvalidInput([], message=str(error)) from None
        if not Program.objects.filter(slug=program).exists():
            raise InvalidInput([], message=f"no program with the slug {program!r}")
    outcome = ImportOutcome()
    for path in paths:
        try:
            result = IMPORTERS[source](path, program)
        except OSError as error:
            outcome.skipped.append((str(path), f"cannot read the file: {error.strerror}"))
            continue
        outcome.skipped += result.skipped
        outcome.notes += result.notes
        for document, record in zip(result.reports, result.sources, strict=True):
            _import_one(document, record, actor=actor, outcome=outcome)
        if isinstance(result, CveImportResult) and not program:
            for kept in result.records:
                _keep_cve(kept, actor=actor, outcome=outcome)
    return outcome


def reports_import(
    *, source: str, paths: Iterable[Path], program: str, actor: User
) -> ImportOutcome:
    """Draft reports (and advisories) from garak, JailbreakBench or AVID files."""
    if source not in REPORT_IMPORTERS:
        raise InvalidInput([], message=f"unknown source {source!r}; one of {list(SOURCES)}")
    return records_import(source=source, paths=paths, actor=actor, program=program)


def cves_import(*, paths: Iterable[Path], actor: User, program: str = "") -> ImportOutcome:
    """CVE records: kept for aliasing, and with a program drafted as reports and advisories."""
    return records_import(source="cve", paths=paths, actor=actor, program=program)


def _import_one(
    document: ReportDocument, record: SourceRecord, *, actor: User, outcome: ImportOutcome
) -> None:
    where = f"{record.source} {record.source_id}"
    existing = (
        ImportedRecord.objects.filter(source=record.source, source_id=record.source_id)
        .select_related("report")
        .first()
    )
    try:
        with transaction.atomic():
            report = existing.report if existing is not None else None
            filed = report is None
            if report is None:
                report = report_submit(actor=actor, document=document)
            row, previous = imported_record_store(
                actor=actor, record=record, report=report if filed else None
            )
    except DomainError as error:
        outcome.skipped.append((where, f"refused by intake: {_error_text(error)}"))
        return
    what = f"report #{report.pk}, case #{report.case_id}" if filed else "already imported"
    if not filed and previous is not None and previous.digest() == record.digest():
        what += ", unchanged"
    advisory = _advisory_for(row, report, previous, record, actor=actor, outcome=outcome)
    if advisory is not None:
        what += f"; advisory {advisory}"
        outcome.advisory_ids.append(advisory)
    outcome.imported.append((where, what))
    outcome.report_ids.append(report.pk)


def _advisory_for(
    row: ImportedRecord,
    report: Report,
    previous: SourceRecord | None,
    record: SourceRecord,
    *,
    actor: User,
    outcome: ImportOutcome,
) -> str | None:
    """The advisory of an imported record: drafted on the first import (by a coordinator of
    the case), updated where a re-import finds the source changed. Failures are notes: the
    record and its report stay imported, and the next import tries again."""
    where = f"{record.source} {record.source_id}"
    if row.advisory_id is None:
        if not Case.objects.allowed(actor, "coordinate").filter(pk=report.case_id).exists():
            outcome.notes.append(
                (where, "no advisory drafted: the importing account does not coordinate the case")
            )
            return None
        drafted = {k: v for k, v in imported_content(record).items() if v}
        try:
            with transaction.atomic():
                advisory = advisory_create(
                    actor=actor,
                    case_id=report.case_id,
                    content={**content_from_case(report.case), **drafted},
                )
                imported_record_attach(actor=actor, row=row, advisory=advisory)
        except DomainError as error:
            outcome.notes.append((where, f"no advisory drafted: {_error_text(error)}"))
            return None
        return advisory.advisory_id
    advisory = Advisory.objects.get(pk=row.advisory_id)
    if previous is None or previous.digest() == record.digest():
        return advisory.advisory_id
    try:
        with transaction.atomic():
            advisory_update(
                actor=actor,
                advisory_id=advisory.advisory_id,
                changes=_changes(advisory.content, previous, record),
                changelog=f"Re-imported {record.source_id}: the source record changed.",
                sources_changed=True,
            )
    except DomainError as error:
        outcome.notes.append(
            (where, f"advisory {advisory.advisory_id} not updated: {_error_text(error)}")
        )
    return advisory.advisory_id


def _keep_cve(kept: CveReference, *, actor: User, outcome: ImportOutcome) -> None:
    imported_record_store(actor=actor, record=kept.source)
    linked = _link(kept, actor=actor, outcome=outcome)
    what = f"kept for aliasing{'; linked to ' + ', '.join(linked) if linked else ''}"
    outcome.imported.append((kept.cve_id, what))


def _link(record: CveReference, *, actor: User, outcome: ImportOutcome) -> list[str]:
    linked = []
    candidates = Advisory.objects.filter(search_text__contains=record.cve_id).exclude(
        state=Advisory.State.WITHDRAWN
    )
    for advisory in candidates:
        if record.cve_id not in advisory.content.get("aliases", []):
            continue
        known = {ref["url"] for ref in advisory.content.get("references", [])}
        new = [
            {"url": url, "kind": "advisory", "label": record.cve_id}
            for url in record.references
            if url not in known and _is_reference(url)
        ]
        if not new:
            continue
        references = [*advisory.content["references"], *new][:50]
        try:
            advisory_update(
                actor=actor,
                advisory_id=advisory.advisory_id,
                changes={"references": references},
                changelog=f"References from the {record.cve_id} record.",
            )
        except DomainError as error:
            outcome.skipped.append(
                (f"{record.cve_id} -> {advisory.advisory_id}", _error_text(error))
            )
            continue
        linked.append(advisory.advisory_id)
    return linked
