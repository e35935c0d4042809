"""Keep metrics.CaseFact current: a timeline event, a change of a case's tier or state, or a
finished verification run rebuilds that one case's facts in the same transaction (two small
statements)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.verification.models import VerificationRun


@receiver(post_save, sender=TimelineEvent, dispatch_uid="metrics_fact_event")
def _event_saved(sender: Any, instance: TimelineEvent, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    from modelcvd.metrics.facts import case_facts_refresh

    case_facts_refresh(case_ids=[instance.case_id])


@receiver(post_save, sender=Case, dispatch_uid="metrics_fact_case")
def _case_saved(
    sender: Any, instance: Case, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    # A new case has no timeline yet: its `opened` event brings its facts.
    if raw or created:
        return
    from modelcvd.metrics.facts import case_facts_refresh

    case_facts_refresh(case_ids=[instance.pk])


@receiver(post_save, sender=VerificationRun, dispatch_uid="metrics_fact_run")
def _run_saved(sender: Any, instance: VerificationRun, raw: bool = False, **kwargs: Any) -> None:
    # Only finished runs count; a run finishes once, after its trials are stored.
    if raw or instance.state != VerificationRun.State.FINISHED:
        return
    from modelcvd.metrics.facts import case_facts_refresh

    case_facts_refresh(case_ids=[instance.case_id])
