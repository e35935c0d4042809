"""Watching a run in the browser (issue 17): the run page shows progress with the time left at
the measured pace, reloads itself while the run is queued or running, and lets the case's
coordinators cancel it; the case page links each run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from modelcvd.reports.services import report_submit
from modelcvd.verification.models import VerificationRun
from modelcvd.verification.selectors import run_progress
from modelcvd.verification.services import run_execute
from tests.factories import REPORT, World, document, sign_in

pytestmark = pytest.mark.django_db


def test_time_left_comes_from_the_measured_pace(world: World) -> None:
    run = world.run
    assert run is not None
    now = timezone.now()
    run.state, run.trials, run.started_at = (
        VerificationRun.State.RUNNING,
        40,
        now - timedelta(seconds=60),
    )
    run.done, run.successes = 10, 3  # type: ignore[attr-defined]  # runs_for_case's counts
    progress = run_progress(run, now=now)
    assert progress.seconds_left == pytest.approx(180.0)
    assert progress.time_left == "about 3 min left"
    run.state = VerificationRun.State.FINISHED
    assert run_progress(run, now=now).time_left == ""


def test_run_page_reloads_while_live_and_coordinators_cancel(world: World) -> None:
    run = world.run
    assert run is not None
    path = f"/verifications/{run.pk}/"
    triager = sign_in(Client(), world.users["triager"])
    page = triager.get(path).content.decode()
    assert 'http-equiv="refresh"' in page and "Cancel this run" in page
    assert f'href="{path}"' in triager.get(f"/cases/{run.case_id}/").content.decode()
    vendor = sign_in(Client(), world.users["vendor_a"]).get(path).content.decode()
    assert "Cancel this run" not in vendor
    assert sign_in(Client(), world.users["researcher_b"]).get(path).status_code == 404
    assert triager.post(f"{path}cancel/").status_code == 302
    run.refresh_from_db()
    assert run.state == VerificationRun.State.CANCELLED
    page = triager.get(path).content.decode()
    assert 'http-equiv="refresh"' not in page and "Cancel this run" not in page


def test_a_blocked_run_says_identity_mismatch_with_what_was_found(world: World) -> None:
    run = world.run
    assert run is not None
    run.state = VerificationRun.State.FINISHED
    run.summary = {
        "verdict": "blocked",
        "identity_mismatches": ["revision: pinned aaaa, answered bbbb"],
    }
    run.save()
    page = sign_in(Client(), world.users["triager"]).get(f"/verifications/{run.pk}/")
    text = page.content.decode()
    assert "Identity mismatch - not counted" in text and "pinned aaaa, answered bbbb" in text


def test_the_page_reloads_sooner_when_the_run_is_young_or_nearly_done(world: World) -> None:
    """3 s until the first trial gives a pace (a small run is over within seconds), then the
    time left, between 3 and 10 s."""
    run = world.run
    assert run is not None and run.state == VerificationRun.State.QUEUED
    page = sign_in(Client(), world.users["triager"]).get(f"/verifications/{run.pk}/")
    assert '<meta http-equiv="refresh" content="3">' in page.content.decode()
    now = timezone.now()
    run.state, run.trials, run.started_at = VerificationRun.State.RUNNING, 40, now
    for elapsed, done, reload in ((60, 10, 10), (30, 36, 4), (30, 39, 3)):
        run.started_at = now - timedelta(seconds=elapsed)
        run.done = done  # type: ignore[attr-defined]  # runs_for_case's counts
        assert run_progress(run, now=now).reload_seconds == reload


def test_a_report_that_cannot_be_replayed_says_why(world: World) -> None:
    """A conversation with no user turn has nothing for the model to answer: the run fails
    saying so (it said "internal error (SpecError)"; the browser walk found it)."""
    reproduction = {
        **REPORT["reproduction"],
        # Only the model's answer, quoted: nothing for the replay to send.
        "turns": [{"role": "assistant", "content": "Sure, here is how..."}],
    }
    report = report_submit(
        actor=world.users["researcher_a"], document=document(reproduction=reproduction)
    )
    run = VerificationRun.objects.create(
        case_id=report.case_id,
        report=report,
        artifact=world.artifacts["a"],
        requested_by=world.users["triager"],
        target_uri="openai:http://127.0.0.1:9/v1#chat-7b",
        trials=2,
    )
    run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == VerificationRun.State.FAILED
    assert run.error == "the report cannot be replayed: the report has no user turn to replay"
    page = sign_in(Client(), world.users["triager"]).get(f"/verifications/{run.pk}/")
    assert "the report has no user turn to replay" in page.content.decode()
