"""What an importer returns: the draft reports it could build, each with the faithful copy of
the record it came from (interop/source.py), and what it skipped and why.

Importers never raise on bad input records: every record either becomes a report or a skip
with its location and a reason a triager can act on. `notes` records lossy mappings (a default
applied where the source lacked a field) so nothing is silently invented.

Reasons never quote the input: the sources hold jailbreak prompts and model outputs, and
skips end up in logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from modelcvd.interop.source import SourceRecord
from modelcvd.reports.document import ReportDocument

PROGRAM_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")  # ReportDocument.program's rule


def require_program(program: str) -> str:
    """Refuse a bad program slug up front: it is the caller's error, not the data's, and
    would otherwise turn every record into the same skip."""
    if not PROGRAM_SLUG.match(program):
        raise ValueError(f"{program!r} is not a program slug (lowercase letters, digits, '-')")
    return program


@dataclass
class ImportResult:
    """Draft reports built from one source, plus (where, reason) for everything skipped.
    `sources[i]` is the record `reports[i]` was built from."""

    reports: list[ReportDocument] = field(default_factory=list)
    sources: list[SourceRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))

    def note(self, where: str, note: str) -> None:
        self.notes.append((where, note))

    def extend(self, other: ImportResult) -> None:
        self.reports += other.reports
        self.sources += other.sources
        self.skipped += other.skipped
        self.notes += other.notes

    def add_report(
        self, where: str, fields: dict[str, Any], source: dict[str, Any]
    ) -> ReportDocument | None:
        """Validate `fields` as a ReportDocument and `source` as its SourceRecord; on failure
        record a skip instead."""
        try:
            report = ReportDocument.model_validate(fields)
            record = SourceRecord.model_validate(source)
        except ValidationError as error:
            self.skip(where, f"not a valid report: {validation_summary(error)}")
            return None
        self.reports.append(report)
        self.sources.append(record)
        return report


def validation_summary(error: ValidationError) -> str:
    """Field paths and messages only: pydantic's str() would echo the (sensitive) input."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    return "; ".join(problems)


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis, for fields with a maximum length."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
