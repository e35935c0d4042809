"""Writes of duplicate detection: index a report and propose duplicates; dismiss a proposal.

`dedup_index_report` runs in a Celery task when a report arrives (reports.tasks). It reads the
sealed payloads through `core.services.sealed_open` with a system reason, so every plaintext
read it makes is on the audit chain, like a person's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import DomainError, FieldError, InvalidInput
from modelcvd.core.services import sealed_open
from modelcvd.reports.dedup import EDIT_FLOOR, edit_ratio, fingerprint
from modelcvd.reports.dedup_index import current_hasher, index_lookup, index_store
from modelcvd.reports.dedup_selectors import duplicate_get_for_staff
from modelcvd.reports.models import DuplicateCandidate, PayloadSignature, Report

# At most this many payload candidates are unsealed and compared per arriving report: the
# best by Jaccard estimate. Bounds the work (and the unseal events) a flood of copies causes.
MAX_CONFIRM = 10
MAX_ARTIFACT_MATCHES = 20


class DuplicateConflict(DomainError):
    """The proposal or merge makes no sense in the current state (answered 409)."""

    status = 409


def payload_text(payload: dict[str, Any]) -> str:
    """The text a payload's fingerprint is made of: the system prompt and every turn."""
    parts = [str(payload.get("system_prompt") or "")]
    parts += [str(t.get("content") or "") for t in payload.get("turns") or []]
    return "\n".join(parts)


def _payload_of(report: Report, reason: str) -> str:
    if report.payload is None:  # abstract-first intake: indexed once the payload arrives
        return ""
    raw = sealed_open(blob=report.payload, actor=None, reason=reason, subject=report)
    return payload_text(json.loads(raw))


@dataclass(frozen=True)
class IndexOutcome:
    report_id: int
    indexed: bool
    proposed: list[DuplicateCandidate]


def _propose(
    *, report: Report, other_id: int, kind: str, score: float, **scores: float | None
) -> DuplicateCandidate | None:
    # One proposal per pair and kind, whichever report arrived first.
    pair = Q(report=report, candidate_id=other_id) | Q(report_id=other_id, candidate=report)
    if DuplicateCandidate.objects.filter(pair, kind=kind).exists():
        return None
    # `report` is the later of the two (a re-index can find a report that arrived after).
    newer, older = (report.pk, other_id) if report.pk > other_id else (other_id, report.pk)
    return DuplicateCandidate.objects.create(
        report_id=newer, candidate_id=older, kind=kind, score=round(score, 4), **scores
    )


def dedup_index_report(*, report_id: int) -> IndexOutcome:
    """Fingerprint one report's payload into the index (only its rows change) and propose the
    near-duplicate payloads and the same-artifact-and-technique reports found for it."""
    report = (
        Report.objects.select_related("payload", "program", "case")
        .prefetch_related("artifacts")
        .get(pk=report_id)
    )
    text = _payload_of(report, f"duplicate detection: fingerprint report #{report.pk}")
    hasher, key_id = current_hasher()
    found = fingerprint(text, hasher=hasher)
    organisation_id = report.program.organisation_id
    proposed: list[DuplicateCandidate] = []
    with transaction.atomic():
        index_store(report_id=report.pk, fingerprint=found, key_id=key_id)
        if found is not None:
            same_case = set(report.case.reports.values_list("pk", flat=True))
            matches = index_lookup(
                fingerprint=found,
                key_id=key_id,
                organisation_id=organisation_id,
                exclude_report_ids=sorted(same_case | {report.pk}),
            )
            others = Report.objects.select_related("payload").in_bulk(
                [m.report_id for m in matches[:MAX_CONFIRM]]
            )
            for match in matches[:MAX_CONFIRM]:
                other = others[match.report_id]
                other_text = _payload_of(
                    other, f"duplicate detection: compare report #{report.pk} with #{other.pk}"
                )
                ratio = edit_ratio(text, other_text)
                if ratio < EDIT_FLOOR:
                    continue
                made = _propose(
                    report=report,
                    other_id=other.pk,
                    kind=DuplicateCandidate.Kind.PAYLOAD,
                    score=(match.jaccard + ratio) / 2,
                    jaccard=round(match.jaccard, 4),
                    edit_ratio=round(ratio, 4),
                )
                if made:
                    proposed.append(made)
        proposed += _propose_artifact_technique(report=report, organisation_id=organisation_id)
        audit_record(
            actor=None,
            action="report.dedup",
            obj=report,
            data={
                "indexed": found is not None,
                "proposed": [[p.kind, p.candidate_id] for p in proposed],
            },
        )
    return IndexOutcome(report_id=report.pk, indexed=found is not None, proposed=proposed)


def _propose_artifact_technique(
    *, report: Report, organisation_id: int
) -> list[DuplicateCandidate]:
    """Other cases in the same organisation's programs with a report on a shared artifact with
    the same ATLAS technique and OWASP category: one proposal per case, naming its first such
    report. On a busy artifact the oldest cases (where the original report usually is) and
    the newest (the ones still moving) are proposed, MAX_ARTIFACT_MATCHES in all."""
    mine = {a.pk for a in report.artifacts.all()}
    if not mine:
        return []
    per_case = (
        Report.objects.filter(
            program__organisation_id=organisation_id,
            atlas=report.atlas,
            owasp=report.owasp,
            artifacts__in=mine,
        )
        .exclude(case_id=report.case_id)
        .values("case_id")
        .annotate(first=Min("id"))
    )
    half = MAX_ARTIFACT_MATCHES // 2
    oldest = list(per_case.order_by("first").values_list("first", flat=True)[:half])
    newest = list(per_case.order_by("-first").values_list("first", flat=True)[:half])
    others = Report.objects.filter(pk__in={*oldest, *newest}).prefetch_related("artifacts")
    proposed = []
    for other in sorted(others, key=lambda r: r.pk):
        theirs = {a.pk for a in other.artifacts.all()}
        overlap = len(mine & theirs) / len(mine | theirs)
        made = _propose(
            report=report,
            other_id=other.pk,
            kind=DuplicateCandidate.Kind.ARTIFACT_TECHNIQUE,
            score=overlap,
        )
        if made:
            proposed.append(made)
    return proposed


def dedup_reindex_stale(*, batch: int = 500) -> int:
    """Re-fingerprint reports with no signature under the current key (after SECRET_KEY
    changed, or reports that arrived while the worker was down). Returns how many were done."""
    _, key_id = current_hasher()
    stale = (
        Report.objects.exclude(
            pk__in=PayloadSignature.objects.filter(key_id=key_id).values("report_id")
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    done = 0
    for report_id in list(stale):
        dedup_index_report(report_id=report_id)
        done += 1
    return done


def duplicate_dismiss(
    *, case_id: int, duplicate_id: int, actor: User, reason: str
) -> DuplicateCandidate:
    """The triager says the proposal is not a duplicate. 404 unless they coordinate the case."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "say why this is not a duplicate")])
    with transaction.atomic():
        found = duplicate_get_for_staff(actor=actor, case_id=case_id, duplicate_id=duplicate_id)
        proposal = DuplicateCandidate.objects.select_for_update().get(pk=found.pk)
        if proposal.status != DuplicateCandidate.Status.OPEN:
            raise DuplicateConflict(f"this proposal is already {proposal.status}")
        proposal.status = DuplicateCandidate.Status.DISMISSED
        proposal.decided_by = actor
        proposal.decided_at = timezone.now()
        proposal.decision_reason = reason
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit_record(
            actor=actor,
            action="duplicate.dismiss",
            obj=proposal,
            reason=reason,
            data={"report": proposal.report_id, "candidate": proposal.candidate_id},
        )
    return proposal


def dedup_seed_demo() -> int:
    """For `modelcvd demo`: index the demo reports not yet indexed, proposing duplicates."""
    return dedup_reindex_stale()
