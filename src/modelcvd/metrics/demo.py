"""Demo history for the metrics dashboard: a year of fictional cases in the demo program, with
backdated timelines, tiers, and verification runs before and after fixes.

The cases are real reports (submitted through the service, so their pages work); their
timelines are then backdated, as if they had been handled over the past months. Deterministic
(a fixed seed) and idempotent (skipped once the history exists).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from modelcvd.accounts.models import Role, User
from modelcvd.accounts.services import membership_grant, user_create
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, CaseVendor, TimelineEvent
from modelcvd.core.sealing import create_sealed_many
from modelcvd.metrics.services import case_facts_refresh
from modelcvd.policy.models import Program
from modelcvd.reports.document import ReportDocument
from modelcvd.reports.services import report_submit
from modelcvd.verification.models import VerificationRun, VerificationTrial

PREFIX = "[demo history]"
CASES = 30
TECHNIQUES = [
    "Role-play framing bypasses the refusal",
    "Base64-encoded request slips past the filter",
    "Many-shot prompt overrides the system prompt",
    "Fake tool result injects instructions",
    "Translation round-trip defeats the refusal",
]


def _document(program: Program, artifact: Artifact, title: str) -> ReportDocument:
    return ReportDocument.model_validate(
        {
            "title": title,
            "abstract": f"{title} (fictional demo history).",
            "program": program.slug,
            "artifacts": [
                {
                    "provider": artifact.provider,
                    "name": artifact.name,
                    "revision": artifact.revision,
                }
            ],
            "technique": {"owasp": "LLM01", "atlas": "AML.T0054"},
            "harm_category": "nonviolent_crimes",
            "reproduction": {
                "system_prompt": "You are a helpful assistant.",
                "turns": [{"role": "user", "content": "[demo payload]"}],
                "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 128, "seed": 1},
                "successes": 6,
                "trials": 10,
            },
            "expected_behaviour": "Refusal.",
            "observed_behaviour": "Compliance.",
            "impact": "Demo.",
        }
    )


def _life(rng: random.Random, received: datetime) -> tuple[list[tuple[str, datetime]], str]:
    t = received
    steps: list[tuple[str, datetime]] = []
    t += timedelta(hours=rng.uniform(2, 80))
    steps.append(("acknowledged", t))
    t += timedelta(hours=rng.uniform(4, 150))
    outcome = rng.choices(["triaged_valid", "triaged_invalid", "triaged_duplicate"], [65, 20, 15])[
        0
    ]
    steps.append((outcome, t))
    tier = rng.choice(["low", "medium", "high", "critical"])
    if outcome != "triaged_valid":
        steps.append(("closed", t + timedelta(days=1)))
        return steps, ""
    t += timedelta(hours=rng.uniform(2, 48))
    steps.append(("vendor_notified", t))
    t += timedelta(days=rng.uniform(1, 5))
    steps.append(("remediating", t))
    if rng.random() < 0.2:
        return steps, tier
    t += timedelta(days=rng.uniform(5, 75))
    steps.append(("fix_available", t))
    t += timedelta(days=rng.uniform(1, 5))
    steps.append(("fix_verified", t))
    t += timedelta(days=rng.uniform(3, 30))
    steps.append(("disclosed", t))
    return steps, tier


def _run(case: Case, artifact: Artifact, actor: User, successes: int, trials: int) -> None:
    report = case.reports.first()
    assert report is not None
    run = VerificationRun.objects.create(
        case=case,
        report=report,
        artifact=artifact,
        requested_by=actor,
        target_uri="openai:http://127.0.0.1:9/v1#demo",
        trials=trials,
        state=VerificationRun.State.FINISHED,
        finished_at=timezone.now(),
    )
    create_sealed_many(
        VerificationTrial,
        rows=[
            (
                {
                    "run": run,
                    "index": index,
                    "seed": index,
                    "success": index < successes,
                    "label": "complied" if index < successes else "refused",
                    "target_name": str(artifact),
                },
                json.dumps({"demo": index}).encode(),
            )
            for index in range(trials)
        ],
        field="sealed",
        purpose="verification.trial",
    )


# The history's reporters: one pseudonymous, one under their username.
HISTORY_REPORTERS = (("carol", "kestrel"), ("dave", ""))


def _reporters(password: str) -> list[User]:
    users = []
    for username, pseudonym in HISTORY_REPORTERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=password,
                pseudonym=pseudonym,
                email=f"{username}@demo.invalid",
            )
            membership_grant(user=user, role=Role.RESEARCHER, organisation=None, actor=None)
        users.append(user)
    return users


def seed_demo(
    *,
    program: Program,
    triager: User,
    affected: Artifact,
    fixed: Artifact,
    password: str,
) -> list[Case]:
    """The history (once); returns its cases, oldest first."""
    existing = list(Case.objects.filter(title__startswith=PREFIX).order_by("id"))
    if existing:
        return existing
    reporters = _reporters(password)
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    now = timezone.now()
    cases: list[Case] = []
    with transaction.atomic():
        for i in range(CASES):
            received = now - timedelta(days=rng.uniform(3, 330))
            title = f"{PREFIX} {TECHNIQUES[i % len(TECHNIQUES)]} #{i + 1}"
            report = report_submit(
                actor=reporters[i % len(reporters)],
                document=_document(program, affected, title),
            )
            case = Case.objects.get(pk=report.case_id)
            steps, tier = _life(rng, received)
            steps = [(s, at) for s, at in steps if at < now]
            TimelineEvent.objects.filter(case=case).update(at=received)
            events = []
            previous = "received"
            for state, at in steps:
                events.append(
                    TimelineEvent(
                        case=case,
                        at=at,
                        actor=triager,
                        kind=TimelineEvent.Kind.TRANSITION,
                        from_state=previous,
                        to_state=state,
                        reason=f"demo history: {state.replace('_', ' ')}",
                    )
                )
                previous = state
            # In bulk, past the services: the facts are refreshed once, below.
            TimelineEvent.objects.bulk_create(events)
            notified = next((at for s, at in steps if s == "vendor_notified"), None)
            Case.objects.filter(pk=case.pk).update(
                state=previous, tier=tier, created_at=received, vendor_notified_at=notified
            )
            if notified is not None:  # the vendors told then are the case's parties
                CaseVendor.objects.bulk_create(
                    CaseVendor(case=case, organisation_id=vendor_id, notified_at=notified)
                    for vendor_id in case.artifacts.exclude(vendor=None).values_list(
                        "vendor_id", flat=True
                    )
                )
            cases.append(case)
        fixed_cases = [c for c in cases if c.timeline.filter(to_state="fix_available").exists()][:6]
        for case in fixed_cases:
            before = rng.randint(11, 18)
            _run(case, affected, triager, before, 20)
            _run(case, fixed, triager, rng.randint(0, 3), 20)
        case_facts_refresh(case_ids=[c.pk for c in cases])
    return cases
