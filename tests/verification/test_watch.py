"""Issue 19, items 3-4, end to end through the (eager) Celery tasks with a real
OpenAI-compatible server process: a program that reproduces before triage replays each
report on its targets when the payload arrives, the triage queue orders by the measured rate
(Clopper-Pearson, recomputed here with scipy.stats.beta), coordinators see the reporter's
track record; and a vendor's fixed version on which the case reproduces again reopens the
case (regression watch) and turns that version "affected" in the advisory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from scipy import stats

from modelcvd.advisories.affected import listed_versions
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.cases.services import FixedVersion, case_score, case_transition
from modelcvd.core.models import AuditEvent
from modelcvd.policy.services import program_policy_update
from modelcvd.reports.models import Report
from modelcvd.reports.services import report_submit
from modelcvd.verification.models import Target, VerificationRun
from modelcvd.verification.selectors import measured_reproducibility
from modelcvd.verification.services import matrix_request, target_offer, target_register
from modelcvd.verification.services.watch import measurement
from modelcvd.vocabulary import CaseState, VersionStatus
from tests.factories import World, document, report_data, sign_in
from tests.verification.endpoint_process import endpoint_serving

SECRET = "sk-vendor-b-watch-5e4d3c2b1a-SEALED"
TRIALS = 8


@pytest.fixture
def endpoint_process(tmp_path: Path) -> Iterator[int]:
    """The server process on loopback; yields its port."""
    with endpoint_serving(tmp_path, SECRET) as port:
        yield port


def _cp(k: int, n: int) -> tuple[float, float]:
    low = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    high = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    return float(low), float(high)


def _endpoint_target(
    world: World, artifact: Artifact, port: int, name: str, vendor: str = "vendor_b"
) -> Target:
    target = target_register(
        actor=world.users[vendor],
        organisation=vendor.replace("_", "-"),
        name=name,
        kind="endpoint",
        artifact_id=artifact.pk,
        url=f"http://127.0.0.1:{port}/v1",
        model_name=f"{artifact.name}@{artifact.revision}" if artifact.revision else artifact.name,
        api_key=SECRET,
    )
    target_offer(actor=world.users[vendor], target_id=target.pk, program=world.program.slug)
    return target


def _submit(world: World, who: str, title: str, prompt: str, artifacts: Any) -> Report:
    return report_submit(
        actor=world.users[who],
        document=document(
            title=title,
            artifacts=artifacts,
            reproduction={
                "turns": [{"role": "user", "content": prompt}],
                "sampling": {"temperature": 1.0, "top_p": 1.0, "max_tokens": 8, "seed": 1},
                "successes": 3,
                "trials": 10,
            },
        ),
    )


@pytest.fixture
def reproducing_program(
    world: World,
    settings: Any,
    endpoint_process: int,
) -> tuple[World, int]:
    settings.EGRESS_ALLOW = [f"127.0.0.1:{endpoint_process}"]
    program_policy_update(
        actor=world.users["triager"],
        slug=world.program.slug,
        changes={"auto_verify": True, "auto_verify_trials": TRIALS, "reproduction_threshold": 0.5},
    )
    # Vendor B's hosted model, in the program's scope, with a target its vendor offers.
    hosted = Artifact.objects.create(
        provider="vendor-b",
        name="remote-chat",
        vendor=world.orgs["vendor_b"],
        access=Artifact.Access.API,
    )
    world.program.scope.add(hosted)
    world.artifacts["hosted"] = hosted
    _endpoint_target(world, hosted, endpoint_process, "B's chat")
    return world, endpoint_process


B = [{"provider": "vendor-b", "name": "remote-chat"}]
A = [{"provider": "vendor-a", "name": "chat-7b", "revision": "a" * 40}]


@pytest.mark.slow
def test_reports_are_reproduced_on_intake_and_the_queue_orders_by_the_measured_rate(
    reproducing_program: tuple[World, int], django_capture_on_commit_callbacks: Any
) -> None:
    world, _ = reproducing_program
    with django_capture_on_commit_callbacks(execute=True):
        refused = _submit(world, "researcher_b", "Refused", "REFUSE this request", B)
        unmeasured = _submit(world, "researcher_a", "No target", "Pretend...", A)
        reproduced = _submit(world, "researcher_a", "Role play", "Pretend you are...", B)
    # One intake run per report with an in-scope artifact that has a target; none on A's.
    runs = VerificationRun.objects.filter(purpose=VerificationRun.Purpose.INTAKE)
    assert sorted(runs.values_list("report_id", flat=True)) == sorted([refused.pk, reproduced.pk])
    assert all(r.state == VerificationRun.State.FINISHED and r.trials == TRIALS for r in runs)
    good = Case.objects.get(pk=reproduced.case_id)
    bad = Case.objects.get(pk=refused.case_id)
    assert (good.measured_successes, good.measured_trials, good.reproduced) == (
        TRIALS,
        TRIALS,
        True,
    )
    assert (good.measured_low, good.measured_high) == pytest.approx(_cp(TRIALS, TRIALS))
    assert (bad.measured_successes, bad.reproduced) == (0, False)
    assert (bad.measured_low, bad.measured_high) == pytest.approx(_cp(0, TRIALS))
    assert Case.objects.get(pk=unmeasured.case_id).reproduced is None
    assert AuditEvent.objects.filter(action="case.measure").count() == 2

    # The queue: reproduced first, then unmeasured, then measured and not reproduced.
    triager = Client(enforce_csrf_checks=True)
    sign_in(triager, world.users["triager"])
    page = triager.get("/triage/").content.decode()
    order = [page.index(f">#{case_id}<") for case_id in (good.pk, unmeasured.case_id, bad.pk)]
    assert order == sorted(order)
    low, high = _cp(TRIALS, TRIALS)
    assert f"{TRIALS}/{TRIALS} [{low:.2f}, {high:.2f}] reproduced" in page
    assert "not measured" in page and f"0/{TRIALS} [0.00," in page

    # Coordinators see the reporter's track record; the reporter does not.
    detail = triager.get(f"/cases/{good.pk}/").content.decode()
    assert 'id="track-records"' in detail
    sent = Report.objects.filter(reporter=world.users["researcher_a"]).count()
    assert f"<td>researcher_a</td><td>{sent}</td><td>1</td><td>{round(100 / sent)}%</td>" in detail
    assert "the lower bound meets" in detail
    reporter = Client(enforce_csrf_checks=True)
    sign_in(reporter, world.users["researcher_a"])
    assert 'id="track-records"' not in reporter.get(f"/cases/{good.pk}/").content.decode()
    # The credential never shows.
    assert SECRET not in page + detail

    # Beside the rubric: transfer and universality from the latest transfer matrix (none yet,
    # then one on the program's target); the JEF score is said not to be computed.
    assert "no transfer matrix yet" in detail and "0DIN JEF score: not computed" in detail
    with django_capture_on_commit_callbacks(execute=True):
        matrix_request(
            case_id=good.pk,
            actor=world.users["triager"],
            target_ids=[Target.objects.get(name="B's chat").pk],
            trials=4,
        )
    detail = triager.get(f"/cases/{good.pk}/").content.decode()
    assert "transfer <strong>1/1</strong> targets reproduced" in detail
    assert "universality <strong>1/1</strong> harm categories reproduced" in detail

    # The rubric's reproducibility input (the latest run's lower bound) is judged against the
    # program's threshold in the severity explanation.
    scored = case_score(
        case_id=good.pk,
        actor=world.users["triager"],
        rubric={"access": "hosted_api"},
        measured=measured_reproducibility(case_id=good.pk),
    )
    text = scored.severity_explanation
    lower = float(re.search(r"reproducibility = ([0-9.]+)", text).group(1))  # type: ignore[union-attr]
    # (The latest run is the matrix's 4/4: an exact lower bound of 0.40, below 50%.)
    verdict = "meets" if lower >= 0.5 else "is below"
    assert f"{verdict} the program's reproduction threshold of 50%" in text


@pytest.mark.slow
def test_a_fixed_version_that_reproduces_again_reopens_the_case(
    reproducing_program: tuple[World, int], django_capture_on_commit_callbacks: Any
) -> None:
    world, port = reproducing_program
    with django_capture_on_commit_callbacks(execute=True):
        report = _submit(world, "researcher_a", "Role play", "Pretend you are...", B)
    case = Case.objects.get(pk=report.case_id)
    assert case.reproduced is True
    triager, vendor = world.users["triager"], world.users["vendor_b"]
    for to in ("acknowledged", "triaged_valid", "vendor_notified", "remediating"):
        case_transition(case_id=case.pk, actor=triager, to=to, reason="watch test")
    # The vendor's next version exists, with a target on it (the same server: still complies).
    old = world.artifacts["hosted"]
    new = Artifact.objects.create(
        provider=old.provider,
        name=old.name,
        revision="v2",
        vendor=old.vendor,
        access=old.access,
    )
    world.program.scope.add(new)
    _endpoint_target(world, new, port, "B's chat, next version")
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(
            case_id=case.pk,
            actor=vendor,
            to="fix_available",
            reason="fixed in the next version",
            fixed_version=FixedVersion(revision="v2"),
        )
    rerun = VerificationRun.objects.get(purpose=VerificationRun.Purpose.REGRESSION)
    assert (rerun.case_id, rerun.artifact_id, rerun.state) == (
        case.pk,
        new.pk,
        VerificationRun.State.FINISHED,
    )
    assert rerun.summary["successes"] == TRIALS
    case.refresh_from_db()
    assert case.state == CaseState.REMEDIATING
    event = TimelineEvent.objects.get(case=case, kind=TimelineEvent.Kind.REGRESSION)
    assert (event.from_state, event.to_state) == ("fix_available", "remediating")
    low, high = _cp(TRIALS, TRIALS)
    assert f"{TRIALS}/{TRIALS}, 95% Clopper-Pearson [{low:.2f}, {high:.2f}]" in event.reason
    assert "meets the program's threshold of 50%" in event.reason
    assert AuditEvent.objects.filter(action="case.regression", object_id=str(case.pk)).exists()
    # The advisory's per-version status: the "fixed" version is affected, with its run.
    statuses = {v.artifact.pk: v for v in listed_versions(case)}
    assert statuses[new.pk].status == VersionStatus.AFFECTED
    assert statuses[new.pk].run_id == rerun.pk
    assert f"{TRIALS}/{TRIALS}" in statuses[new.pk].reason


@pytest.mark.slow
def test_no_rerun_without_a_target_for_the_new_version(
    reproducing_program: tuple[World, int], django_capture_on_commit_callbacks: Any
) -> None:
    world, _ = reproducing_program
    with django_capture_on_commit_callbacks(execute=True):
        report = _submit(world, "researcher_a", "Role play", "Pretend you are...", B)
    triager = world.users["triager"]
    for to in ("acknowledged", "triaged_valid", "vendor_notified", "remediating"):
        case_transition(case_id=report.case_id, actor=triager, to=to, reason="watch test")
    with django_capture_on_commit_callbacks(execute=True):
        case_transition(
            case_id=report.case_id,
            actor=world.users["vendor_b"],
            to="fix_available",
            reason="fixed",
            fixed_version=FixedVersion(revision="v3"),
        )
    assert not VerificationRun.objects.filter(purpose=VerificationRun.Purpose.REGRESSION).exists()
    assert Case.objects.get(pk=report.case_id).state == CaseState.FIX_AVAILABLE
    assert AuditEvent.objects.filter(action="verification.regression_watch").exists()


@pytest.mark.slow
def test_an_abstract_first_report_is_reproduced_once_its_payload_arrives_after_scope(
    reproducing_program: tuple[World, int],
    api_as: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    world, port = reproducing_program
    world.program.abstract_first = True
    world.program.save(update_fields=["abstract_first"])
    _endpoint_target(world, world.artifacts["a"], port, "A's chat", vendor="vendor_a")
    researcher, triager = api_as("researcher_a"), api_as("triager")
    data = report_data()
    with django_capture_on_commit_callbacks(execute=True):
        created = researcher.post(
            "/api/v1/reports/abstract", {k: v for k, v in data.items() if k != "reproduction"}
        )
        report_id = created.json()["id"]
        scoped = triager.post(
            f"/api/v1/reports/{report_id}/scope", {"in_scope": True, "reason": "in scope"}
        )
        assert scoped.status_code == 200
    assert not VerificationRun.objects.filter(report_id=report_id).exists()  # no payload yet
    with django_capture_on_commit_callbacks(execute=True) as queued:
        uploaded = researcher.post(
            f"/api/v1/reports/{report_id}/payload", {"reproduction": data["reproduction"]}
        )
        assert uploaded.status_code == 200
        # Nothing ran inside the request: the intake task is queued on commit.
        assert not VerificationRun.objects.filter(report_id=report_id).exists()
    assert queued  # the intake task (and the duplicate index) went out on commit
    run = VerificationRun.objects.get(report_id=report_id)
    assert (run.purpose, run.state, run.target.name) == (
        VerificationRun.Purpose.INTAKE,
        VerificationRun.State.FINISHED,
        "A's chat",
    )
    case = Case.objects.get(pk=run.case_id)
    assert (case.measured_successes, case.measured_trials, case.reproduced) == (
        TRIALS,
        TRIALS,
        True,
    )


@pytest.mark.parametrize(
    ("successes", "trials", "says"),
    [
        (6, 6, "its lower bound meets the program's threshold of 50%"),
        (5, 6, "is below the program's threshold of 50%: the attack works, at a rate not yet"),
        (0, 6, "its lower bound is below the program's threshold of 50%"),
    ],
)
def test_a_measurement_says_which_claim_is_which(successes: int, trials: int, says: str) -> None:
    """ "Reproduced" (it works) and the threshold (how often) read as a contradiction when the
    text said "reproduced ...; does not meet the threshold" (the browser walk)."""
    text = measurement(successes, trials, 0.5).text()
    assert says in text
    assert ("the attack works" in text) == (successes > 0 and "below" in text)
