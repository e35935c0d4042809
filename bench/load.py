"""Load benchmark on loopback against production mode: gunicorn web processes on PostgreSQL
with Celery workers on Redis, all started here as real processes (tests/scale/harness.py).

N concurrent submitters POST reports (each with its own Idempotency-Key, retried with the same
key on a transport error or 5xx) while M concurrent readers GET a public read path, for
--duration seconds. Reports per second, p50/p99 latency per kind, errors by status, lost
reports (acknowledged but not in the database) and duplicates (more reports than keys), and
the RSS of every process (web masters and workers, Celery workers, PostgreSQL is the machine's
and not counted). Writes bench/results/load.json.

    .venv/bin/python bench/load.py                      # 50 submitters + 200 readers, 60 s
    .venv/bin/python bench/load.py --duration 10        # a short run
    .venv/bin/python bench/load.py --read-path /programs/open-models/ --advisories 0

The readers search the public registry API (GET /api/v1/advisories) over --advisories published
advisories (default 10,000), bulk-seeded with bench/registry.py's seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import httpx  # noqa: E402
from tests.scale import harness  # noqa: E402

# The registry readers read real advisories: bench/registry.py's bulk seed, in the stack's
# database and environment.
SEED_ADVISORIES = """
import sys
import django
django.setup()
sys.path.insert(0, "bench")
import registry
print(registry.seed(int(sys.argv[1])))
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (gunicorn/celery masters and their children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


class Sampler:
    """Peak RSS of each process (every pid of each group) during the run."""

    def __init__(self, procs: list[harness.Proc]) -> None:
        self.procs = procs
        self.peak: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for proc in self.procs:
                for pid in process_tree(proc.popen.pid):
                    key = f"{proc.name}:{'master' if pid == proc.popen.pid else pid}"
                    self.peak[key] = max(self.peak.get(key, 0.0), rss_mb(pid))
            await asyncio.sleep(1)


async def submitter(
    client: httpx.AsyncClient,
    urls: list[str],
    token: str,
    program: str,
    deadline: float,
    out: dict[str, Any],
    who: int,
) -> None:
    n = 0
    while time.monotonic() < deadline:
        key = f"load-{out['tag']}-{who}-{n}"
        n += 1
        body = harness.report_document(f"load {out['tag']} {who}-{n}", program)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        for attempt in range(5):
            url = urls[(who + attempt) % len(urls)]
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/api/v1/reports", json=body, headers=headers)
                status = response.status_code
            except httpx.TransportError as exc:
                status, response = type(exc).__name__, None
            out["submit_latency"].append(time.perf_counter() - started)
            out["submit_status"][str(status)] += 1
            if response is not None and status == 201:
                out["acked"][key] = response.json()["id"]
                break
            if isinstance(status, int) and status < 500:
                break  # a 4xx is the client's fault: not retried, counted as an error
            await asyncio.sleep(0.2 * (attempt + 1))


async def reader(
    client: httpx.AsyncClient,
    urls: list[str],
    path: str,
    deadline: float,
    out: dict[str, Any],
    who: int,
) -> None:
    while time.monotonic() < deadline:
        url = urls[who % len(urls)]
        started = time.perf_counter()
        try:
            response = await client.get(url + path)
            status: Any = response.status_code
        except httpx.TransportError as exc:
            status = type(exc).__name__
        out["read_latency"].append(time.perf_counter() - started)
        out["read_status"][str(status)] += 1


async def drive(args: argparse.Namespace, stack: harness.Stack, urls: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tag": uuid.uuid4().hex[:8],
        "submit_latency": [],
        "read_latency": [],
        "submit_status": Counter(),
        "read_status": Counter(),
        "acked": {},
    }
    limits = httpx.Limits(max_connections=args.submitters + args.readers + 10)
    timeout = httpx.Timeout(60)
    stop = asyncio.Event()
    sampler = Sampler(stack.procs)
    sampling = asyncio.create_task(sampler.run(stop))
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        started = time.monotonic()
        deadline = started + args.duration
        tasks = [
            submitter(
                client,
                urls,
                stack.seed["researcher_token"],
                stack.seed["program"],
                deadline,
                out,
                i,
            )
            for i in range(args.submitters)
        ] + [reader(client, urls, args.read_path, deadline, out, i) for i in range(args.readers)]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    stop.set()
    await sampling
    out["elapsed"] = elapsed
    out["rss_mb"] = sampler.peak
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--read-path", default="/api/v1/advisories")
    parser.add_argument(
        "--advisories",
        type=int,
        default=10000,
        help="published advisories seeded for the registry readers (bench/registry.py's seed)",
    )
    parser.add_argument("--web", type=int, default=2, help="gunicorn masters (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="workers per gunicorn")
    parser.add_argument("--celery", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    missing = harness.services_missing()
    if missing:
        print(f"cannot run: {missing}", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="modelcvd-load-"))
    broker = f"{harness.MACHINE_REDIS}/{harness.REDIS_DB + 3}"
    harness.flush_redis_db(broker)
    with harness.machine_database("h9_load") as database_url:
        stack = harness.Stack(base, database_url=database_url, broker_url=broker)
        try:
            print("migrating and seeding ...", flush=True)
            stack.migrate_and_seed()
            if args.advisories:
                print(f"publishing {args.advisories} advisories ...", flush=True)
                stack.python(SEED_ADVISORIES, str(args.advisories))
            web = [
                stack.start_web(f"web{i + 1}", workers=args.web_workers, wait=False)
                for i in range(args.web)
            ]
            workers = [stack.start_worker(f"w{i + 1}", wait=False) for i in range(args.celery)]
            for _, url in web:
                stack.wait_web(url)
            for worker in workers:
                stack.wait_worker(worker)
            urls = [url for _, url in web]
            probe = httpx.get(urls[0] + args.read_path, timeout=10)
            if probe.status_code != 200:
                print(f"read path {args.read_path} answers {probe.status_code}", file=sys.stderr)
                return 2
            print(
                f"{args.submitters} submitters + {args.readers} readers for {args.duration:.0f} s "
                f"on {len(urls)} gunicorn x {args.web_workers} workers ...",
                flush=True,
            )
            load_before = os.getloadavg()
            out = asyncio.run(drive(args, stack, urls))
            rows = stack.sql(
                "SELECT count(*) FROM reports_report WHERE title LIKE %s", f"load {out['tag']} %"
            )[0][0]
            acked_ids = set(out["acked"].values())
            present = {
                r[0]
                for r in stack.sql(
                    "SELECT id FROM reports_report WHERE id = ANY(%s)", list(acked_ids)
                )
            }
            served = [
                line
                for proc, _ in web
                for line in proc.json_lines()
                if line.get("message") == "request"
            ]
            logs_5xx = sum(1 for line in served if int(line.get("status", 0)) >= 500)
            # Time inside Django per request (from the JSON request log): what the client's
            # latency is minus the wait for a free gunicorn worker.
            server_ms = {
                kind: [
                    float(line["duration_ms"])
                    for line in served
                    if (line.get("method") == "POST") == (kind == "submit")
                    and line.get("path") != "/healthz"
                ]
                for kind in ("submit", "read")
            }
        finally:
            stack.stop()
            harness.flush_redis_db(broker)
    sub, rd = out["submit_latency"], out["read_latency"]
    errors = {
        "submit": {k: v for k, v in out["submit_status"].items() if k != "201"},
        "read": {k: v for k, v in out["read_status"].items() if k != "200"},
    }
    server_errors = sum(
        v
        for kind in (out["submit_status"], out["read_status"])
        for k, v in kind.items()
        if k.isdigit() and int(k) >= 500
    )
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "config": {
            "duration_s": args.duration,
            "submitters": args.submitters,
            "readers": args.readers,
            "read_path": args.read_path,
            "advisories": args.advisories,
            "gunicorn_processes": args.web,
            "gunicorn_workers_each": args.web_workers,
            "celery_workers": args.celery,
            "database": "PostgreSQL 127.0.0.1:5432",
            "broker": "Redis 127.0.0.1:6379",
        },
        "elapsed_s": round(out["elapsed"], 2),
        "reports_acknowledged": len(out["acked"]),
        "reports_per_s": round(len(out["acked"]) / out["elapsed"], 2),
        "reports_in_database": rows,
        "lost_reports": len(acked_ids - present),
        "duplicate_reports": rows - len(out["acked"]),
        "reads": out["read_status"].get("200", 0),
        "reads_per_s": round(out["read_status"].get("200", 0) / out["elapsed"], 2),
        "submit_latency_ms": {
            "p50": round(percentile(sub, 50) * 1000, 1),
            "p99": round(percentile(sub, 99) * 1000, 1),
            "mean": round(statistics.fmean(sub) * 1000, 1) if sub else None,
        },
        "read_latency_ms": {
            "p50": round(percentile(rd, 50) * 1000, 1),
            "p99": round(percentile(rd, 99) * 1000, 1),
            "mean": round(statistics.fmean(rd) * 1000, 1) if rd else None,
        },
        "server_time_ms": {
            kind: {
                "p50": round(percentile(values, 50), 1),
                "p99": round(percentile(values, 99), 1),
            }
            for kind, values in server_ms.items()
        },
        "load_average_before_after": [load_before, os.getloadavg()],
        "errors": errors,
        "server_errors_5xx": server_errors,
        "server_errors_5xx_in_logs": logs_5xx,
        "peak_rss_mb": {k: round(v, 1) for k, v in sorted(out["rss_mb"].items())},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(f"{'':<24}{'submit':>12}{'read':>12}")
    print(f"{'requests ok':<24}{len(out['acked']):>12}{result['reads']:>12}")
    print(f"{'per second':<24}{result['reports_per_s']:>12}{result['reads_per_s']:>12}")
    for q in ("p50", "p99"):
        print(
            f"{'latency ' + q + ' (ms)':<24}{result['submit_latency_ms'][q]:>12}"
            f"{result['read_latency_ms'][q]:>12}"
        )
    for q in ("p50", "p99"):
        print(
            f"{'in Django ' + q + ' (ms)':<24}{result['server_time_ms']['submit'][q]:>12}"
            f"{result['server_time_ms']['read'][q]:>12}"
        )
    print(f"{'errors':<24}{sum(errors['submit'].values()):>12}{sum(errors['read'].values()):>12}")
    print(
        f"5xx: {server_errors}; lost reports: {result['lost_reports']}; "
        f"duplicates: {result['duplicate_reports']}"
    )
    print(f"load average before / after: {result['load_average_before_after']}")
    print("peak RSS (MB): " + ", ".join(f"{k} {v}" for k, v in result["peak_rss_mb"].items()))
    print(f"written to {args.out}")
    return 0 if server_errors == 0 and result["lost_reports"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
