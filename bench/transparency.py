"""Transparency log benchmark (issue 18): appending and serving proofs at 1,000,000 entries on
PostgreSQL. Target: p99 under 20 ms for each.

Setup (not timed): the script's own database (DATABASE_URL, default postgres://postgres@
127.0.0.1:5432/test_log) is dropped, recreated and migrated; 1,000,000 entries and their stored
perfect-subtree nodes (about 2,000,000) are computed in Python with transparency.merkle and
COPYed in, then ANALYZEd; a tree head is signed and checked against a root recomputed from
every leaf.

Timed, each over --samples operations:
- append: `transparency.services.log_append` (its own transaction, as a publication's);
- inclusion proof and consistency proof: `GET /api/v1/log/proof/...` through Django's test
  Client (the whole stack: middleware, ninja, selectors, one node query), random index / first
  size, against the current size; the proof is verified in the loop but outside the timing;
- the same two proofs through the selectors alone, and `tree_head_sign` after one append.

Writes bench/results/transparency.json with p50/p95/p99/max per operation, row counts and the
machine's load average before and after.

    python bench/transparency.py [--entries 1000000] [--samples 1000] [--reuse]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
RESULTS = ROOT / "bench" / "results" / "transparency.json"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/test_log"


def _database(url: str, *, reuse: bool) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reuse:
            return
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["MODELCVD_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modelcvd.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _body(i: int) -> dict[str, Any]:
    """An advisory-revision entry as advisories.services writes one."""
    return {
        "advisory": f"MCVD-B{i // 10_000:03d}-{i % 10_000:04d}",
        "revision": 1,
        "state": "published",
        "modified": "2026-12-06T12:00:00+00:00",
        "document_sha256": hashlib.sha256(b"%d" % i).hexdigest(),
    }


def _copy(cursor: Any, sql: str, lines: Iterator[str]) -> None:
    """COPY rows in, about 1 MB a write."""
    with cursor.copy(sql) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 10_000:
                copy.write("".join(chunk))
                chunk = []
        if chunk:
            copy.write("".join(chunk))


def seed(n: int) -> dict[str, Any]:
    """Bulk-load n entries and every perfect-subtree node; return timings and the root."""
    from django.db import connection

    from modelcvd.transparency import merkle
    from modelcvd.transparency.models import node_key

    started = time.perf_counter()
    bodies = [merkle.canonical_bytes(_body(i)).decode() for i in range(n)]
    leaves = [merkle.leaf_hash(b.encode()) for b in bodies]
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        )
    computed_s = time.perf_counter() - started
    now = datetime.now(UTC).isoformat()

    def entry_rows() -> Iterator[str]:
        for i, body in enumerate(bodies):
            # COPY text format: backslash and tab would need escaping; these bodies have none.
            ref = f"{_body(i)['advisory']}@1"
            yield f"{i}\tadvisory_revision\t{ref}\t{body}\t{leaves[i].hex()}\t{now}\n"

    def node_rows() -> Iterator[str]:
        for level, hashes in enumerate(levels):
            for index, value in enumerate(hashes):
                yield f"{node_key(level, index)}\t{value.hex()}\n"

    copy_started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        _copy(
            raw,
            "COPY transparency_logentry (index, kind, ref, body, leaf_hash, created_at) FROM STDIN",
            entry_rows(),
        )
        _copy(raw, "COPY transparency_lognode (key, hash) FROM STDIN", node_rows())
        cursor.execute("ANALYZE transparency_logentry")
        cursor.execute("ANALYZE transparency_lognode")
    return {
        "compute_s": round(computed_s, 1),
        "copy_s": round(time.perf_counter() - copy_started, 1),
        "root": merkle.root_from_leaves(leaves).hex(),
    }


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "n": len(ordered),
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def run(samples: int, rng: random.Random) -> dict[str, dict[str, float]]:
    from django.test import Client

    from modelcvd.transparency import merkle, selectors
    from modelcvd.transparency.services import log_append, tree_head_sign
    from modelcvd.vocabulary import LogEntryKind

    client = Client()
    timings: dict[str, list[float]] = {
        k: []
        for k in (
            "append",
            "inclusion_proof_api",
            "consistency_proof_api",
            "inclusion_proof_selector",
            "consistency_proof_selector",
            "tree_head_sign",
        )
    }
    # Warm up: the first request imports and builds what later ones reuse.
    client.get("/api/v1/log/proof/inclusion", {"index": 0, "size": 1})
    client.get("/api/v1/log/proof/consistency", {"first": 1, "second": 2})
    base = selectors.tree_size()
    for i in range(samples):
        body = {**_body(base + i), "note": "appended through the service"}
        t0 = time.perf_counter()
        entry = log_append(kind=LogEntryKind.ADVISORY_REVISION, ref=f"bench@{i}", body=body)
        timings["append"].append((time.perf_counter() - t0) * 1000)
        assert entry.index == base + i
        if i % 10 == 0:
            t0 = time.perf_counter()
            tree_head_sign()
            timings["tree_head_sign"].append((time.perf_counter() - t0) * 1000)

    head = tree_head_sign()
    size, root = head.size, bytes.fromhex(head.root_hash)
    leaf_of: dict[int, bytes] = {}
    for _ in range(samples):
        index = rng.randrange(size)
        t0 = time.perf_counter()
        response = client.get("/api/v1/log/proof/inclusion", {"index": index, "size": size})
        timings["inclusion_proof_api"].append((time.perf_counter() - t0) * 1000)
        proof = response.json()
        leaf_of[index] = bytes.fromhex(proof["leaf_hash"])
        assert merkle.verify_inclusion(
            leaf_of[index], index, size, [bytes.fromhex(p) for p in proof["path"]], root
        )
        first = rng.randrange(1, size)
        t0 = time.perf_counter()
        response = client.get("/api/v1/log/proof/consistency", {"first": first, "second": size})
        timings["consistency_proof_api"].append((time.perf_counter() - t0) * 1000)
        assert len(response.json()["path"]) <= 2 * size.bit_length()

        t0 = time.perf_counter()
        selectors.inclusion_proof(index=index, size=size)
        timings["inclusion_proof_selector"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        selectors.consistency_proof(first=first, second=size)
        timings["consistency_proof_selector"].append((time.perf_counter() - t0) * 1000)
    stats = {name: _stats(values) for name, values in timings.items()}
    # Round trips per operation: constant in the log's size (the nodes come in one query).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    size = selectors.tree_size()
    operations: dict[str, Callable[[], object]] = {
        "append": lambda: log_append(
            kind=LogEntryKind.ADVISORY_REVISION, ref="bench@queries", body={"q": 1}
        ),
        "inclusion_proof_selector": lambda: selectors.inclusion_proof(
            index=rng.randrange(size), size=size
        ),
        "consistency_proof_selector": lambda: selectors.consistency_proof(
            first=rng.randrange(1, size), second=size
        ),
    }
    for name, operation in operations.items():
        with CaptureQueriesContext(connection) as queries:
            operation()
        stats[name]["queries"] = len(queries.captured_queries)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="log size to build")
    parser.add_argument("--samples", type=int, default=1000, help="timed operations per kind")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()

    load_before = os.getloadavg()
    _database(args.database, reuse=args.reuse)
    data_dir = Path(tempfile.mkdtemp(prefix="log-bench-"))
    setup_django(args.database, data_dir)
    from django.db import connection

    from modelcvd.transparency import selectors
    from modelcvd.transparency.models import LogEntry, LogNode
    from modelcvd.transparency.services import tree_head_sign

    seeded: dict[str, Any] = {}
    if not LogEntry.objects.exists():
        seeded = seed(args.entries)
        head = tree_head_sign()
        assert head.size == args.entries and head.root_hash == seeded["root"], "bad seed"
        print(
            f"seeded {args.entries} entries: compute {seeded['compute_s']} s, COPY {seeded['copy_s']} s"
        )
    load_seeded = os.getloadavg()
    rng = random.Random(18)
    results = run(args.samples, rng)
    load_after = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0]
    report = {
        "benchmark": "transparency log at scale (issue 18)",
        "target": "p99 < 20 ms for appends and proof serving",
        "target_met": all(results[k]["p99_ms"] < 20 for k in results),
        "entries_at_start": args.entries,
        "rows": {
            "log_entries": LogEntry.objects.count(),
            "log_nodes": LogNode.objects.count(),
            "tree_size": selectors.tree_size(),
        },
        "seed": {k: v for k, v in seeded.items() if k != "root"},
        "results": results,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "database": pg_version.split(" on ")[0],
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after_seed": [round(x, 2) for x in load_seeded],
            "loadavg_after": [round(x, 2) for x in load_after],
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n{'operation':28} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, row in results.items():
        print(
            f"{name:28} {row['n']:5} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} "
            f"{row['p99_ms']:8.2f} {row['max_ms']:8.2f}"
        )
    print(
        f"\nrows: {report['rows']}; load {report['machine']['loadavg_before']} -> "
        f"{report['machine']['loadavg_after']}; target met: {report['target_met']}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
