"""What verification measured, written onto the case (verification sits above cases and calls
these): the measured rate of reproduction that orders the triage queue, and the regression
watch reopening a case whose fix no longer holds. Both are the system's own acts (no user),
audited and on the timeline."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.workflow import is_allowed
from modelcvd.core.audit import audit_record
from modelcvd.core.projections import case_projections_refresh
from modelcvd.vocabulary import CaseState


def case_measurement_record(
    *,
    case_id: int,
    run_id: int,
    successes: int,
    trials: int,
    low: float,
    high: float,
    reproduced: bool,
) -> bool:
    """Keep the best measurement of the case's reproduction (the highest Clopper-Pearson lower
    bound; a first measurement always). True when it replaced the one on record."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        if case.measured_low is not None and case.measured_low >= low:
            return False
        case.measured_successes, case.measured_trials = successes, trials
        case.measured_low, case.measured_high = low, high
        case.measured_run_id, case.reproduced = run_id, reproduced
        case.save(
            update_fields=[
                "measured_successes",
                "measured_trials",
                "measured_low",
                "measured_high",
                "measured_run_id",
                "reproduced",
                "updated_at",
            ]
        )
        audit_record(
            actor=None,
            action="case.measure",
            obj=case,
            data={
                "run": run_id,
                "successes": successes,
                "trials": trials,
                "reproduced": reproduced,
            },
        )
    return True


# Where a regression sends a case back to: the vendor remediates again.
REOPENABLE = frozenset({CaseState.FIX_AVAILABLE, CaseState.FIX_VERIFIED})


def case_regression_reopen(*, case_id: int, run_id: int, measurement: str) -> Case:
    """A version meant to be fixed reproduces the case again (the regression watch): back to
    remediating when the workflow allows it from the case's state; otherwise (disclosed,
    closed) the regression is recorded on the timeline for the coordinators to act on."""
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case_id)
        current = CaseState(case.state)
        now = timezone.now()
        reopened = current in REOPENABLE and is_allowed(current, CaseState.REMEDIATING)
        reason = f"regression: verification run #{run_id} reproduced the case again ({measurement})"
        if reopened:
            case.state = CaseState.REMEDIATING
            case.save(update_fields=["state", "updated_at"])
        TimelineEvent.objects.create(
            case=case,
            at=now,
            actor=None,
            kind=TimelineEvent.Kind.REGRESSION,
            from_state=current.value if reopened else "",
            to_state=CaseState.REMEDIATING.value if reopened else "",
            reason=reason if reopened else reason + f"; the case stays {current.label}",
        )
        audit_record(
            actor=None,
            action="case.regression",
            obj=case,
            reason=reason,
            data={"run": run_id, "from": current.value, "reopened": reopened},
        )
        case_projections_refresh(case_ids=[case.pk])
    return case
