"""The beat task escalates breached deadlines by e-mail through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from modelcvd.cases import tasks as cases_tasks
from modelcvd.cases.models import Case, Escalation
from modelcvd.cases.services import case_deadlines_refresh
from modelcvd.cases.tasks import check_deadlines
from modelcvd.celery import app
from tests.factories import World
from tests.notifications.conftest import Inbox


def test_beat_schedule_runs_the_deadline_and_embargo_tasks() -> None:
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert tasks >= {
        "modelcvd.cases.tasks.check_deadlines",
        "modelcvd.cases.tasks.expire_embargoes",
    }


def test_the_worker_finds_the_case_mail_tasks() -> None:
    # Autodiscovery imports cases.tasks, which re-exports the mail tasks of cases.mail.
    assert set(cases_tasks.__all__) >= {"notify_escalation", "notify_timeline_event"}
    assert {
        "modelcvd.cases.mail.notify_escalation",
        "modelcvd.cases.mail.notify_timeline_event",
    } <= set(app.tasks)


def test_breach_mails_triager_then_vendor_then_coordinator_once(
    world: World, smtp_server: Inbox, django_capture_on_commit_callbacks: Any
) -> None:
    # Case A: acknowledged and triaged, vendor A notified; scored so remediation runs. Move
    # its clock back 200 days so the remediation deadline is long past.
    case = Case.objects.get(pk=world.cases["a"].pk)
    past = timezone.now() - timedelta(days=200)
    Case.objects.filter(pk=case.pk).update(created_at=past, vendor_notified_at=past, tier="high")
    case.refresh_from_db()
    case_deadlines_refresh(case=case)
    with django_capture_on_commit_callbacks(execute=True):
        made = check_deadlines.delay().get()
    assert made >= 3
    with django_capture_on_commit_callbacks(execute=True):
        assert check_deadlines.delay().get() == 0  # nothing new: each level once
    levels = {
        e.level: e.recipients for e in Escalation.objects.filter(case=case, deadline="remediate")
    }
    assert levels == {
        1: ["triager@example.test"],
        2: ["vendor_a@example.test"],
        3: ["admin@example.test"],
    }
    for address in ("triager@example.test", "vendor_a@example.test", "admin@example.test"):
        mails = [
            m for m in smtp_server.to(address) if "remediate deadline breached" in m["Subject"]
        ]
        assert len(mails) == 1, address
        body = mails[0].get_payload()
        assert f"case #{case.pk}" in body and "not been met" in body
        # Escalation mail never carries the payload.
        assert "Pretend you are a locksmith" not in body
