"""Fixtures for the multi-process tests: a production-mode installation on the machine's
PostgreSQL (a database of our own) and Redis (a database number of our own), and a fake
OpenAI-compatible endpoint. No Django test database is used: every process is real, and the
test reads results with SQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import skip_unless_ci
from tests.scale import harness


@pytest.fixture(scope="module")
def services() -> None:
    missing = harness.services_missing()
    if missing:
        skip_unless_ci(missing)


@pytest.fixture(scope="module")
def stack(services: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Stack]:
    """Two gunicorn web processes (each with 2 workers) and two Celery workers."""
    base = tmp_path_factory.mktemp("stack")
    broker = f"{harness.MACHINE_REDIS}/{harness.REDIS_DB}"
    harness.flush_redis_db(broker)
    with harness.machine_database("h9_scale") as database_url:
        stack = harness.Stack(base, database_url=database_url, broker_url=broker)
        try:
            stack.migrate_and_seed()
            # The seeded database, for the tests that bring up a server of their own.
            harness.pg_dump(database_url, base / "seeded.dump")
            # Started together, then waited for: the start-ups overlap.
            stack.web = [stack.start_web(n, workers=1, wait=False) for n in ("web1", "web2")]
            stack.workers = [stack.start_worker(n, wait=False) for n in ("w1", "w2")]
            for _, url in stack.web:
                stack.wait_web(url)
            for worker in stack.workers:
                stack.wait_worker(worker)
            yield stack
        finally:
            stack.stop()
            harness.flush_redis_db(broker)


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[harness.FakeLLM]:
    server = harness.FakeLLM().start()
    yield server
    server.stop()
