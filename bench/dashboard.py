"""Benchmark of the metrics dashboard on PostgreSQL with 100,000 cases; prints a table and writes
bench/results/dashboard.json.

Builds (once; reused while the row counts match) 100,000 cases in 5 programs with their
timelines (about 6 events a case), tiers, and 3,000 cases verified before and after a fix
(10 trials a run), by bulk insert into its own database. Then times, through Django's test
client and the full middleware stack, the dashboard page (all programs, and one program of
20,000 cases), the JSON and CSV exports, and `metrics_compute` alone: median and maximum over
--repeats requests after two warm-up requests (with 20 samples a "p99" would be the maximum,
so it is called that), and the 1-minute load average before and after. The target is under
one second for the dashboard with 100,000 cases; the table gives each median as a fraction
of it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h8_bench .venv/bin/python bench/dashboard.py \
        [--cases 100000] [--repeats 20] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
RESULTS = ROOT / "bench" / "results" / "dashboard.json"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h8_bench"
PROGRAMS = 5
VERIFIED_CASES = 3000
TRIALS = 10
TARGET_MS = 1000.0
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _timeline(rng: random.Random, received: datetime) -> tuple[list[tuple[str, datetime]], str]:
    """A plausible life for one case: (state, at) transitions after receipt, and its tier."""
    steps: list[tuple[str, datetime]] = []
    t = received
    if rng.random() < 0.03:
        return steps, ""
    t += timedelta(hours=rng.uniform(0.5, 96))
    steps.append(("acknowledged", t))
    if rng.random() < 0.05:
        return steps, ""
    t += timedelta(hours=rng.uniform(2, 200))
    outcome = rng.choices(
        ["triaged_valid", "triaged_invalid", "triaged_duplicate", "triaged_out_of_scope"],
        [60, 20, 15, 5],
    )[0]
    steps.append((outcome, t))
    tier = rng.choice(["low", "medium", "high", "critical"])
    if outcome != "triaged_valid":
        if rng.random() < 0.7:
            steps.append(("closed", t + timedelta(days=1)))
        return steps, tier if rng.random() < 0.3 else ""
    t += timedelta(hours=rng.uniform(1, 72))
    steps.append(("vendor_notified", t))
    if rng.random() < 0.1:
        return steps, tier
    t += timedelta(days=rng.uniform(1, 10))
    steps.append(("remediating", t))
    if rng.random() < 0.25:
        return steps, tier
    t += timedelta(days=rng.uniform(3, 120))
    steps.append(("fix_available", t))
    if rng.random() < 0.3:
        return steps, tier
    t += timedelta(days=rng.uniform(1, 30))
    steps.append(("disclosed", t))
    return steps, tier


def build(cases: int, seed: int = 8) -> dict[str, int]:
    from django.db import connection, transaction

    from modelcvd.accounts.models import Organisation, User
    from modelcvd.artifacts.models import Artifact
    from modelcvd.cases.models import Case, TimelineEvent
    from modelcvd.core.sealing import create_sealed_many, load_keyring
    from modelcvd.policy.models import Program
    from modelcvd.reports.models import Report
    from modelcvd.verification.models import VerificationRun, VerificationTrial

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE verification_verificationtrial, verification_verificationrun, "
            "reports_report, reports_report_artifacts, cases_timelineevent, "
            "cases_case_artifacts, cases_comment, cases_case, core_sealedblob, "
            "policy_program_scope, policy_program, artifacts_artifact, core_auditevent, "
            "accounts_membership, accounts_organisation, core_user CASCADE"
        )
    with transaction.atomic():
        org = Organisation.objects.create(name="Bench Org", slug="bench", kind="coordinator")
        vendor = Organisation.objects.create(name="Bench Vendor", slug="bvendor", kind="vendor")
        user = User.objects.create(username="bench-reporter")
        programs = [
            Program.objects.create(organisation=org, name=f"Program {i}", slug=f"program-{i}")
            for i in range(PROGRAMS)
        ]
        affected = Artifact.objects.create(provider="b", name="m", revision="1", vendor=vendor)
        fixed = Artifact.objects.create(provider="b", name="m", revision="2", vendor=vendor)
    span = (NOW - timedelta(days=730)).timestamp()
    batch = 10_000
    made = 0
    events_total = 0
    while made < cases:
        n = min(batch, cases - made)
        lives = []
        for _ in range(n):
            received = datetime.fromtimestamp(
                rng.uniform(span, (NOW - timedelta(days=1)).timestamp()), tz=UTC
            )
            steps, tier = _timeline(rng, received)
            steps = [(s, at) for s, at in steps if at < NOW]
            lives.append((received, steps, tier))
        with transaction.atomic():
            rows = Case.objects.bulk_create(
                [
                    Case(
                        program=programs[(made + i) % PROGRAMS],
                        title="bench",
                        state=(steps[-1][0] if steps else "received"),
                        tier=tier,
                    )
                    for i, (_, steps, tier) in enumerate(lives)
                ]
            )
            events = []
            links = []
            for case, (received, steps, _) in zip(rows, lives, strict=True):
                events.append(
                    TimelineEvent(case=case, at=received, kind="opened", to_state="received")
                )
                previous = "received"
                for state, at in steps:
                    events.append(
                        TimelineEvent(
                            case=case,
                            at=at,
                            kind="transition",
                            from_state=previous,
                            to_state=state,
                            reason="bench",
                        )
                    )
                    previous = state
                links.append(Case.artifacts.through(case_id=case.pk, artifact_id=affected.pk))
            TimelineEvent.objects.bulk_create(events, batch_size=5000)
            Case.artifacts.through.objects.bulk_create(links, batch_size=5000)
            events_total += len(events)
        made += n
        print(f"  {made} cases, {events_total} timeline events", flush=True)

    ring = load_keyring()
    verified = list(
        Case.objects.filter(state="disclosed").values_list("pk", "program_id")[:VERIFIED_CASES]
    )
    with transaction.atomic():
        # Each sealed value is bound to its row, so rows and blobs are made together.
        report_rows = create_sealed_many(
            Report,
            rows=[
                (
                    {
                        "reporter": user,
                        "program_id": program_id,
                        "case_id": case_id,
                        "format_version": "1.0",
                        "title": "bench",
                        "abstract": "bench",
                        "owasp": "LLM01",
                        "atlas": "AML.T0054",
                        "harm_category": "privacy",
                        "successes": 1,
                        "trials": 1,
                    },
                    b"{}",
                )
                for case_id, program_id in verified
            ],
            field="payload",
            purpose="report.payload",
            ring=ring,
        )
        runs = []
        for report in report_rows:
            for artifact in (affected, fixed):
                runs.append(
                    VerificationRun(
                        case_id=report.case_id,
                        report=report,
                        artifact=artifact,
                        requested_by=user,
                        target_uri="openai:http://127.0.0.1:9/v1#m",
                        trials=TRIALS,
                        state="finished",
                    )
                )
        run_rows = VerificationRun.objects.bulk_create(runs)
        trials = []
        for run in run_rows:
            rate = 0.7 if run.artifact_id == affected.pk else 0.1
            for index in range(TRIALS):
                trials.append(
                    (
                        {
                            "run": run,
                            "index": index,
                            "seed": index,
                            "success": rng.random() < rate,
                            "label": "bench",
                            "target_name": "m",
                        },
                        b"{}",
                    )
                )
        create_sealed_many(
            VerificationTrial,
            rows=trials,
            field="sealed",
            purpose="verification.trial",
            ring=ring,
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "cases": Case.objects.count(),
        "timeline_events": TimelineEvent.objects.count(),
        "verified_cases": len(verified),
        "verification_trials": VerificationTrial.objects.count(),
    }


def _time(fn, repeats: int) -> dict[str, float]:
    """Median and maximum of `repeats` timed calls after two untimed warm-up calls. (With 20
    samples a "p99" is just the maximum, so it is called that.)"""
    for _ in range(2):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "samples": len(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        print("bench/dashboard.py measures PostgreSQL: set DATABASE_URL=postgres://...")
        return 2
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("MODELCVD_DATA_DIR", str(ROOT / "bench" / ".dashboard-data"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "modelcvd.settings"
    _ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from modelcvd.cases.models import Case, TimelineEvent
    from modelcvd.metrics.models import CaseFact
    from modelcvd.metrics.selectors import metrics_compute
    from modelcvd.metrics.services import metrics_rebuild
    from modelcvd.verification.models import VerificationTrial

    call_command("migrate", "--noinput", verbosity=0)
    if args.rebuild or Case.objects.count() != args.cases:
        print(f"Building {args.cases} cases (bulk insert)...", flush=True)
        started = time.perf_counter()
        data = build(args.cases)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        data = {
            "cases": Case.objects.count(),
            "timeline_events": TimelineEvent.objects.count(),
            "verification_trials": VerificationTrial.objects.count(),
        }

    rebuild_s = None
    if args.rebuild or CaseFact.objects.count() != data["cases"]:
        # Bulk inserts bypass the signals that keep the facts current: rebuild them once.
        started = time.perf_counter()
        metrics_rebuild()
        rebuild_s = round(time.perf_counter() - started, 2)
        print(f"metrics_rebuild() over {data['cases']} cases: {rebuild_s} s", flush=True)
    data["facts_rebuild_s"] = rebuild_s

    client = Client()
    one = "program-0"

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if path.startswith("/metrics/"):
            body = response.content
            assert body.count(b'class="mark"') > 10, "charts without data marks"

    load_before = os.getloadavg()
    measured = {
        "dashboard, all programs": _time(lambda: get("/metrics/"), args.repeats),
        f"dashboard, one program ({one})": _time(
            lambda: get(f"/metrics/?program={one}"), args.repeats
        ),
        "API JSON, all programs": _time(lambda: get("/api/v1/metrics"), args.repeats),
        "API CSV, all programs": _time(lambda: get("/api/v1/metrics?format=csv"), args.repeats),
        "metrics_compute() alone": _time(lambda: metrics_compute(), args.repeats),
    }
    print()
    print(f"{'request':<38} {'median ms':>10} {'max ms':>9} {'median / 1 s':>13}")
    for name, row in measured.items():
        row["fraction_of_target"] = round(row["median_ms"] / TARGET_MS, 3)
        print(
            f"{name:<38} {row['median_ms']:>10.1f} {row['max_ms']:>9.1f} "
            f"{row['fraction_of_target']:>13.3f}"
        )
    dashboard = measured["dashboard, all programs"]
    verdict = "met" if dashboard["max_ms"] < TARGET_MS else "MISSED"
    print(
        f"\nTarget (dashboard under 1 s with {data['cases']} cases, every one of "
        f"{args.repeats} requests): {verdict}"
    )
    print(f"1-minute load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f}")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "dataset": data,
                "repeats": args.repeats,
                "target_ms": TARGET_MS,
                "target_met": verdict == "met",
                "results": measured,
                "machine": {
                    "python": platform.python_version(),
                    "postgresql": server,
                    "cpu_count": os.cpu_count(),
                    # The 1-minute load average before and after the timings: the machine is
                    # shared, and timings under load are not those of an idle machine.
                    "load_average_1min": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
                    "platform": platform.platform(),
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
