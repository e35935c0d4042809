"""A fixed dataset for the metrics: six cases with fixed timestamps in two programs, and
verification runs before and after fixes. tests/metrics/test_metrics.py checks the metrics
against values computed by hand from this description (see the comments there).

alpha (program "alpha"):
  c1 high      opened Mon 2026-03-02 09:00, ack +4h, valid +24h, notified Wed 03-04 09:00,
               remediating, fix available 03-14 09:00, disclosed 03-20 09:00
  c2 critical  opened Fri 2026-03-06 17:00, ack Tue 03-10 18:00, valid Wed 03-11 17:00,
               notified Thu 03-12 17:00 (still open)
  c3 unscored  opened Sat 2026-03-07 10:00, ack Mon 03-09 10:00, duplicate Mon 03-09 12:00, closed
  c4 low       opened Mon 2026-03-02 10:00, ack 11:00, invalid 12:00
beta (program "beta"):
  c5 high      opened Mon 2026-01-05 09:00, ack 10:00, valid 11:00, notified 12:00 (still open)
  c6 unscored  opened Mon 2026-03-30 12:00 (still received)
as_of = Tue 2026-03-31 12:00 UTC.

Runs (finished; trials stored): c1 on its affected artifact 7/10, on the fixed version 1/10;
c2 on the affected artifact only 8/10 (no fix run: left out); c5 affected 10/20, fixed 0/20.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from modelcvd.accounts.models import Organisation, User
from modelcvd.artifacts.models import Artifact
from modelcvd.cases.models import Case, TimelineEvent
from modelcvd.core.sealing import create_sealed
from modelcvd.metrics.services import case_facts_refresh
from modelcvd.policy.models import Program
from modelcvd.reports.models import Report
from modelcvd.verification.models import VerificationRun, VerificationTrial
from tests.factories import make_user

AS_OF = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Dataset:
    alpha: Program
    beta: Program
    cases: dict[str, Case]
    reporter: User


def _case(program: Program, tier: str, artifact: Artifact, steps: list[tuple[str, datetime]]):
    opened_at = steps[0][1]
    case = Case.objects.create(program=program, title="fixed", tier=tier, state=steps[-1][0])
    Case.objects.filter(pk=case.pk).update(created_at=opened_at)
    case.artifacts.add(artifact)
    TimelineEvent.objects.create(case=case, at=opened_at, kind="opened", to_state="received")
    previous = "received"
    for state, when in steps[1:]:
        TimelineEvent.objects.create(
            case=case,
            at=when,
            kind="transition",
            from_state=previous,
            to_state=state,
            reason="fixture",
        )
        previous = state
    return case


def _run(case: Case, reporter: User, artifact: Artifact, successes: int, trials: int) -> None:
    report = Report.objects.filter(case=case).first()
    if report is None:
        report = create_sealed(
            Report,
            values={
                "reporter": reporter,
                "program": case.program,
                "case": case,
                "format_version": "1.0",
                "title": "fixed",
                "abstract": "fixed",
                "owasp": "LLM01",
                "atlas": "AML.T0054",
                "harm_category": "privacy",
                "successes": 1,
                "trials": 1,
            },
            field="payload",
            plaintext=b"{}",
            purpose="report.payload",
        )
    run = VerificationRun.objects.create(
        case=case,
        report=report,
        artifact=artifact,
        requested_by=reporter,
        target_uri="openai:http://127.0.0.1:9/v1#m",
        trials=trials,
        state=VerificationRun.State.RUNNING,
    )
    for index in range(trials):
        create_sealed(
            VerificationTrial,
            values={
                "run": run,
                "index": index,
                "seed": index,
                "success": index < successes,
                "label": "complied" if index < successes else "refused",
                "target_name": "m",
            },
            field="sealed",
            plaintext=json.dumps({"i": index}).encode(),
            purpose="verification.trial",
        )
    # As the worker does: the run finishes once its trials are stored.
    run.state = VerificationRun.State.FINISHED
    run.save(update_fields=["state"])


def build_dataset() -> Dataset:
    org = Organisation.objects.create(name="Metrics Org", slug="metrics-org", kind="coordinator")
    vendor = Organisation.objects.create(name="Metrics Vendor", slug="m-vendor", kind="vendor")
    alpha = Program.objects.create(organisation=org, name="Alpha", slug="alpha")
    beta = Program.objects.create(organisation=org, name="Beta", slug="beta")
    v1 = Artifact.objects.create(provider="m", name="m", revision="1", vendor=vendor)
    v2 = Artifact.objects.create(provider="m", name="m", revision="2", vendor=vendor)
    reporter = make_user("metrics_reporter", "researcher")
    c = {
        "c1": _case(
            alpha,
            "high",
            v1,
            [
                ("received", at(3, 2, 9)),
                ("acknowledged", at(3, 2, 13)),
                ("triaged_valid", at(3, 3, 9)),
                ("vendor_notified", at(3, 4, 9)),
                ("remediating", at(3, 5, 9)),
                ("fix_available", at(3, 14, 9)),
                ("fix_verified", at(3, 15, 9)),
                ("disclosed", at(3, 20, 9)),
            ],
        ),
        "c2": _case(
            alpha,
            "critical",
            v1,
            [
                ("received", at(3, 6, 17)),
                ("acknowledged", at(3, 10, 18)),
                ("triaged_valid", at(3, 11, 17)),
                ("vendor_notified", at(3, 12, 17)),
            ],
        ),
        "c3": _case(
            alpha,
            "",
            v1,
            [
                ("received", at(3, 7, 10)),
                ("acknowledged", at(3, 9, 10)),
                ("triaged_duplicate", at(3, 9, 12)),
                ("closed", at(3, 9, 13)),
            ],
        ),
        "c4": _case(
            alpha,
            "low",
            v1,
            [
                ("received", at(3, 2, 10)),
                ("acknowledged", at(3, 2, 11)),
                ("triaged_invalid", at(3, 2, 12)),
            ],
        ),
        "c5": _case(
            beta,
            "high",
            v1,
            [
                ("received", at(1, 5, 9)),
                ("acknowledged", at(1, 5, 10)),
                ("triaged_valid", at(1, 5, 11)),
                ("vendor_notified", at(1, 5, 12)),
            ],
        ),
        "c6": _case(beta, "", v1, [("received", at(3, 30, 12))]),
    }
    _run(c["c1"], reporter, v1, 7, 10)
    _run(c["c1"], reporter, v2, 1, 10)
    _run(c["c2"], reporter, v1, 8, 10)
    _run(c["c5"], reporter, v1, 10, 20)
    _run(c["c5"], reporter, v2, 0, 20)
    # Rows written directly, as a bulk load does: their facts are refreshed explicitly, as
    # every service that writes a case's timeline or runs does.
    case_facts_refresh(case_ids=[case.pk for case in c.values()])
    return Dataset(alpha=alpha, beta=beta, cases=c, reporter=reporter)
