"""Deadlines per case: derived from program and tier, paused while waiting on the reporter,
extended on a reasoned request, escalated once per breach level by the beat task with real
e-mail (tests/notifications/test_escalation_mail.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from modelcvd.cases.models import Case, CasePause, Escalation, TimelineEvent
from modelcvd.cases.services import case_deadlines_refresh, deadline_breaches_escalate
from modelcvd.core.models import AuditEvent
from modelcvd.policy.deadlines import BusinessDays, due_at
from tests.factories import World


def _put_score(api: Any, case_id: int) -> None:
    response = api.client.put(
        f"/api/v1/cases/{case_id}/score",
        data={"rubric": {"access": "hosted_api"}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert response.status_code == 200, response.content


def test_due_dates_come_from_the_program_and_the_tier(world: World, api_as: Any) -> None:
    case = Case.objects.get(pk=world.cases["a"].pk)
    assert case.acknowledge_due == due_at(case.created_at, BusinessDays(2))
    assert case.triage_due == due_at(case.created_at, BusinessDays(5))
    assert case.remediate_due is None
    _put_score(api_as("triager"), case.pk)
    case.refresh_from_db()
    days = case.program.remediation_days[case.tier]
    assert case.vendor_notified_at is not None
    assert case.remediate_due == case.vendor_notified_at + timedelta(days=days)
    # Case A has been acknowledged and triaged: both are met, and on time.
    body = api_as("vendor_a").get(f"/api/v1/cases/{case.pk}").json()
    rows = {d["deadline"]: d for d in body["deadlines"]}
    assert rows["acknowledge"]["met_at"] and not rows["acknowledge"]["breached"]
    assert rows["remediate"]["due"] is not None and rows["remediate"]["met_at"] is None


def test_time_waiting_on_the_reporter_does_not_count(world: World, api_as: Any) -> None:
    case = Case.objects.get(pk=world.cases["a"].pk)
    _put_score(api_as("triager"), case.pk)
    case.refresh_from_db()
    before = case.disclose_due
    assert before is not None and case.vendor_notified_at is not None
    start = case.vendor_notified_at + timedelta(days=1)
    CasePause.objects.create(case=case, start=start, end=start + timedelta(days=3), reason="q")
    case_deadlines_refresh(case=case)
    case.refresh_from_db()
    assert case.disclose_due == before + timedelta(days=3)


def test_waiting_flag_through_the_api_records_the_pause(world: World, api_as: Any) -> None:
    triager = api_as("triager")
    path = f"/api/v1/cases/{world.cases['a'].pk}/waiting"
    started = triager.post(path, {"waiting": True, "reason": "asked for the model revision"})
    assert started.status_code == 200
    assert started.json()["waiting_on_reporter_since"] is not None
    again = triager.post(path, {"waiting": True, "reason": "twice"})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "waiting"
    # While waiting, no deadline of the case escalates, however late it is.
    made = deadline_breaches_escalate(now=timezone.now() + timedelta(days=400))
    assert made  # case B, not waiting, escalates...
    assert all(e.case_id != world.cases["a"].pk for e in made)  # ...case A does not
    ended = triager.post(path, {"waiting": False, "reason": "the reporter answered"})
    assert ended.status_code == 200 and ended.json()["waiting_on_reporter_since"] is None
    pause = CasePause.objects.get(case=world.cases["a"])
    assert pause.end is not None and pause.end >= pause.start
    kinds = list(TimelineEvent.objects.filter(case=world.cases["a"], kind="waiting"))
    assert len(kinds) == 2


def test_extension_needs_a_reason_and_approval_moves_the_deadline(
    world: World, api_as: Any
) -> None:
    case_id = world.cases["a"].pk
    _put_score(api_as("triager"), case_id)
    vendor = api_as("vendor_a")
    missing = vendor.post(
        f"/api/v1/cases/{case_id}/extensions",
        {"deadline": "remediate", "days": 14, "reason": ""},
    )
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["reason"]
    created = vendor.post(
        f"/api/v1/cases/{case_id}/extensions",
        {"deadline": "remediate", "days": 14, "reason": "retraining takes three weeks"},
    )
    assert created.status_code == 201
    extension = created.json()["extensions"][0]
    assert extension["state"] == "pending"
    before = Case.objects.get(pk=case_id).remediate_due
    assert before is not None
    decided = api_as("triager").post(
        f"/api/v1/cases/{case_id}/extensions/{extension['id']}/decision",
        {"approve": True, "reason": "reasonable"},
    )
    assert decided.status_code == 200
    assert Case.objects.get(pk=case_id).remediate_due == before + timedelta(days=14)
    timeline = [e["reason"] for e in decided.json()["timeline"] if e["kind"] == "extension"]
    assert timeline[0].startswith("requested 14 more days for remediate")
    assert timeline[1].startswith("approved 14 more days for remediate")
    twice = api_as("triager").post(
        f"/api/v1/cases/{case_id}/extensions/{extension['id']}/decision",
        {"approve": False, "reason": "changed my mind"},
    )
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "approve"
    assert AuditEvent.objects.filter(action="extension.decide").count() == 1


def test_each_breach_level_escalates_exactly_once(world: World, settings: Any) -> None:
    settings.ESCALATION_STEP_HOURS = 48
    case = Case.objects.get(pk=world.cases["b"].pk)  # still "received": acknowledge open
    due = case.acknowledge_due
    assert due is not None

    def levels() -> list[int]:
        return sorted(
            Escalation.objects.filter(case=case, deadline="acknowledge").values_list(
                "level", flat=True
            )
        )

    assert deadline_breaches_escalate(now=due - timedelta(minutes=1)) == []
    deadline_breaches_escalate(now=due + timedelta(minutes=1))
    deadline_breaches_escalate(now=due + timedelta(minutes=2))
    assert levels() == [1]
    deadline_breaches_escalate(now=due + timedelta(hours=49))
    assert levels() == [1, 2]
    deadline_breaches_escalate(now=due + timedelta(hours=97))
    deadline_breaches_escalate(now=due + timedelta(hours=200))
    assert levels() == [1, 2, 3]
    first = Escalation.objects.get(case=case, deadline="acknowledge", level=1)
    assert first.recipients == ["triager@example.test"]
    # Vendor B has not been told of case B: the vendor level has nobody to write to.
    assert Escalation.objects.get(case=case, deadline="acknowledge", level=2).recipients == []
    assert Escalation.objects.get(case=case, deadline="acknowledge", level=3).recipients == [
        "admin@example.test"
    ]
    events = TimelineEvent.objects.filter(case=case, kind="escalation")
    assert events.count() >= 3
    assert AuditEvent.objects.filter(action="deadline.escalate", object_id=str(case.pk)).exists()
