"""Merging a duplicate case into another: one transaction, both timelines kept, audited.

The source's reports move to the target; the source becomes `triaged_duplicate` and points at
the target (`merged_into`). Nothing is deleted: the source keeps its timeline and comments, and
the target's timeline shows the source's events beside its own (cases.selectors.timeline_for).

A merge never widens who sees anything: the source's artifacts join the target, but their
vendors are not told of the target by it (a researcher can provoke merge proposals, and would
otherwise hand a case to any vendor they name). The target keeps exactly its own vendor parties;
a coordinator tells a new vendor through cases.services.vendors.case_vendor_notify.
The duplicate proposals the merge settles are the reports app's: reports.services.case_merge
merges and settles them in one transaction, and is the one the pages and the API call.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import User
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.services.vendors import vendors_untold
from modelcvd.cases.workflow import TRIAGE_QUEUE_STATES, CaseState
from modelcvd.core.audit import audit_record
from modelcvd.core.errors import DomainError, FieldError, Forbidden, InvalidInput
from modelcvd.core.projections import case_projections_refresh

# A target that is itself settled (rejected, a duplicate, closed) cannot take more reports.
CLOSED_TARGET_STATES = frozenset(
    {
        CaseState.INVALID,
        CaseState.DUPLICATE,
        CaseState.OUT_OF_SCOPE,
        CaseState.CLOSED,
    }
)


class MergeConflict(DomainError):
    """The merge makes no sense in the cases' current states (answered 409)."""

    status = 409


def _check(source: Case, target: Case) -> None:
    if source.pk == target.pk:
        raise MergeConflict("a case cannot be merged into itself")
    if source.merged_into_id is not None:
        raise MergeConflict(f"case #{source.pk} was already merged into #{source.merged_into_id}")
    if CaseState(source.state) not in TRIAGE_QUEUE_STATES:
        raise MergeConflict(
            f"case #{source.pk} is {source.state}: only a case still in triage "
            "(received, acknowledged) can be merged away"
        )
    if CaseState(target.state) in CLOSED_TARGET_STATES:
        raise MergeConflict(f"case #{target.pk} is {target.state} and takes no more reports")
    if source.program_id != target.program_id:
        raise MergeConflict("the two cases belong to different programs")


def case_merge(*, source: Case, target: Case, actor: User, reason: str) -> Case:
    """Move `source`'s reports into `target`; `source` becomes a duplicate pointing at it.

    Forbidden unless the actor coordinates both cases; 409 (MergeConflict) for a merge into
    itself, from a case past triage, into a settled case, or across programs."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput([FieldError("reason", "a reason is required to merge")])
    if len(reason) > 5000:
        raise InvalidInput([FieldError("reason", "at most 5000 characters")])
    with transaction.atomic():
        # Lock both rows, lowest id first, so two merges of the same pair cannot deadlock.
        locked = {
            c.pk: c
            for c in Case.objects.select_for_update()
            .select_related("program")
            .filter(pk__in=sorted({source.pk, target.pk}))
            .order_by("pk")
        }
        source, target = locked[source.pk], locked[target.pk]
        if Case.objects.restrict(actor, "coordinate").filter(pk__in=list(locked)).count() != len(
            locked
        ):
            raise Forbidden("only the coordinators of both cases may merge them")
        _check(source, target)
        moved = list(source.reports.values_list("pk", flat=True))
        source.reports.update(case=target)
        target.artifacts.add(*source.artifacts.all())
        now = timezone.now()
        from_state = source.state
        source.state = CaseState.DUPLICATE.value
        source.merged_into = target
        source.save(update_fields=["state", "merged_into", "updated_at"])
        target.save(update_fields=["updated_at"])
        TimelineEvent.objects.create(
            case=source,
            at=now,
            actor=actor,
            kind=TimelineEvent.Kind.MERGE,
            from_state=from_state,
            to_state=CaseState.DUPLICATE.value,
            reason=f"merged into case #{target.pk}: {reason}",
        )
        TimelineEvent.objects.create(
            case=target,
            at=now,
            actor=actor,
            kind=TimelineEvent.Kind.MERGE,
            from_state=target.state,
            to_state=target.state,
            reason=f"case #{source.pk} merged in ({len(moved)} report(s)): {reason}",
        )
        # For the coordinators only (the audit chain, not the shared timeline): which vendors
        # the merged artifacts name that the target has not told.
        untold = sorted(vendors_untold(target))
        data = {"source": source.pk, "target": target.pk, "reports": moved, "untold": untold}
        audit_record(actor=actor, action="case.merge", obj=target, reason=reason, data=data)
        audit_record(actor=actor, action="case.merged_away", obj=source, reason=reason, data=data)
        case_projections_refresh(case_ids=[source.pk, target.pk])
    return target
