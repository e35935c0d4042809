"""Several web and worker processes on PostgreSQL and Redis, and the faults they must survive.

Bounded versions for `make test`; bench/faults.py runs them at length. Every process is real
(gunicorn, celery worker, postgres, redis-server) and started here; results are read with SQL.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scale import harness
from tests.scale.harness import FakeLLM, Stack, chunk_logs, wait_for

pytestmark = pytest.mark.scale
# bench/faults.py runs these at length: trials, clients and submissions times this factor.
SCALE = int(os.environ.get("MODELCVD_FAULTS_SCALE", "1"))


def _request_run(stack: Stack, fake_llm: FakeLLM, trials: int, request_id: str = "") -> int:
    _, url = stack.web[-1]
    headers = {"Authorization": f"Bearer {stack.seed['triager_token']}"}
    if request_id:
        headers["X-Request-ID"] = request_id
    response = httpx.post(
        f"{url}/api/v1/cases/{stack.seed['case_id']}/verifications",
        json={"artifact_id": stack.seed["artifact_id"], "target": fake_llm.uri, "trials": trials},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == (request_id or response.headers["X-Request-ID"])
    return int(response.json()["id"])


def _assert_exact(stack: Stack, run_id: int, trials: int, state: tuple[str, str, Any]) -> None:
    assert state[0] == "finished", (state, stack.tail())
    assert stack.trials(run_id) == (trials, trials)  # every index once, none twice
    assert state[2]["trials"] == trials


def test_a_run_spreads_over_both_workers(stack: Stack, fake_llm: FakeLLM) -> None:
    fake_llm.delay = 0.05
    request_id = f"scale-{uuid.uuid4().hex[:12]}"
    trials = 120 * SCALE
    run_id = _request_run(stack, fake_llm, trials, request_id)
    _assert_exact(stack, run_id, trials, stack.wait_run(run_id, 120 * SCALE))
    by_worker = {w.name: chunk_logs(w, run_id) for w in stack.workers}
    assert all(by_worker.values()), f"a worker took no chunk: {by_worker}"
    assert sum(len(v) for v in by_worker.values()) == trials // 20  # chunks of 20
    # The request id of the API call is on the workers' log lines for its tasks.
    assert {line["request_id"] for v in by_worker.values() for line in v} == {request_id}
    # Metrics from every process (web and workers share PROMETHEUS_MULTIPROC_DIR).
    metrics = httpx.get(stack.web[0][1] + "/metrics", timeout=10).text
    stored = _metric(metrics, "modelcvd_verification_trials_total")
    assert stored >= trials
    assert 'modelcvd_queue_depth{queue="verification"}' in metrics
    assert "modelcvd_broker_up 1.0" in metrics
    ready = httpx.get(stack.web[0][1] + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["failed"] == []


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the exposition")


def test_a_worker_killed_mid_run_is_replaced_and_no_trial_is_lost_or_doubled(
    stack: Stack, fake_llm: FakeLLM
) -> None:
    fake_llm.delay = 0.15
    trials = 200 * SCALE
    run_id = _request_run(stack, fake_llm, trials)
    victim = stack.workers[0]
    wait_for("the victim's first trials", lambda: bool(chunk_logs(victim, run_id)), 60)
    wait_for("trials to be stored", lambda: stack.trials(run_id)[0] >= 30, 60)
    assert stack.run_state(run_id)[0] == "running"
    victim.kill(signal.SIGKILL)  # the whole worker: main process and its pool child
    victim.popen.wait(10)
    replacement = stack.start_worker("w3")
    stack.workers[0] = replacement
    _assert_exact(stack, run_id, trials, stack.wait_run(run_id, 120 * SCALE))
    assert chunk_logs(replacement, run_id) or chunk_logs(stack.workers[1], run_id)


def test_a_web_process_killed_mid_burst_loses_and_duplicates_nothing(stack: Stack) -> None:
    (web_a, url_a), (_, url_b) = stack.web
    tag = uuid.uuid4().hex[:10]
    clients, per_client = 8 * SCALE, 12 * SCALE
    acked: dict[str, int] = {}
    retried: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def submit(client: int) -> None:
        token = stack.seed["researcher_token"]
        with httpx.Client(timeout=20) as http:
            for i in range(per_client):
                key = f"{tag}-{client}-{i}"
                body = harness.report_document(f"burst {tag} {client}-{i}", stack.seed["program"])
                for attempt, url in enumerate([url_a, url_b, url_b, url_b, url_b]):
                    try:
                        response = http.post(
                            f"{url}/api/v1/reports",
                            json=body,
                            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code == 201:
                        with lock:
                            acked[key] = int(response.json()["id"])
                        break
                    assert response is None or response.status_code >= 500, response.text
                    with lock:
                        retried.append(key)
                    time.sleep(0.2 * attempt)
                if len(acked) >= 20 and not killed.is_set():
                    killed.set()
                    web_a.kill(signal.SIGKILL)  # master and workers, mid-burst

    threads = [threading.Thread(target=submit, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120 * SCALE)
    assert killed.is_set()
    assert retried, "no request was cut off by the kill"
    assert len(acked) == clients * per_client  # every submission acknowledged in the end
    rows = stack.sql("SELECT id, title FROM reports_report WHERE title LIKE %s", f"burst {tag} %")
    assert len(rows) == clients * per_client  # no duplicate
    assert sorted(acked.values()) == sorted(row[0] for row in rows)  # no acknowledged one lost
    ((keys,),) = stack.sql(
        "SELECT count(*) FROM reports_submissionkey WHERE key LIKE %s", f"{tag}-%"
    )
    assert keys == clients * per_client
    stack.web[0] = stack.start_web("web1b", workers=1)  # for whatever runs next


def _own_stack(stack: Stack, base: Path, *, database_url: str, broker_url: str) -> Stack:
    own = Stack(
        base,
        database_url=database_url,
        broker_url=broker_url,
        key_file=stack.env["MODELCVD_KEY_FILE"],  # the seeded data is sealed with it
    )
    harness.pg_restore(stack.base / "seeded.dump", database_url)
    own.seed = stack.seed
    return own


def test_postgresql_restarted_during_a_run_resumes_it(
    stack: Stack, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("own-pg")
    server = harness.OwnPostgres()
    broker = f"{harness.MACHINE_REDIS}/{harness.REDIS_DB + 1}"
    harness.flush_redis_db(broker)
    harness.pg_exec(f"{server.url}/postgres", "CREATE DATABASE modelcvd")
    own = _own_stack(stack, base, database_url=f"{server.url}/modelcvd", broker_url=broker)
    try:
        fake_llm.delay = 0.1
        worker = own.start_worker("pg-w1")
        trials = 120 * SCALE
        run_id = own.request_run(fake_llm.uri, trials)
        wait_for("trials to be stored", lambda: own.trials(run_id)[0] >= 20, 60)
        server.stop("fast")  # every connection cut mid-run
        time.sleep(2)
        server.start()
        _assert_exact(own, run_id, trials, own.wait_run(run_id, 120 * SCALE))
        assert any(
            line.get("message") == "database unavailable, retrying" for line in worker.json_lines()
        ), "the restart did not hit the run"
    finally:
        own.stop()
        server.destroy()
        harness.flush_redis_db(broker)


def test_redis_restarted_keeps_queued_work(
    stack: Stack, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import redis

    base = tmp_path_factory.mktemp("own-redis")
    server = harness.OwnRedis(base)
    with harness.machine_database("h9_scale_redis") as database_url:
        own = _own_stack(stack, base, database_url=database_url, broker_url=server.url)
        try:
            fake_llm.delay = 0.1
            trials = 120 * SCALE
            run_id = own.request_run(fake_llm.uri, trials)  # queued before any worker runs
            own.start_worker("redis-w1")
            wait_for("trials to be stored", lambda: own.trials(run_id)[0] >= 20, 60)
            waiting = redis.Redis.from_url(server.url).llen("verification")
            assert waiting > 0, "no chunk was waiting in the queue"
            server.kill()  # SIGKILL: only what appendonly wrote survives
            time.sleep(1)
            server.start()
            _assert_exact(own, run_id, trials, own.wait_run(run_id, 120 * SCALE))
        finally:
            own.stop()
            server.destroy()
