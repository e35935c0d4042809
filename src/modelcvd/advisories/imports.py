"""Imports into the platform: the pure importers' results become draft reports (payloads sealed
by the intake service, a case opened for each) or, for CVE records, aliases and references.

Lenient by design: every record is either imported or skipped with a reason, and one bad
record never stops the others. Reasons never quote the input (it holds jailbreak prompts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from modelcvd.accounts.models import User
from modelcvd.advisories.models import Advisory
from modelcvd.advisories.services import advisory_update, imported_cve_store
from modelcvd.core.errors import DomainError, InvalidInput
from modelcvd.interop.avid_import import import_avid_file
from modelcvd.interop.cve_import import CveReference, import_cve_file
from modelcvd.interop.garak import import_garak_file
from modelcvd.interop.jailbreakbench import import_jailbreakbench_file
from modelcvd.interop.results import ImportResult, require_program
from modelcvd.policy.models import Program
from modelcvd.reports.services import report_submit

REPORT_IMPORTERS = {
    "garak": import_garak_file,
    "jailbreakbench": import_jailbreakbench_file,
    "avid": import_avid_file,
}
SOURCES = (*REPORT_IMPORTERS, "cve")


@dataclass
class ImportOutcome:
    """What one import did: (where, what) for each record imported, (where, why) skipped."""

    imported: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)


def _error_text(error: DomainError) -> str:
    if isinstance(error, InvalidInput):
        return "; ".join(f"{e.field}: {e.reason}" for e in error.errors)
    return error.message


def reports_import(
    *, source: str, paths: Iterable[Path], program: str, actor: User
) -> ImportOutcome:
    """Draft reports from garak, JailbreakBench or AVID files, filed by `actor`."""
    if source not in REPORT_IMPORTERS:
        raise InvalidInput([], message=f"unknown source {source!r}; one of {list(SOURCES)}")
    require_program(program)
    if not Program.objects.filter(slug=program).exists():
        raise InvalidInput([], message=f"no program with the slug {program!r}")
    outcome = ImportOutcome()
    for path in paths:
        try:
            result = REPORT_IMPORTERS[source](path, program=program)
        except OSError as error:
            outcome.skipped.append((str(path), f"cannot read the file: {error.strerror}"))
            continue
        _submit_all(result, outcome, actor=actor)
    return outcome


def _submit_all(result: ImportResult, outcome: ImportOutcome, *, actor: User) -> None:
    outcome.skipped += result.skipped
    outcome.notes += result.notes
    for number, document in enumerate(result.reports, start=1):
        where = f"report {number}: {document.title[:80]}"
        try:
            with transaction.atomic():
                report = report_submit(actor=actor, document=document)
        except DomainError as error:
            outcome.skipped.append((where, f"refused by intake: {_error_text(error)}"))
            continue
        outcome.imported.append((where, f"report #{report.pk}, case #{report.case_id}"))
        outcome.report_ids.append(report.pk)


def _cve_data(record: CveReference) -> dict[str, Any]:
    return {
        "title": record.title,
        "description": record.description,
        "assigner": record.assigner,
        "published": record.published,
        "cwe_ids": list(record.cwe_ids),
        "cvss": [
            {"version": c.version, "vector": c.vector, "score": c.score, "source": c.source}
            for c in record.cvss
        ],
        "references": list(record.references),
        "products": [
            {"vendor": p.vendor, "product": p.product, "package_name": p.package_name}
            for p in record.products
        ],
        "prompt_injection": record.is_prompt_injection,
    }


def cves_import(*, paths: Iterable[Path], actor: User) -> ImportOutcome:
    """Keep each CVE record for aliasing; where an advisory already aliases the CVE, add the
    record's references to it (a new revision when it is published)."""
    outcome = ImportOutcome()
    for path in paths:
        try:
            result = import_cve_file(path)
        except OSError as error:
            outcome.skipped.append((str(path), f"cannot read the file: {error.strerror}"))
            continue
        outcome.skipped += result.skipped
        for record in result.records:
            imported_cve_store(actor=actor, cve_id=record.cve_id, data=_cve_data(record))
            linked = _link(record, actor=actor, outcome=outcome)
            what = f"kept for aliasing{'; linked to ' + ', '.join(linked) if linked else ''}"
            outcome.imported.append((record.cve_id, what))
    return outcome


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
            if url not in known and url.startswith(("https://", "http://"))
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
