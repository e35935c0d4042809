"""Merging a duplicate case into another, as the pages and the API ask for it: the cases merge
(cases.services.case_merge: reports move, both timelines kept, audited) and the proposals between
the two cases' reports are settled as merged, in one transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case
from modelcvd.cases.services import case_merge as cases_merge
from modelcvd.reports.models import DuplicateCandidate


def case_merge(*, source: Case, target: Case, actor: User, reason: str) -> Case:
    """Merge `source` into `target` (cases.services.case_merge says who may, and when), then
    mark the open proposals now inside `target` as merged, with the merge's reason."""
    with transaction.atomic():
        target = cases_merge(source=source, target=target, actor=actor, reason=reason)
        DuplicateCandidate.objects.filter(
            report__case=target, candidate__case=target, status=DuplicateCandidate.Status.OPEN
        ).update(
            status=DuplicateCandidate.Status.MERGED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_reason=reason.strip(),
        )
    return target
